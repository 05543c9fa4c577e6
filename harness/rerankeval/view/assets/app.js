/* rerankeval view: a static page over data files written by `rerankeval view`.
 *
 * Data arrives through <script> tags (data/runs.js, data/<run>/index.js, data/<run>/pNNNN.js)
 * that call RV.register(kind, key, data); a problem's file is loaded only when it is opened.
 * Every text from a run is rendered with textContent, never parsed as HTML: candidate code and
 * tests are shown, never run.
 */
"use strict";

(function () {
  const store = { runs: null, run: {}, problem: {} };
  const waiting = {};
  const timing = (window.RV_TIMING = { loads: [] });
  const COLORS = { p: "#2e9d57", f: "#d64541", e: "#e9962b", t: "#8e5cc2", m: "#222222" };
  const STATUS = { p: "pass", f: "fail", e: "error", t: "timeout", m: "out of memory" };
  const listState = {};

  // ---------------------------------------------------------------- data loading
  function register(kind, key, data) {
    if (kind === "runs") store.runs = data;
    else store[kind][key] = data;
    const id = kind + ":" + key;
    (waiting[id] || []).forEach((w) => w.resolve(data));
    delete waiting[id];
    if (kind === "runs") route();
  }

  function load(kind, key, src) {
    if (store[kind][key] !== undefined) return Promise.resolve(store[kind][key]);
    const id = kind + ":" + key;
    return new Promise((resolve, reject) => {
      if (!waiting[id]) {
        waiting[id] = [];
        const s = document.createElement("script");
        s.src = src;
        s.onerror = () => {
          (waiting[id] || []).forEach((w) => w.reject(new Error("could not load " + src)));
          delete waiting[id];
          s.remove();
        };
        s.onload = () => s.remove();
        document.body.appendChild(s);
      }
      waiting[id].push({ resolve, reject });
    });
  }
  const loadRun = (key) => load("run", key, "data/" + key + "/index.js");
  const loadProblem = (run, file) => load("problem", run + "/" + file, "data/" + run + "/" + file + ".js");

  // ---------------------------------------------------------------- DOM helpers (text only)
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === "cls") el.className = v;
      else if (k === "text") el.textContent = String(v);
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const pct = (x) => (x === null || x === undefined ? "-" : (100 * x).toFixed(1));
  const link = (href, text, cls) => h("a", { href: href, cls: cls }, text);
  const runHref = (run) => "#/run/" + encodeURIComponent(run);
  const probHref = (run, file) => runHref(run) + "/p/" + encodeURIComponent(file);
  function outcome(acc) {
    if (acc === null || acc === undefined) return null;
    return acc >= 1 ? "right" : acc <= 0 ? "wrong" : "partly";
  }
  function badge(kind, text) {
    return h("span", { cls: "badge b-" + kind }, text);
  }
  function accBadge(acc) {
    const o = outcome(acc);
    return o ? badge(o, o === "partly" ? pct(acc) + "%" : o) : h("span", { cls: "muted" }, "-");
  }
  function setMain(...nodes) {
    const main = document.getElementById("main");
    main.replaceChildren(...nodes);
    window.scrollTo(0, 0);
  }
  function ready(state) {
    document.body.dataset.state = state;
    timing.loads.push({ state: state, at: performance.now() });
  }
  function fail(err) {
    setMain(h("p", { cls: "warn" }, String(err && err.message ? err.message : err)));
    ready("error");
  }

  // ---------------------------------------------------------------- routing
  function route() {
    if (!store.runs) return;
    timing.routeStart = performance.now();
    const parts = (location.hash || "#/").slice(2).split("/").map(decodeURIComponent);
    nav();
    ready("loading");
    if (parts[0] === "run" && parts[2] === "p") showProblem(parts[1], parts[3]).catch(fail);
    else if (parts[0] === "run") showRun(parts[1]).catch(fail);
    else if (parts[0] === "compare") showCompare(parts[1], parts[2]).catch(fail);
    else if (store.runs.runs.length === 1) location.replace(runHref(store.runs.runs[0].key));
    else showHome();
  }
  window.addEventListener("hashchange", route);

  function nav() {
    const runs = store.runs.runs;
    const items = runs.map((r) => link(runHref(r.key), r.label));
    if (runs.length > 1) items.push(link("#/compare/" + runs[0].key + "/" + runs[1].key, "compare runs"));
    document.getElementById("nav").replaceChildren(...items);
  }
  function runInfo(key) {
    const r = store.runs.runs.find((x) => x.key === key);
    if (!r) throw new Error("no run " + key + " in this site");
    return r;
  }

  function reportFigures() {
    const figs = store.runs.figures || [];
    if (!figs.length) return [];
    return [h("h2", {}, "Report figures (rerankeval report, all runs)"),
      ...figs.map((f) => h("figure", {}, h("img", { src: "data/" + f, alt: f }), h("figcaption", { cls: "muted" }, f.replace(/^report\//, ""))))];
  }

  function showHome() {
    const rows = store.runs.runs.map((r) =>
      h("tr", {}, h("td", {}, link(runHref(r.key), r.label)), h("td", { cls: "left" }, r.path), h("td", {}, r.n_problems))
    );
    setMain(
      h("h1", {}, "Runs"),
      h("table", {}, h("tr", {}, h("th", {}, "run"), h("th", { cls: "left" }, "directory"), h("th", {}, "problems")), rows),
      ...reportFigures()
    );
    ready("home");
  }

  // ---------------------------------------------------------------- run overview
  async function showRun(key) {
    runInfo(key);
    const run = await loadRun(key);
    document.title = run.policy + " / " + run.test_generator + " - rerankeval view";
    const parts = [h("h1", {}, run.policy + " / " + run.test_generator)];
    parts.push(
      h("p", { cls: "muted" },
        run.dataset + " \u00b7 " + run.n_problems + " problems \u00b7 " + run.n_candidates + " candidates \u00b7 run " +
        run.status + (run.started ? " (started " + run.started + ")" : "") + " \u00b7 " + run.path)
    );
    if (run.status !== "finished") parts.push(h("p", { cls: "warn" }, "This run is not finished: some picks or metrics may be missing."));
    if (run.subsampled)
      parts.push(h("p", { cls: "warn" }, "This run subsamples candidates or tests (" + run.draws + " draws): the table averages the draws; problem pages show draw 0's picks next to the full matrix."));
    if (run.budget) parts.push(h("p", { cls: "muted" }, run.budget));
    for (const t of run.tables) parts.push(h("h2", {}, t.title), table(t.header, t.rows));
    if (run.quality) parts.push(h("p", {}, run.quality));
    const figs = h("div", { cls: "cols" });
    if (run.chart.length) figs.appendChild(h("figure", {}, barChart(run.chart), h("figcaption", { cls: "muted" }, "pass@1 per method (" + ((run.tables[0] || {}).title || "") + "), 95% CI over problems")));
    if (run.problems.length && run.rerankers.length) figs.appendChild(h("figure", {}, quintileChart(run), h("figcaption", { cls: "muted" }, "gain over plain pass@1 by difficulty quintile (plain pass rate), per reranker")));
    parts.push(h("h2", {}, "Figures"), figs);
    for (const f of run.figures || []) parts.push(h("figure", {}, h("img", { src: "data/" + key + "/" + f, alt: f }), h("figcaption", { cls: "muted" }, f)));
    parts.push(...reportFigures());
    parts.push(h("h2", {}, "Problems"), problemList(key, run));
    setMain(...parts);
    ready("run");
  }

  function table(header, rows) {
    return h("table", {}, h("tr", {}, header.map((c) => h("th", {}, c))), rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))));
  }

  const SVG = "http://www.w3.org/2000/svg";
  function s(tag, attrs, text) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = String(text);
    return el;
  }
  function barChart(bars) {
    const W = 70 * bars.length + 60, H = 240, x0 = 40, y0 = 200, top = 16;
    const svg = s("svg", { width: W, height: H, class: "chart", role: "img" });
    const y = (v) => y0 - (y0 - top) * v;
    for (const g of [0, 0.25, 0.5, 0.75, 1]) {
      svg.appendChild(s("line", { x1: x0, x2: W - 10, y1: y(g), y2: y(g), class: "grid" }));
      svg.appendChild(s("text", { x: x0 - 4, y: y(g) + 4, "text-anchor": "end" }, 100 * g));
    }
    bars.forEach((b, i) => {
      const bx = x0 + 10 + i * 70, v = b.value || 0;
      const cls = b.label === "plain" ? "bar plain" : b.label === "oracle@N" ? "bar oracle" : "bar";
      const rect = s("rect", { x: bx, y: y(v), width: 46, height: y0 - y(v), class: cls });
      rect.appendChild(s("title", {}, b.label + ": " + pct(b.value) + "%" + (b.ci ? " [" + pct(b.ci[0]) + ", " + pct(b.ci[1]) + "]" : "")));
      svg.appendChild(rect);
      if (b.ci) {
        svg.appendChild(s("line", { x1: bx + 23, x2: bx + 23, y1: y(b.ci[0]), y2: y(b.ci[1]), class: "ci" }));
        for (const c of b.ci) svg.appendChild(s("line", { x1: bx + 17, x2: bx + 29, y1: y(c), y2: y(c), class: "ci" }));
      }
      svg.appendChild(s("text", { x: bx + 23, y: y(v) - 4, "text-anchor": "middle" }, pct(b.value)));
      svg.appendChild(s("text", { x: bx + 23, y: y0 + 14, "text-anchor": "middle" }, b.label.length > 11 ? b.label.slice(0, 10) + "\u2026" : b.label));
    });
    svg.appendChild(s("line", { x1: x0, x2: W - 10, y1: y0, y2: y0, class: "axis" }));
    return svg;
  }
  function quintileChart(run) {
    const probs = run.problems.slice().sort((a, b) => a.plain - b.plain);
    const q = 5, n = probs.length, names = run.rerankers.filter((r) => r !== "oracle");
    const groups = [];
    for (let k = 0; k < q; k++) groups.push(probs.slice(Math.floor((k * n) / q), Math.floor(((k + 1) * n) / q)));
    const gains = groups.map((g) =>
      names.map((r) => {
        const xs = g.filter((p) => p.acc[r] !== null && p.acc[r] !== undefined);
        return xs.length ? xs.reduce((t, p) => t + p.acc[r] - p.plain, 0) / xs.length : 0;
      })
    );
    const lim = Math.max(0.05, ...gains.flat().map(Math.abs));
    const W = 150 + q * (names.length * 12 + 24), H = 240, x0 = 44, mid = 110, half = 90;
    const svg = s("svg", { width: W, height: H, class: "chart", role: "img" });
    const y = (v) => mid - (half * v) / lim;
    for (const g of [-lim, -lim / 2, 0, lim / 2, lim]) {
      svg.appendChild(s("line", { x1: x0, x2: W - 110, y1: y(g), y2: y(g), class: g === 0 ? "axis" : "grid" }));
      svg.appendChild(s("text", { x: x0 - 4, y: y(g) + 4, "text-anchor": "end" }, (100 * g).toFixed(0)));
    }
    const shades = ["#1f5fbf", "#2e9d57", "#e9962b", "#8e5cc2", "#d64541", "#555", "#7a9cc9", "#9c6b30"];
    gains.forEach((gs, k) => {
      const gx = x0 + 12 + k * (names.length * 12 + 24);
      gs.forEach((v, i) => {
        const r = s("rect", { x: gx + i * 12, y: Math.min(y(v), mid), width: 10, height: Math.abs(y(v) - mid), fill: shades[i % shades.length] });
        r.appendChild(s("title", {}, names[i] + ", quintile " + (k + 1) + ": " + (100 * v).toFixed(1) + " points"));
        svg.appendChild(r);
      });
      const lo = groups[k].length ? pct(groups[k][0].plain) : "-", hi = groups[k].length ? pct(groups[k][groups[k].length - 1].plain) : "-";
      svg.appendChild(s("text", { x: gx + (names.length * 12) / 2, y: H - 18, "text-anchor": "middle" }, "Q" + (k + 1)));
      svg.appendChild(s("text", { x: gx + (names.length * 12) / 2, y: H - 5, "text-anchor": "middle" }, lo + "-" + hi + "%"));
    });
    names.forEach((r, i) => svg.appendChild(s("text", { x: W - 10, y: 12 + 12 * i, "text-anchor": "end", fill: shades[i % shades.length] }, r)));
    return svg;
  }

  function idKey(id) {
    const m = /^(.*?)(\d+)$/.exec(id);
    return m ? [m[1], Number(m[2])] : [id, 0];
  }
  function idCmp(a, b) {
    const [pa, na] = idKey(a), [pb, nb] = idKey(b);
    return pa < pb ? -1 : pa > pb ? 1 : na - nb;
  }

  function problemList(key, run) {
    const st = (listState[key] = listState[key] || { sort: "id", dir: 1, q: "", diff: "all", rr: run.rerankers[0] || "", oc: "any", gain: "any" });
    const body = h("tbody");
    const count = h("span", { cls: "muted" });
    const head = h("tr");
    const cols = [
      { key: "id", label: "problem", get: (p) => p.id },
      { key: "n", label: "candidates", get: (p) => p.n },
      { key: "correct", label: "correct", get: (p) => p.correct },
      { key: "plain", label: "plain %", get: (p) => p.plain },
      { key: "tests", label: "tests", get: (p) => p.tests },
      ...run.rerankers.map((r) => ({ key: "acc:" + r, label: r, get: (p) => (p.acc[r] === undefined ? null : p.acc[r]) })),
      { key: "gain", label: "gain", get: (p) => (p.acc[st.rr] === undefined || p.acc[st.rr] === null ? null : p.acc[st.rr] - p.plain) },
    ];
    function cmp(a, b) {
      if (st.sort === "id") return st.dir * idCmp(a.id, b.id);
      const c = cols.find((x) => x.key === st.sort);
      const va = c.get(a), vb = c.get(b);
      if (va === null) return 1;
      if (vb === null) return -1;
      return st.dir * (va < vb ? -1 : va > vb ? 1 : 0);
    }
    function keep(p) {
      if (st.q && !p.id.toLowerCase().includes(st.q.toLowerCase())) return false;
      const d = p.plain;
      if (st.diff === "unsolved" && p.correct > 0) return false;
      if (st.diff === "hard" && !(d > 0 && d < 0.2)) return false;
      if (st.diff === "medium" && !(d >= 0.2 && d <= 0.8)) return false;
      if (st.diff === "easy" && !(d > 0.8 && d < 1)) return false;
      if (st.diff === "solved" && d < 1) return false;
      if (st.oc !== "any" && outcome(p.acc[st.rr]) !== st.oc) return false;
      if (st.gain !== "any") {
        const g = cols[cols.length - 1].get(p);
        if (g === null || (st.gain === "up" && !(g > 1e-9)) || (st.gain === "down" && !(g < -1e-9)) || (st.gain === "zero" && Math.abs(g) > 1e-9)) return false;
      }
      return true;
    }
    function fill() {
      head.replaceChildren(
        ...cols.map((c) =>
          h("th", {
            cls: "sortable" + (st.sort === c.key ? (st.dir > 0 ? " sorted-asc" : " sorted-desc") : ""),
            "data-col": c.key,
            on: { click: () => { st.dir = st.sort === c.key ? -st.dir : c.key === "id" ? 1 : -1; st.sort = c.key; fill(); } },
          }, c.key === "gain" ? "gain (" + st.rr + ")" : c.label)
        )
      );
      const rows = run.problems.filter(keep).sort(cmp);
      count.textContent = rows.length + " of " + run.problems.length + " problems";
      body.replaceChildren(
        ...rows.map((p) => {
          const g = cols[cols.length - 1].get(p);
          return h("tr", { "data-problem": p.id },
            h("td", {}, link(probHref(key, p.file), p.id)),
            h("td", {}, p.n), h("td", {}, p.correct), h("td", {}, pct(p.plain)), h("td", {}, p.tests),
            run.rerankers.map((r) => h("td", {}, accBadge(p.acc[r]))),
            h("td", {}, g === null ? "-" : (g >= 0 ? "+" : "") + (100 * g).toFixed(1)));
        })
      );
    }
    const select = (value, options, onchange) =>
      h("select", { on: { change: (e) => { onchange(e.target.value); fill(); } } },
        options.map(([v, t]) => { const o = h("option", { value: v }, t); if (v === value) o.selected = true; return o; }));
    const controls = h("div", { cls: "controls" },
      h("label", {}, "problem ", h("input", { type: "search", value: st.q, placeholder: "filter ids", on: { input: (e) => { st.q = e.target.value; fill(); } } })),
      h("label", {}, "difficulty ", select(st.diff, [["all", "all"], ["unsolved", "no correct candidate"], ["hard", "hard (< 20%)"], ["medium", "medium (20-80%)"], ["easy", "easy (> 80%)"], ["solved", "all correct"]], (v) => (st.diff = v))),
      run.rerankers.length ? h("label", {}, "reranker ", select(st.rr, run.rerankers.map((r) => [r, r]), (v) => (st.rr = v))) : null,
      run.rerankers.length ? h("label", {}, "its pick ", select(st.oc, [["any", "any"], ["right", "right"], ["wrong", "wrong"], ["partly", "tied, partly right"]], (v) => (st.oc = v))) : null,
      run.rerankers.length ? h("label", {}, "its gain ", select(st.gain, [["any", "any"], ["up", "> 0 (reranking helps)"], ["down", "< 0 (reranking hurts)"], ["zero", "0"]], (v) => (st.gain = v))) : null,
      count);
    fill();
    return h("div", {}, controls, h("table", { id: "problems" }, h("thead", {}, head), body));
  }

  // ---------------------------------------------------------------- problem page
  async function showProblem(key, file) {
    runInfo(key);
    const run = await loadRun(key);
    const entry = run.problems.find((p) => p.file === file);
    if (!entry) throw new Error("no problem " + file + " in run " + key);
    const p = await loadProblem(key, file);
    document.title = p.id + " - rerankeval view";
    const i = run.problems.indexOf(entry);
    const prev = run.problems[i - 1], next = run.problems[i + 1];
    const parts = [
      h("div", { cls: "pager" }, link(runHref(key), "\u2190 " + run.policy + " / " + run.test_generator),
        prev ? link(probHref(key, prev.file), "\u2039 " + prev.id) : null, next ? link(probHref(key, next.file), next.id + " \u203a") : null),
      h("h1", {}, p.id),
    ];
    const others = [];
    for (const r of store.runs.runs) {
      if (r.key === key) continue;
      const o = await loadRun(r.key).catch(() => null);
      const m = o && o.problems.find((x) => x.id === p.id);
      if (m) others.push([r, m]);
    }
    if (others.length)
      parts.push(h("p", { cls: "tabs" }, "runs: ", h("a", { cls: "current" }, store.runs.runs.find((r) => r.key === key).label), others.map(([r, m]) => link(probHref(r.key, m.file), r.label))));
    const checked = p.tests.some((t) => t.canonical !== null);
    const nGood = p.tests.filter((t) => t.canonical === "p").length;
    parts.push(h("p", {}, p.n + " candidates, " + p.correct + " correct (plain pass@1 " + pct(p.plain) + "%) \u00b7 " + p.tests.length + " generated tests" + (checked ? ", " + nGood + " correct (the canonical solution passes them)" : p.tests.length ? " (not checked against a canonical solution)" : "")));
    parts.push(h("h2", {}, "Picks"), picksTable(p));
    parts.push(h("h2", {}, "Prompt"));
    if (p.prompt !== null) parts.push(h("pre", { id: "prompt" }, p.prompt));
    else parts.push(h("p", { cls: "muted" }, "The prompt is not in the run directory: pass --dataset-path to `rerankeval view` to show it."));
    if (p.reference) parts.push(h("details", {}, h("summary", {}, "canonical solution"), h("pre", {}, p.reference)));
    const order = [];
    p.clusters.forEach((c) => c.members.forEach((m) => order.push(m)));
    if (p.matrix.length && p.tests.length) parts.push(h("h2", {}, "Pass matrix"), heatMap(p, order));
    parts.push(h("h2", {}, "Candidates by pass pattern (CodeT's agreement clusters)"), clusters(p));
    if (p.tests.length) parts.push(h("h2", {}, "Generated tests"), testsTable(p));
    setMain(...parts);
    timing.lastProblem = { file: file, ms: performance.now() - timing.routeStart };
    ready("problem");
  }

  function pickers(p, pos) {
    const out = [];
    for (const [r, s] of Object.entries(p.picks)) {
      if (s.pick === pos) out.push(badge("pick", r));
      else if (s.chosen.includes(pos)) out.push(badge("tied", r + " (tied)"));
    }
    return out;
  }

  function picksTable(p) {
    const rows = Object.entries(p.picks).map(([r, s]) => {
      const c = s.pick === null ? null : p.candidates[s.pick];
      return h("tr", { "data-reranker": r },
        h("td", {}, r),
        h("td", {}, c ? link("#cand-" + s.pick, "#" + c.index, null) : "-"),
        h("td", {}, c ? badge(c.passed ? "pass" : "fail", c.passed ? "correct" : "wrong") : "-"),
        h("td", {}, s.chosen.length),
        h("td", {}, accBadge(s.acc)),
        h("td", {}, c ? "cluster " + (c.cluster + 1) : "-"));
    });
    if (!rows.length) return h("p", { cls: "muted" }, "No selections in this run.");
    const t = h("table", { id: "picks" }, h("tr", {}, ["reranker", "pick", "pick is", "tied candidates", "expected accuracy", "pass pattern"].map((c) => h("th", {}, c))), rows);
    t.querySelectorAll("a").forEach((a) => a.addEventListener("click", (e) => { e.preventDefault(); reveal(Number(a.getAttribute("href").slice(6))); }));
    return t;
  }

  function reveal(pos) {
    const el = document.getElementById("cand-" + pos);
    if (!el) return;
    const d = el.closest("details");
    if (d && !d.open) d.open = true;
    el.scrollIntoView({ block: "center" });
    el.classList.add("flash");
    setTimeout(() => el.classList.remove("flash"), 1200);
  }

  function heatMap(p, order) {
    const nr = order.length, tests = p.tests.map((t, j) => j);
    tests.sort((a, b) => {
      const ca = p.tests[a].canonical === "p" ? 0 : 1, cb = p.tests[b].canonical === "p" ? 0 : 1;
      return ca - cb || p.tests[b].n_pass - p.tests[a].n_pass || a - b;
    });
    const nc = tests.length;
    const cw = Math.max(1, Math.min(24, Math.floor(900 / nc))), ch = Math.max(2, Math.min(18, Math.floor(520 / nr)));
    const gut = 8, W = gut + nc * cw + gut, H = nr * ch;
    const canvas = h("canvas", { id: "heatmap", width: W, height: H, "data-cw": cw, "data-ch": ch, "data-gutter": gut });
    canvas.dataset.rows = order.map((i) => p.candidates[i].index).join(",");
    canvas.dataset.cols = tests.map((j) => p.tests[j].id).join(",");
    const ctx = canvas.getContext("2d");
    const picked = new Set(Object.values(p.picks).map((s) => s.pick));
    order.forEach((ci, r) => {
      const row = p.matrix[ci];
      ctx.fillStyle = p.candidates[ci].passed ? "#2e9d57" : "#c8ced4";
      ctx.fillRect(0, r * ch, gut - 2, ch);
      tests.forEach((j, c) => {
        ctx.fillStyle = COLORS[row[j]] || "#999";
        ctx.fillRect(gut + c * cw, r * ch, cw, ch);
      });
      if (picked.has(ci)) { ctx.fillStyle = "#1f5fbf"; ctx.fillRect(gut + nc * cw + 2, r * ch, gut - 2, ch); }
    });
    ctx.fillStyle = "#ffffff";
    let r0 = 0;
    p.clusters.forEach((c) => { r0 += c.members.length; if (r0 < nr && ch > 2) ctx.fillRect(gut, r0 * ch - 1, nc * cw, 1); });
    const firstWrong = tests.findIndex((j) => p.tests[j].canonical !== "p");
    if (firstWrong > 0 && cw > 2) ctx.fillRect(gut + firstWrong * cw - 1, 0, 1, H);
    const tip = document.getElementById("tip");
    function cell(e) {
      const b = canvas.getBoundingClientRect();
      const x = ((e.clientX - b.left) * W) / b.width, y = ((e.clientY - b.top) * H) / b.height;
      const r = Math.floor(y / ch), c = Math.floor((x - gut) / cw);
      return r >= 0 && r < nr ? { r: r, c: c >= 0 && c < nc ? c : null } : null;
    }
    canvas.addEventListener("mousemove", (e) => {
      const at = cell(e);
      if (!at) { tip.hidden = true; return; }
      const ci = order[at.r], cand = p.candidates[ci];
      let text = "candidate #" + cand.index + " (" + (cand.passed ? "correct" : "wrong") + ", cluster " + (cand.cluster + 1) + ", passes " + cand.n_passed + " tests)";
      if (at.c !== null) {
        const t = p.tests[tests[at.c]];
        text += "\ntest " + t.id + " (" + (t.canonical === "p" ? "correct" : t.canonical ? "wrong: canonical " + STATUS[t.canonical] : "unchecked") + "): " + STATUS[p.matrix[ci][tests[at.c]]];
      }
      tip.textContent = text;
      tip.hidden = false;
      tip.style.left = e.clientX + 14 + "px";
      tip.style.top = e.clientY + 14 + "px";
    });
    canvas.addEventListener("mouseleave", () => (tip.hidden = true));
    canvas.addEventListener("click", (e) => { const at = cell(e); if (at) reveal(order[at.r]); });
    const legend = h("div", { cls: "legend muted" },
      Object.keys(COLORS).map((k) => h("span", {}, h("i", { cls: "c-" + k }), STATUS[k])),
      h("span", {}, "rows: candidates by cluster (left strip green = correct; right strip blue = a reranker's pick); columns: correct tests, then wrong ones"));
    return h("div", {}, h("div", { cls: "heat" }, canvas), legend);
  }

  function clusters(p) {
    const wrap = h("div", { id: "clusters" });
    const pickedPos = new Set(Object.values(p.picks).flatMap((s) => (s.pick === null ? [] : [s.pick])));
    p.clusters.forEach((c, k) => {
      const correct = c.members.filter((m) => p.candidates[m].passed).length;
      const picks = Object.entries(p.picks).filter(([, s]) => s.pick !== null && c.members.includes(s.pick)).map(([r]) => r);
      const open = k < 3 || picks.length > 0;
      const summary = h("summary", {},
        "cluster " + (k + 1) + ": " + c.members.length + " candidate" + (c.members.length > 1 ? "s" : "") + ", pass " + c.passed + "/" + p.tests.length + " tests, CodeT score " + c.codet.toFixed(2) + ", " + correct + " correct ",
        picks.map((r) => badge("pick", r)));
      const d = h("details", { cls: "cluster" + (picks.length ? " picked" : ""), "data-cluster": k }, summary);
      let filled = false;
      const fillIt = () => {
        if (filled) return;
        filled = true;
        const seen = {};
        for (const m of c.members) {
          const cand = p.candidates[m];
          if (cand.sha && seen[cand.sha] !== undefined && !pickedPos.has(m)) { seen[cand.sha].push(cand.index); continue; }
          const same = [];
          if (cand.sha) seen[cand.sha] = same;
          d.appendChild(candidate(p, m, same));
        }
        d.querySelectorAll("[data-same]").forEach((el) => { const s = seen[el.dataset.same]; if (s && s.length) el.textContent = "identical code: #" + s.join(", #"); });
      };
      if (open) { d.open = true; fillIt(); }
      d.addEventListener("toggle", () => d.open && fillIt());
      wrap.appendChild(d);
    });
    return wrap;
  }

  function verdict(status) {
    return status ? badge(status === "pass" ? "pass" : status === "timeout" ? "timeout" : "fail", status) : badge("error", "not run");
  }

  function candidate(p, m, same) {
    const c = p.candidates[m];
    const rm = Object.entries(c.rm || {}).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => k + " " + Number(v).toFixed(3));
    const head = h("div", { cls: "head" },
      h("strong", {}, "#" + c.index),
      badge(c.passed ? "right" : "wrong", c.passed ? "correct" : "wrong"),
      h("span", {}, (p.views.base || "base") + " ", verdict(c.base_status)),
      h("span", {}, (p.views.plus || "plus") + " ", verdict(c.plus_status)),
      c.n_passed === null ? null : h("span", {}, "tests passed " + c.n_passed + "/" + p.tests.length),
      rm.length ? h("span", {}, "reward " + rm.join(", ")) : null,
      pickers(p, m),
      c.sha ? h("span", { cls: "muted", "data-same": c.sha }) : null);
    const fails = [];
    if (c.base_fail) fails.push(h("div", { cls: "failin" }, "first failing input (" + (p.views.base || "base") + "): " + c.base_fail));
    else if (c.plus_fail) fails.push(h("div", { cls: "failin" }, "first failing input (" + (p.views.plus || "plus") + "): " + c.plus_fail));
    else if (!c.passed && !c.fail_recorded) fails.push(h("div", { cls: "muted" }, "first failing input: not recorded in this run"));
    return h("div", { cls: "cand", id: "cand-" + m, "data-index": c.index }, head, fails, c.code === null ? h("p", { cls: "muted" }, "(code not saved in the run)") : h("pre", { cls: "code" }, c.code));
  }

  function testsTable(p) {
    const nCorrect = p.correct;
    const rows = p.tests.map((t) =>
      h("tr", { "data-test": t.id },
        h("td", {}, t.id),
        h("td", {}, t.canonical === null ? h("span", { cls: "muted" }, "unchecked") : t.canonical === "p" ? badge("right", "correct") : badge("wrong", "wrong (" + STATUS[t.canonical] + ")")),
        h("td", {}, t.n_pass + "/" + p.n),
        h("td", {}, t.n_pass_correct + "/" + nCorrect),
        h("td", { cls: "left" }, t.source === null ? "-" : h("pre", {}, t.source))));
    return h("table", { id: "tests" }, h("tr", {}, ["test", "vs canonical solution", "candidates passing", "correct candidates passing", "test"].map((c, i) => h("th", { cls: i === 4 ? "left" : null }, c))), rows);
  }

  // ---------------------------------------------------------------- comparing two runs
  async function showCompare(a, b) {
    runInfo(a);
    runInfo(b);
    const [A, B] = await Promise.all([loadRun(a), loadRun(b)]);
    const pick = (which, other) =>
      h("select", { on: { change: (e) => (location.hash = which === "a" ? "#/compare/" + e.target.value + "/" + b : "#/compare/" + a + "/" + e.target.value) } },
        store.runs.runs.map((r) => { const o = h("option", { value: r.key }, r.label); if (r.key === other) o.selected = true; return o; }));
    const byId = {};
    B.problems.forEach((p) => (byId[p.id] = p));
    const common = A.problems.filter((p) => byId[p.id]);
    const rr = A.rerankers.filter((r) => B.rerankers.includes(r));
    const st = { onlyDiff: false, sort: "id", dir: 1 };
    const body = h("tbody"), count = h("span", { cls: "muted" }), head = h("tr");
    const diff = (x, y) => (x === null || x === undefined || y === null || y === undefined ? null : y - x);
    const cols = [{ key: "id", label: "problem", get: (p) => p.id }, { key: "plain", label: "plain A \u2192 B", get: (p) => diff(p.plain, byId[p.id].plain) },
      ...rr.map((r) => ({ key: r, label: r + " A \u2192 B", get: (p) => diff(p.acc[r], byId[p.id].acc[r]) }))];
    const fmt = (x) => (x === null ? "-" : (x >= 0 ? "+" : "") + (100 * x).toFixed(1));
    function fill() {
      head.replaceChildren(...cols.map((c) => h("th", { cls: "sortable" + (st.sort === c.key ? (st.dir > 0 ? " sorted-asc" : " sorted-desc") : ""), on: { click: () => { st.dir = st.sort === c.key ? -st.dir : 1; st.sort = c.key; fill(); } } }, c.label)));
      let rows = common.filter((p) => !st.onlyDiff || rr.some((r) => outcome(p.acc[r]) !== outcome(byId[p.id].acc[r])));
      const c = cols.find((x) => x.key === st.sort);
      rows = rows.sort((x, y) => { if (c.key === "id") return st.dir * idCmp(x.id, y.id); const u = c.get(x), v = c.get(y); if (u === null) return 1; if (v === null) return -1; return st.dir * (u < v ? -1 : u > v ? 1 : 0); });
      count.textContent = rows.length + " of " + common.length + " shared problems";
      body.replaceChildren(...rows.map((p) => {
        const q = byId[p.id];
        return h("tr", { "data-problem": p.id },
          h("td", {}, p.id + " ", link(probHref(a, p.file), "A"), " ", link(probHref(b, q.file), "B")),
          h("td", {}, pct(p.plain) + " \u2192 " + pct(q.plain) + " (" + fmt(diff(p.plain, q.plain)) + ")"),
          rr.map((r) => h("td", {}, accBadge(p.acc[r]), "\u2192 ", accBadge(q.acc[r]))));
      }));
    }
    fill();
    const summary = rr.map((r) => {
      const x = common.filter((p) => p.acc[r] !== null && p.acc[r] !== undefined), n = x.length || 1;
      const ma = x.reduce((t, p) => t + p.acc[r], 0) / n, mb = x.reduce((t, p) => t + byId[p.id].acc[r], 0) / n;
      return [r, pct(ma), pct(mb), fmt(mb - ma)];
    });
    const pa = common.reduce((t, p) => t + p.plain, 0) / (common.length || 1), pb = common.reduce((t, p) => t + byId[p.id].plain, 0) / (common.length || 1);
    setMain(
      h("h1", {}, "Compare runs"),
      h("p", {}, "A: ", pick("a", a), " \u00a0 B: ", pick("b", b)),
      h("p", { cls: "muted" }, common.length + " problems in both runs (A has " + A.problems.length + ", B has " + B.problems.length + ")."),
      table(["method (shared problems)", "A pass@1 %", "B pass@1 %", "B - A"], [["plain", pct(pa), pct(pb), fmt(pb - pa)], ...summary]),
      h("div", { cls: "controls" }, h("label", {}, h("input", { type: "checkbox", on: { change: (e) => { st.onlyDiff = e.target.checked; fill(); } } }), " only problems where a reranker's outcome differs"), count),
      h("table", { id: "compare" }, h("thead", {}, head), body));
    ready("compare");
  }

  window.RV = { register: register, store: store };
})();
