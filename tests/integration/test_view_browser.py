"""``rerankeval view`` in headless Chromium: a committed run, clicked through, checked against its files.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); skipped with that hint without it.
Screenshots and page timings are kept under ``$RERANKEVAL_TEST_ARTIFACTS/view`` (default
``test-artifacts/view`` in the repository).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cdp import Browser, find_chromium
from click.testing import CliRunner
from scaling_runs import TINY, tiny_selections, write_run

from rerankeval.cli.main import _register, cli

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "results" / "reference" / "lmeval_smollm2" / "rerank"
ARTIFACTS = Path(os.environ.get("RERANKEVAL_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "view"
CHROMIUM = find_chromium()
#: Heat-map colours (app.js COLORS) -> pass-matrix cell
COLOR_CELL = {"#2e9d57": "p", "#d64541": "f", "#e9962b": "e", "#8e5cc2": "t", "#222222": "m"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not found: apt-get install -y chromium"),
]


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _site(tmp_path: Path, *runs: Path) -> Path:
    _register()
    out = tmp_path / "site"
    res = CliRunner().invoke(cli, ["view", *map(str, runs), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def _open(b: Browser, url: str, state: str) -> None:
    b.call("Page.navigate", url=url)
    b.wait_for(f"document.body.dataset.state === {json.dumps(state)}")


_PIXELS = """(() => {
  const c = document.getElementById('heatmap'), ctx = c.getContext('2d');
  const cw = +c.dataset.cw, ch = +c.dataset.ch, gut = +c.dataset.gutter;
  const rows = c.dataset.rows.split(','), cols = c.dataset.cols.split(',');
  const hex = (d) => '#' + Array.from(d.slice(0, 3)).map((v) => v.toString(16).padStart(2, '0')).join('');
  return {rows: rows, cols: cols, cells: rows.map((_, r) => cols.map((_, k) =>
    hex(ctx.getImageData(gut + k * cw + Math.floor(cw / 2), r * ch + Math.floor(ch / 2), 1, 1).data)))};
})()"""


#: Sets the problem list's selects, given as {label: value}, as a user would (a change event each).
_SET_FILTERS = """Object.entries(%r).forEach(([name, v]) => {
  const labels = Array.from(document.querySelectorAll('.controls label'));
  const s = labels.find((l) => l.textContent.startsWith(name)).querySelector('select');
  s.value = v;
  s.dispatchEvent(new Event('change'));
})"""


def test_view_shows_a_committed_run_as_in_its_files(tmp_path: Path) -> None:
    site = _site(tmp_path, COMMITTED)
    gold = _rows(COMMITTED / "gold.jsonl")
    code = {(r["problem_id"], r["index"]): r["code"] for r in _rows(COMMITTED / "candidates.jsonl")}
    matrix = {(r["problem_id"], r["index"]): r["tests"] for r in _rows(COMMITTED / "matrix.jsonl")}
    test_ids: dict[str, list[str]] = {}
    for r in _rows(COMMITTED / "tests.jsonl"):
        test_ids.setdefault(r["problem_id"], []).append(r["test_id"])
    picks = {
        (r["problem_id"], r["reranker"]): r
        for r in _rows(COMMITTED / "selections.jsonl")
        if r.get("draw", 0) == 0
    }
    pid = max(test_ids, key=lambda p: len(test_ids[p]))  # the problem with the widest matrix
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with Browser(CHROMIUM, tmp_path / "profile") as b:
        _open(b, (site / "index.html").as_uri(), "run")
        listed = b.eval(
            "Array.from(document.querySelectorAll('#problems tbody tr')).map(r => r.dataset.problem)"
        )
        assert sorted(listed) == sorted({r["problem_id"] for r in gold})
        b.screenshot(ARTIFACTS / "overview.png")
        # filters: codet's wrong picks, then its picks that gain over plain pass@1
        acc = {p: r["expected_acc"] for (p, name), r in picks.items() if name == "codet"}
        plain = {}
        for r in gold:
            plain.setdefault(r["problem_id"], []).append(r["passed"])
        for label, value, want in (
            ("its pick", "wrong", {p for p, a in acc.items() if a == 0}),
            ("its gain", "up", {p for p, a in acc.items() if a > sum(plain[p]) / len(plain[p]) + 1e-9}),
        ):
            b.eval(_SET_FILTERS % {"reranker": "codet", "its pick": "any", "its gain": "any", label: value})
            rows = b.eval(
                "Array.from(document.querySelectorAll('#problems tbody tr')).map(r => r.dataset.problem)"
            )
            assert set(rows) == want, label
        b.eval(_SET_FILTERS % {"its pick": "any", "its gain": "any"})
        b.click(f'#problems tr[data-problem="{pid}"] a')
        b.wait_for("document.body.dataset.state === 'problem'")
        assert b.eval("document.querySelector('h1').textContent") == pid
        b.screenshot(ARTIFACTS / "problem.png")

        # each reranker's pick, tie size and verdict as in selections.jsonl
        shown = b.eval(
            "Array.from(document.querySelectorAll('#picks tr[data-reranker]')).map(t => [t.dataset.reranker,"
            " t.cells[1].textContent, t.cells[3].textContent, t.cells[4].textContent])"
        )
        labels = [r for (p, r) in picks if p == pid]
        assert [s[0] for s in shown] == labels
        ok = {r["index"]: r["passed"] for r in gold if r["problem_id"] == pid}
        for reranker, pick, tied, acc in shown:
            sel = picks[(pid, reranker)]
            assert (pick, int(tied)) == (f"#{sel['pick']}", len(sel["chosen"]))
            want = {1.0: "right", 0.0: "wrong"}.get(sel["expected_acc"], f"{100 * sel['expected_acc']:.1f}%")
            assert acc == want
            assert ok[sel["pick"]] == (sel["expected_acc"] == 1.0) or len(sel["chosen"]) > 1

        # every candidate's code, shown as text, in its cluster
        b.eval("document.querySelectorAll('details.cluster').forEach(d => { d.open = true; })")
        b.wait_for(
            "Array.from(document.querySelectorAll('details.cluster')).every(d => d.querySelector('.cand'))"
        )
        cands = b.eval(
            "Array.from(document.querySelectorAll('.cand'))"
            ".map(e => [+e.dataset.index, e.querySelector('pre').textContent])"
        )
        for index, text in cands:
            assert text == code[(pid, index)]
        assert {t for _, t in cands} == {c for (p, _), c in code.items() if p == pid}

        # the heat map's pixels are the pass matrix, in the drawn row / column order
        px = b.eval(_PIXELS)
        col = {t: j for j, t in enumerate(test_ids[pid])}
        assert sorted(px["cols"]) == sorted(test_ids[pid])
        assert sorted(map(int, px["rows"])) == sorted(ok)
        for r, index in enumerate(px["rows"]):
            drawn = "".join(COLOR_CELL[c] for c in px["cells"][r])
            assert drawn == "".join(matrix[(pid, int(index))][col[t]] for t in px["cols"])

        timing = b.eval("RV_TIMING")
        (ARTIFACTS / "timing.json").write_text(json.dumps(timing, indent=2))
        b.screenshot(ARTIFACTS / "problem_full.png", full_page=True)


def test_hostile_candidate_code_shows_as_text(tmp_path: Path) -> None:
    hostile = '</script><img src=x onerror=alert(1)><img src=y onerror="window.pwned=1">'
    codes = {pid: [f"def f():\n    return {i}\n" for i in range(4)] for pid in TINY}
    codes["P/easy"][3] = f"s = '{hostile}'\n"
    run = write_run(tmp_path / "run", TINY, selections=tiny_selections(), codes=codes)
    site = _site(tmp_path, run)
    with Browser(CHROMIUM, tmp_path / "profile") as b:
        _open(b, (site / "index.html").as_uri(), "run")
        b.click('#problems tr[data-problem="P/easy"] a')
        b.wait_for("document.body.dataset.state === 'problem'")
        b.eval("document.querySelectorAll('details.cluster').forEach(d => { d.open = true; })")
        text = b.wait_for(
            "document.querySelector('.cand[data-index=\"3\"] pre') && "
            "document.querySelector('.cand[data-index=\"3\"] pre').textContent"
        )
        assert text == codes["P/easy"][3]
        assert b.eval("document.querySelectorAll('img').length") == 0
        assert b.eval("typeof window.pwned") == "undefined"


def test_compare_two_runs_problem_by_problem(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", TINY, selections=tiny_selections(), policy="policy-a")
    other = [dict(r) for r in tiny_selections()]
    for r in other:  # run B: CodeRM picks the wrong candidate of P/easy
        if r["problem_id"] == "P/easy" and r["reranker"] == "coderm":
            r.update(chosen=[3], pick=3, expected_acc=0.0)
    b_run = write_run(tmp_path / "b", TINY, selections=other, policy="policy-b")
    site = _site(tmp_path, a, b_run)
    with Browser(CHROMIUM, tmp_path / "profile") as b:
        _open(b, (site / "index.html").as_uri() + "#/compare/r0/r1", "compare")
        rows = b.eval(
            "Array.from(document.querySelectorAll('#compare tbody tr')).map(r => r.dataset.problem)"
        )
        assert sorted(rows) == sorted(TINY)
        b.click("input[type=checkbox]")
        b.wait_for("document.querySelectorAll('#compare tbody tr').length === 1")
        assert b.eval("document.querySelector('#compare tbody tr').dataset.problem") == "P/easy"
        b.click('#compare tbody tr a[href$="p0000"]')
        b.wait_for("document.body.dataset.state === 'problem'")
        assert b.eval("document.querySelector('.tabs') !== null")
