"""Verdicts on a busy machine: ``evalplus.evaluate`` 0.3.1 and rerankeval's judge (the confirmation of
CPU-starved runs off and on) under the same added CPU load, each against the same samples judged on
the machine without that load, in one run.

EvalPlus's time limits are wall-clock (``max(1 s, 4 x the reference's time)`` per input), so a correct
program that the machine keeps off the CPU fails them. rerankeval records the CPU time a program got on
an input that hit its limit and runs a starved one again, alone, after the others
(``rerankeval.sandbox.run_confirming``). This prints, for each, the passes lost and gained against the
unloaded verdicts, and the time taken:

    python benchmarks/verdicts_under_load.py --tasks 15,36,147,96,100 --load 4
    python benchmarks/verdicts_under_load.py --tasks all --load 4 \\
        --baseline results/reference/qwen2.5-coder/humaneval/all/gold.jsonl

The samples default to the committed Qwen2.5-Coder-0.5B ones (16 per HumanEval+ problem), where slow
but correct programs sit near the 1-second floor (HumanEval/15, /147). ``--baseline`` takes the
unloaded verdicts from a run's gold.jsonl instead of judging first; ``--tasks`` takes numbers
(HumanEval/N) or ``all``. The load is ``--load`` processes that spin for the whole loaded part.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RERANKEVAL_SHARED_DATA", ROOT.parent / "shared" / "data"))
DATASET = DATA / "humanevalplus" / "HumanEvalPlus.jsonl.gz"
SAMPLES = ROOT / "results" / "reference" / "qwen2.5-coder" / "humaneval" / "all" / "samples.jsonl"

Verdicts = dict[tuple[str, int], tuple[bool, bool]]  # (task, index) -> (base passed, plus passed)


def _spin() -> None:
    while True:
        pass


def _subset(work: Path, tasks: str, samples: Path) -> tuple[Path, Path, list[str]]:
    with gzip.open(DATASET, "rt") as f:
        problems = [json.loads(x) for x in f]
    rows = [json.loads(x) for x in samples.read_text().splitlines()]
    have = {r["task_id"] for r in rows}
    if tasks == "all":
        ids = [p["task_id"] for p in problems if p["task_id"] in have]
    else:
        ids = [f"HumanEval/{t.strip()}" for t in tasks.split(",") if t.strip()]
        missing = [t for t in ids if t not in have]
        if missing:
            sys.exit(f"--tasks: no samples for {', '.join(missing)} in {samples}")
    from evaluate_vs_evalplus import _write_subset  # the sibling benchmark's subset file

    path = _write_subset(work, "humaneval", [p for p in problems if p["task_id"] in ids])
    sub = work / "samples.jsonl"
    sub.write_text("".join(json.dumps(r) + "\n" for r in rows if r["task_id"] in ids))
    return path, sub, ids


def _judge(dataset_path: Path, samples: Path, parallel: int, confirm: bool) -> tuple[Verdicts, float]:
    from rerankeval_evalplus import judge, load_dataset, read_samples
    from rerankeval_evalplus.judge import JudgeConfig

    ds = load_dataset("humaneval", dataset_path)
    t = time.perf_counter()
    out = judge(
        ds,
        read_samples(samples, ds),
        parallel=parallel,
        cache=False,
        config=JudgeConfig(confirm_starved=confirm),
    )
    return {(v.task_id, v.index): (v.base_status == "pass", v.plus_status == "pass") for v in out}, (
        time.perf_counter() - t
    )


def _evalplus(dataset_path: Path, samples: Path, parallel: int) -> tuple[Verdicts, float]:
    env = {**os.environ, "HUMANEVAL_OVERRIDE_PATH": str(dataset_path)}
    code = (
        "from evalplus.evaluate import evaluate; "
        f"evaluate('humaneval', samples={str(samples)!r}, parallel={parallel})"
    )
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - t
    res = json.loads(samples.with_name(samples.stem + "_eval_results.json").read_text())
    return {
        (task, i): (r["base_status"] == "pass", r["plus_status"] == "pass")
        for task, rows in res["eval"].items()
        for i, r in enumerate(rows)
    }, seconds


def _baseline(path: Path, ids: list[str]) -> Verdicts:
    want = set(ids)
    out: Verdicts = {}
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if r["problem_id"] in want:
            out[(r["problem_id"], r["index"])] = (r["base_status"] == "pass", r["plus_status"] == "pass")
    return out


def _diff(base: Verdicts, got: Verdicts) -> tuple[list[str], list[str]]:
    if base.keys() != got.keys():
        sys.exit("the two runs judged different samples")
    lost = [f"{t} #{i}" for (t, i), v in base.items() if v[1] and not got[(t, i)][1]]
    gained = [f"{t} #{i}" for (t, i), v in base.items() if not v[1] and got[(t, i)][1]]
    return lost, gained


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=Path, default=SAMPLES, help="an EvalPlus samples file (HumanEval+)")
    ap.add_argument("--tasks", default="15,36,147", help="HumanEval+ task numbers, comma-separated, or 'all'")
    ap.add_argument("--load", type=int, default=os.cpu_count() or 2, help="spinning processes added")
    ap.add_argument("--parallel", type=int, default=os.cpu_count() or 2, help="workers of each tool")
    ap.add_argument("--baseline", type=Path, default=None, help="unloaded verdicts: a run's gold.jsonl")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if not DATASET.exists():
        sys.exit(f"HumanEval+ not found at {DATASET} (set RERANKEVAL_SHARED_DATA)")
    work = Path(tempfile.mkdtemp(prefix="rerankeval-load-"))
    dataset_path, samples, ids = _subset(work, args.tasks, args.samples)
    n = len(samples.read_text().splitlines())
    if args.baseline is not None:
        base, how = _baseline(args.baseline, ids), f"from {args.baseline}"
    else:
        base, t = _judge(dataset_path, samples, args.parallel, True)
        how = f"judged without the added load in {t:.0f} s"
    passes = sum(v[1] for v in base.values())
    print(f"{n} samples over {len(ids)} tasks; unloaded verdicts {how}: {passes} pass HumanEval+")
    print(f"added load: {args.load} spinning processes on {os.cpu_count()} cores; {args.parallel} workers")
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.load)]
    for p in spinners:
        p.start()
    try:
        rows = []
        for name, run in (
            ("evalplus.evaluate 0.3.1", lambda: _evalplus(dataset_path, samples, args.parallel)),
            ("rerankeval, confirmation off", lambda: _judge(dataset_path, samples, args.parallel, False)),
            ("rerankeval (confirmation on)", lambda: _judge(dataset_path, samples, args.parallel, True)),
        ):
            got, seconds = run()
            lost, gained = _diff(base, got)
            rows.append((name, lost, gained, seconds))
            print(f"{name:30s} passes lost {len(lost):3d}  gained {len(gained):3d}  {seconds:7.1f} s")
    finally:
        for p in spinners:
            p.terminate()
    for name, lost, gained, _ in rows:
        if lost or gained:
            print(f"  {name}: lost {', '.join(lost) or '-'}; gained {', '.join(gained) or '-'}")


if __name__ == "__main__":
    main()
