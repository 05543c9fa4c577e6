"""Times ``rerankeval view`` on a run: writing the site, and loading its pages in headless Chromium.

    python benchmarks/view_load_time.py runs/codex002                # a run directory
    python benchmarks/view_load_time.py runs/codex002 --repeat 5 --screenshot docs/view.png

Reports, per repeat (a fresh browser each time, pages opened from the file system):
- overview: navigation start -> the overview (table, charts, problem list) is rendered;
- problem: click on the problem with the largest pass matrix -> its page is rendered
  (its data file loaded, clusters, heat map, tests);
- all problems: every problem page opened in turn, the slowest and the median.
Needs Debian's ``chromium`` (``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))


def _state(b: object, state: str) -> None:
    b.wait_for(f"document.body.dataset.state === {json.dumps(state)}", timeout=120)  # type: ignore[attr-defined]


def main() -> None:
    from cdp import Browser, find_chromium

    from rerankeval.report.frames import load_run
    from rerankeval.view import build_site, prepare_out

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--screenshot", type=Path, default=None, help="PNG of the largest problem's page")
    ap.add_argument("--site", type=Path, default=None, help="site folder (default: a temporary one)")
    args = ap.parse_args()
    exe = find_chromium()
    if exe is None:
        sys.exit("chromium not found: apt-get install -y chromium")

    from rerankeval.cli.view_cmd import _check_kind, _problem_infos

    t0 = time.perf_counter()
    frames = load_run(args.run)
    infos = [_problem_infos(_check_kind(args.run), None)]
    t1 = time.perf_counter()
    site = prepare_out(args.site or Path(tempfile.mkdtemp(prefix="view-bench-")) / "site")
    res = build_site([frames], site, infos)
    t2 = time.perf_counter()
    sizes = sorted((p.stat().st_size, p.name) for p in (site / "data" / "r0").glob("p*.js"))
    n_cells = {pid: len(m.rows) * len(m.test_ids) for pid, m in frames.matrices.items()}
    big = max(n_cells, key=lambda p: n_cells[p]) if n_cells else frames.problem_ids[0]
    m = frames.matrices.get(big)
    print(f"run: {args.run}  {len(frames.problem_ids)} problems, {len(frames.gold)} candidates")
    mb = res.bytes / 1e6
    print(f"site: run read in {t1 - t0:.1f} s, wrote {res.problems} pages in {t2 - t1:.1f} s, {mb:.1f} MB")
    median, largest = sizes[len(sizes) // 2][0] / 1e3, sizes[-1][0] / 1e3
    print(f"  data file per problem: median {median:.0f} kB, largest {largest:.0f} kB")
    if m is not None:
        print(f"largest matrix: {big}: {len(m.rows)} candidates x {len(m.test_ids)} tests")
    for k in range(args.repeat):
        with (
            tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp,
            Browser(exe, Path(tmp) / "profile") as b,
        ):
            b.call("Page.navigate", url=(site / "index.html").as_uri())
            _state(b, "run")
            overview = b.eval("RV_TIMING.loads.find(x => x.state === 'run').at")
            b.click(f'#problems tr[data-problem="{big}"] a')
            _state(b, "problem")
            problem = b.eval("RV_TIMING.lastProblem.ms")
            if k == 0 and args.screenshot is not None:
                b.screenshot(args.screenshot)
            times = []
            files = b.eval("RV.store.run.r0.problems.map(p => p.file)")
            current = b.eval("location.hash")
            for f in files:
                if current.endswith(f"/p/{f}"):
                    continue
                b.eval("document.body.dataset.state = 'loading'")
                b.eval(f"location.hash = '#/run/r0/p/{f}'")
                _state(b, "problem")
                times.append(b.eval("RV_TIMING.lastProblem.ms"))
            print(
                f"repeat {k + 1}: overview {overview:.0f} ms after navigation start; largest problem "
                f"{problem:.0f} ms after the click; all {len(times)} problems: median "
                f"{statistics.median(times):.0f} ms, max {max(times):.0f} ms"
            )


if __name__ == "__main__":
    main()
