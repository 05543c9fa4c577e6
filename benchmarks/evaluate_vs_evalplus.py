"""Times ``rerankeval evaluate`` against ``evalplus.evaluate`` 0.3.1 on the same samples, in one run.

Also times the no-isolation lower bound (the same calls, for the same distinct programs, in as many
long-lived worker processes, without isolation) and checks that the two tools' verdicts agree
sample by sample (base status, plus status and the reported failing input).

    python benchmarks/evaluate_vs_evalplus.py --source codet --tasks 20 --one-process-bound  # 20 tasks x 100
    python benchmarks/evaluate_vs_evalplus.py --source codet --tasks all --no-bound # the full CodeT set
    python benchmarks/evaluate_vs_evalplus.py --source codex --tasks all --no-bound # 32,200 Codex samples

Both tools read the same HumanEval+ subset file (EvalPlus needs a sample for every task, so the
subset is written as its own dataset) and the same cached expected outputs, so neither pays for
the ground truth. rerankeval runs with --no-cache (every program really executes).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RERANKEVAL_SHARED_DATA", ROOT.parent / "shared" / "data"))
SOURCES = {
    "codet": ("codet", DATA / "codet" / "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl"),
    "codex": ("codex", DATA / "codex_humaneval" / "humaneval_py_davinci002_t0.8_n200.jsonl"),
}


def _prepare(work: Path, source: str, tasks: str, per_task: int | None) -> tuple[Path, Path, int]:
    from rerankeval_evalplus.importers import convert

    all_samples = work / "all.jsonl"
    fmt, path = SOURCES[source]
    convert(fmt, path, all_samples)
    rows = [json.loads(x) for x in all_samples.read_text().splitlines()]
    with gzip.open(DATA / "humanevalplus" / "HumanEvalPlus.jsonl.gz", "rt") as f:
        problems = [json.loads(x) for x in f]
    have = {r["task_id"] for r in rows}
    chosen = [p for p in problems if p["task_id"] in have]
    if tasks != "all":
        chosen = chosen[: int(tasks)]
    ids = {p["task_id"] for p in chosen}
    subset = work / "HumanEvalPlus-subset.jsonl.gz"
    with gzip.open(subset, "wt") as f:
        for p in chosen:
            f.write(json.dumps(p) + "\n")
    count: dict[str, int] = {}
    samples = work / "samples.jsonl"
    n = 0
    with open(samples, "w") as f:
        for r in rows:
            if r["task_id"] in ids and count.get(r["task_id"], 0) < (per_task or 10**9):
                count[r["task_id"]] = count.get(r["task_id"], 0) + 1
                f.write(json.dumps(r) + "\n")
                n += 1
    return subset, samples, n


def _bound(subset: Path, samples: Path, parallel: int, env: dict[str, str], every_sample: bool = False) -> dict:
    cmd = [sys.executable, str(Path(__file__).with_name("_inprocess_bound.py")), str(subset), str(samples),
           str(parallel)] + (["--every-sample"] if every_sample else [])
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def _compare(a_path: Path, b_path: Path) -> tuple[int, list[str]]:
    a, b = json.loads(a_path.read_text()), json.loads(b_path.read_text())
    n, diffs = 0, []
    for task, rows in a["eval"].items():
        for i, (x, y) in enumerate(zip(rows, b["eval"].get(task, []), strict=False)):
            n += 1
            kx = (x["base_status"], x["plus_status"], x["base_fail_tests"], x["plus_fail_tests"])
            ky = (y["base_status"], y["plus_status"], y["base_fail_tests"], y["plus_fail_tests"])
            if kx != ky:
                diffs.append(f"{task} #{i}: evalplus {kx[:2]} vs rerankeval {ky[:2]}"
                             + ("" if kx[:2] != ky[:2] else " (same statuses, different failing input)"))
    return n, diffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", choices=sorted(SOURCES), default="codet")
    ap.add_argument("--tasks", default="20", help="number of tasks (in HumanEval order) or 'all'")
    ap.add_argument("--per-task", type=int, default=None, help="samples per task (default: all)")
    ap.add_argument("--parallel", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--no-bound", action="store_true", help="skip the in-process lower bound")
    ap.add_argument("--one-process-bound", action="store_true",
                    help="also time every sample in one process without isolation (the issue's bound)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"real data not found at {DATA} (set RERANKEVAL_SHARED_DATA)")
    work = Path(tempfile.mkdtemp(prefix="rerankeval-bench-"))
    subset, samples, n = _prepare(work, args.source, args.tasks, args.per_task)
    env = {**os.environ, "HUMANEVAL_OVERRIDE_PATH": str(subset), "PYTHONUNBUFFERED": "1"}
    # Ground truth once, for both tools (EvalPlus caches it by dataset hash).
    subprocess.run([sys.executable, "-c", "from rerankeval_evalplus import load_dataset, expected_outputs;"
                    f"expected_outputs(load_dataset('humaneval', {str(subset)!r}))"], env=env, check=True,
                   stderr=subprocess.DEVNULL)
    ep_samples, re_samples = work / "ep.jsonl", work / "re.jsonl"
    shutil.copy(samples, ep_samples)
    shutil.copy(samples, re_samples)
    print(f"{n} samples over {args.tasks} tasks ({args.source}), {args.parallel} workers", flush=True)
    t_ep = _timed([sys.executable, "-c", "from evalplus.evaluate import evaluate; "
                   f"evaluate('humaneval', samples={str(ep_samples)!r}, parallel={args.parallel})"], env)
    print(f"evalplus.evaluate      {t_ep:8.1f} s", flush=True)
    t_re = _timed([sys.executable, "-m", "rerankeval.cli.main", "evaluate", "--dataset", "humaneval", "--samples",
                   str(re_samples), "--dataset-path", str(subset), "--parallel", str(args.parallel), "--no-cache"], env)
    print(f"rerankeval evaluate    {t_re:8.1f} s   ({t_ep / t_re:.2f}x faster than EvalPlus)", flush=True)
    t_bound = t_one = None
    if not args.no_bound:
        bound = _bound(subset, samples, args.parallel, env)
        t_bound = bound["seconds"]
        print(f"in-process lower bound {t_bound:8.1f} s   (rerankeval / bound = {t_re / t_bound:.2f}; "
              f"{args.parallel} long-lived workers without isolation, {bound['programs']} distinct programs)",
              flush=True)
        if args.one_process_bound:
            t_one = _bound(subset, samples, 1, env, every_sample=True)["seconds"]
            print(f"one-process bound      {t_one:8.1f} s   (rerankeval / bound = {t_re / t_one:.2f}; "
                  "every sample in one process, the issue's definition)", flush=True)
    total, diffs = _compare(work / "ep_eval_results.json", work / "re_eval_results.json")
    print(f"verdicts: {total - len(diffs)}/{total} identical")
    for d in diffs[:50]:
        print("  " + d)
    if args.json:
        figures = {"source": args.source, "tasks": args.tasks, "samples": n, "parallel": args.parallel,
                   "evalplus_s": t_ep, "rerankeval_s": t_re, "bound_s": t_bound, "one_process_bound_s": t_one,
                   "identical": total - len(diffs), "total": total, "diffs": diffs}
        args.json.write_text(json.dumps(figures, indent=2))
    if args.keep:
        shutil.copytree(work, args.keep, dirs_exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
