"""Times rerankeval's LiveCodeBench grader against LiveCodeBench's own, on the same programs, in one run.

The programs are the test fixture's (``tests/fixtures/lcb_fixture.py``: 22 problems, stdin and
functional, each with a correct, wrong, slow, crashing, printing-extra and hostile program); with
``--copies K`` each program is graded K times under distinct names (a comment appended), so caches
cannot help either side. LiveCodeBench's grader (``check_correctness`` of PyPI's
``nvidia-livecodebench`` 26.3, one process per program, as its ``codegen_metrics`` runs it) runs in
a separate virtual environment that this script builds (``--venv`` to reuse one). Both use the same
number of worker processes and the same per-test time limit; verdicts are compared program by
program.

    python benchmarks/livecodebench_grader.py --copies 3 --timeout 1 --workers 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

RUNNER = ROOT / "tests" / "fixtures" / "lcb_upstream_runner.py"


def upstream_python(venv: Path) -> Path:
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(py),
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "nvidia-livecodebench==26.3",
                "numpy",
                "tqdm",
            ],
            check=True,
        )
    return py


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=3, help="Distinct copies of every fixture program.")
    ap.add_argument("--timeout", type=int, default=1, help="Per-test time limit (whole seconds).")
    ap.add_argument("--workers", type=int, default=2, help="Worker processes of both graders.")
    ap.add_argument(
        "--venv", type=Path, default=None, help="A venv with nvidia-livecodebench (default: build one)."
    )
    args = ap.parse_args()

    import lcb_fixture

    from rerankeval.sandbox import LocalExecutor
    from rerankeval_livecodebench import grade, load_dataset
    from rerankeval_livecodebench.grader import PRELOAD

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        path, progs = lcb_fixture.write_fixture(tmp / "lcb.jsonl")
        ds = load_dataset(path)
        items = [(q, f"{code}\n# copy {k}\n") for k in range(args.copies) for q, _, code in progs]
        py = upstream_python(args.venv or tmp / "venv")
        runner_in = tmp / "in.json"
        runner_in.write_text(
            json.dumps([{"sample": ds.problems[q].evaluation_sample(), "code": c} for q, c in items])
        )
        runner = RUNNER.read_text().replace("max_workers=2", f"max_workers={args.workers}")
        (tmp / "runner.py").write_text(runner)

        t0 = time.perf_counter()
        cmd = [str(py), str(tmp / "runner.py"), str(runner_in), str(tmp / "out.json"), str(args.timeout)]
        subprocess.run(cmd, check=True, capture_output=True)
        t_up = time.perf_counter() - t0
        upstream = json.loads((tmp / "out.json").read_text())

        t0 = time.perf_counter()
        with LocalExecutor(args.workers, preload=PRELOAD) as ex:
            ours = grade(
                ds.problems, items, dataset_hash=ds.hash, timeout_s=args.timeout, executor=ex, cache=False
            )
        t_ours = time.perf_counter() - t0

    agree = sum(o == u for o, u in zip(ours, upstream, strict=True))
    n = len(items)
    print(
        f"{n} programs ({len(progs)} fixture programs x {args.copies}), per-test limit {args.timeout} s, ",
        end="",
    )
    print(f"{args.workers} workers")
    print(f"{'grader':<40}{'seconds':>10}{'programs/s':>12}")
    print(f"{'LiveCodeBench check_correctness':<40}{t_up:>10.1f}{n / t_up:>12.1f}")
    print(f"{'rerankeval (sandboxed)':<40}{t_ours:>10.1f}{n / t_ours:>12.1f}")
    print(f"rerankeval / LiveCodeBench time: {t_ours / t_up:.2f}; identical result lists: {agree} of {n}")


if __name__ == "__main__":
    main()
