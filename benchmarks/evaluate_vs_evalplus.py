"""Times ``rerankeval evaluate`` against ``evalplus.evaluate`` 0.3.1 on the same samples, in one run.

Also times the no-isolation lower bound (the same calls, for the same distinct programs, in as many
long-lived worker processes, without isolation) and checks that the two tools' verdicts agree
sample by sample (base status, plus status and the reported failing input).

    python benchmarks/evaluate_vs_evalplus.py --source codet --tasks 20 --one-process-bound  # 20 tasks x 100
    python benchmarks/evaluate_vs_evalplus.py --source codet --tasks all --no-bound # the full CodeT set
    python benchmarks/evaluate_vs_evalplus.py --source codex --tasks all --no-bound # 32,200 Codex samples

With ``--dataset mbpp`` the candidates are each MBPP+ problem's reference solution plus K
deterministic mutants of it (see ``mutants.py``: flipped comparisons, off-by-one constants,
swapped operators, negated conditions, ``return None``, raises, endless loops, a hang, a large
allocation), so verdicts mix pass, fail and timeout; every difference is listed with the mutant's
kind. The in-process bound is not run on them (it would run hangs and large allocations unisolated).

    python benchmarks/evaluate_vs_evalplus.py --dataset mbpp --tasks 20 --mutants 3
    python benchmarks/evaluate_vs_evalplus.py --dataset mbpp --tasks Mbpp/255,Mbpp/630 --mutants 3
    python benchmarks/evaluate_vs_evalplus.py --dataset mbpp --tasks all --mutants 3 --parallel 2

Both tools read the same subset file (EvalPlus needs a sample for every task, so the subset is
written as its own dataset) and the same cached expected outputs, so neither pays for the ground
truth. rerankeval runs with --no-cache (every program really executes).
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
    "codet": (
        "codet",
        DATA / "codet" / "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl",
    ),
    "codex": ("codex", DATA / "codex_humaneval" / "humaneval_py_davinci002_t0.8_n200.jsonl"),
}
DATASET_FILES = {
    "humaneval": DATA / "humanevalplus" / "HumanEvalPlus.jsonl.gz",
    "mbpp": DATA / "mbppplus" / "MbppPlus.jsonl.gz",
}
OVERRIDE = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}


def _choose(problems: list[dict], tasks: str, have: set[str] | None = None) -> list[dict]:
    """The problems named by ``tasks``: a count (file order), ``all``, or comma-separated task ids."""
    pool = [p for p in problems if have is None or p["task_id"] in have]
    if tasks == "all":
        return pool
    if tasks.isdigit():
        return pool[: int(tasks)]
    wanted = [t.strip() for t in tasks.split(",") if t.strip()]
    known = {p["task_id"] for p in pool}
    unknown = [t for t in wanted if t not in known]
    if unknown:
        sys.exit(
            f"--tasks: unknown task id(s) {', '.join(unknown)} "
            f"(use N, 'all' or ids like {pool[0]['task_id']})"
        )
    return [p for p in pool if p["task_id"] in set(wanted)]


def _write_subset(work: Path, dataset: str, chosen: list[dict]) -> Path:
    subset = work / f"{dataset}-subset.jsonl.gz"
    with gzip.open(subset, "wt") as f:
        for p in chosen:
            f.write(json.dumps(p) + "\n")
    return subset


def _read_problems(dataset: str) -> list[dict]:
    with gzip.open(DATASET_FILES[dataset], "rt") as f:
        return [json.loads(x) for x in f]


def _prepare(work: Path, source: str, tasks: str, per_task: int | None) -> tuple[Path, Path, int]:
    from rerankeval_evalplus.importers import convert

    all_samples = work / "all.jsonl"
    fmt, path = SOURCES[source]
    convert(fmt, path, all_samples)
    rows = [json.loads(x) for x in all_samples.read_text().splitlines()]
    chosen = _choose(_read_problems("humaneval"), tasks, {r["task_id"] for r in rows})
    ids = {p["task_id"] for p in chosen}
    subset = _write_subset(work, "humaneval", chosen)
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


Kinds = dict[tuple[str, int], str]


def _prepare_mutants(work: Path, tasks: str, k: int, seed: int) -> tuple[Path, Path, int, Kinds]:
    """MBPP+ subset and samples: per task the reference solution, then up to ``k`` mutants of it.

    Returns the subset, the samples file, the sample count and each sample's kind by (task, index).
    """
    sys.path.insert(0, str(Path(__file__).parent))
    from mutants import mutants

    chosen = _choose(_read_problems("mbpp"), tasks)
    subset = _write_subset(work, "mbpp", chosen)
    samples = work / "samples.jsonl"
    kinds: Kinds = {}
    with open(samples, "w") as f:
        for p in chosen:
            reference = p["prompt"] + p["canonical_solution"]
            programs = [("reference", reference)] + [
                (m.kind, m.code) for m in mutants(reference, p["entry_point"], k, seed)
            ]
            for i, (kind, code) in enumerate(programs):
                kinds[(p["task_id"], i)] = kind
                f.write(json.dumps({"task_id": p["task_id"], "solution": code}) + "\n")
    return subset, samples, len(kinds), kinds


def _bound(
    subset: Path, samples: Path, parallel: int, env: dict[str, str], every_sample: bool = False
) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).with_name("_inprocess_bound.py")),
        str(subset),
        str(samples),
        str(parallel),
    ] + (["--every-sample"] if every_sample else [])
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def _compare(a_path: Path, b_path: Path, kinds: Kinds | None = None) -> tuple[int, list[str]]:
    a, b = json.loads(a_path.read_text()), json.loads(b_path.read_text())
    n, diffs = 0, []
    for task, rows in a["eval"].items():
        for i, (x, y) in enumerate(zip(rows, b["eval"].get(task, []), strict=False)):
            n += 1
            kx = (x["base_status"], x["plus_status"], x["base_fail_tests"], x["plus_fail_tests"])
            ky = (y["base_status"], y["plus_status"], y["base_fail_tests"], y["plus_fail_tests"])
            if kx != ky:
                label = f" ({kinds[(task, i)]})" if kinds and (task, i) in kinds else ""
                diffs.append(
                    f"{task} #{i}{label}: evalplus {kx[:2]} vs rerankeval {ky[:2]}"
                    + ("" if kx[:2] != ky[:2] else " (same statuses, different failing input)")
                )
    return n, diffs


def _mix(path: Path) -> dict[str, int]:
    """How many samples got each (base, plus) status pair in an EvalPlus results file."""
    mix: dict[str, int] = {}
    for rows in json.loads(path.read_text())["eval"].values():
        for r in rows:
            key = f"{r['base_status']}/{r['plus_status']}"
            mix[key] = mix.get(key, 0) + 1
    return dict(sorted(mix.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--dataset",
        choices=sorted(DATASET_FILES),
        default="humaneval",
        help="humaneval: samples from --source; mbpp: reference solutions and their mutants",
    )
    ap.add_argument(
        "--source", choices=sorted(SOURCES), default="codet", help="HumanEval+ samples (humaneval only)"
    )
    ap.add_argument(
        "--tasks", default="20", help="number of tasks (in file order), 'all', or comma-separated task ids"
    )
    ap.add_argument(
        "--per-task", type=int, default=None, help="samples per task (default: all; humaneval only)"
    )
    ap.add_argument("--mutants", type=int, default=3, help="mutants per reference solution (mbpp only)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the mutants (mbpp only)")
    ap.add_argument("--parallel", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--no-bound", action="store_true", help="skip the in-process lower bound")
    ap.add_argument(
        "--one-process-bound",
        action="store_true",
        help="also time every sample in one process without isolation (the issue's bound)",
    )
    ap.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"real data not found at {DATA} (set RERANKEVAL_SHARED_DATA)")
    if args.mutants < 0:
        sys.exit(f"--mutants must be >= 0, got {args.mutants}")
    work = Path(tempfile.mkdtemp(prefix="rerankeval-bench-"))
    kinds: Kinds | None = None
    if args.dataset == "mbpp":
        subset, samples, n, kinds = _prepare_mutants(work, args.tasks, args.mutants, args.seed)
        if args.tasks == "all":  # the release file itself: EvalPlus's own hash, its cached ground truth
            subset = DATASET_FILES["mbpp"]
        args.no_bound = True  # mutants hang and allocate: never run them without isolation
        what = f"reference + {args.mutants} mutants (seed {args.seed})"
    else:
        subset, samples, n = _prepare(work, args.source, args.tasks, args.per_task)
        what = args.source
    ds = args.dataset
    env = {**os.environ, OVERRIDE[ds]: str(subset), "PYTHONUNBUFFERED": "1"}
    # Ground truth once, for both tools (EvalPlus caches it by dataset hash).
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from rerankeval_evalplus import load_dataset, expected_outputs;"
            f"expected_outputs(load_dataset({ds!r}, {str(subset)!r}))",
        ],
        env=env,
        check=True,
        stderr=subprocess.DEVNULL,
    )
    ep_samples, re_samples = work / "ep.jsonl", work / "re.jsonl"
    shutil.copy(samples, ep_samples)
    shutil.copy(samples, re_samples)
    print(f"{n} samples over {args.tasks} tasks ({what}), {args.parallel} workers", flush=True)
    t_ep = _timed(
        [
            sys.executable,
            "-c",
            "from evalplus.evaluate import evaluate; "
            f"evaluate({ds!r}, samples={str(ep_samples)!r}, parallel={args.parallel})",
        ],
        env,
    )
    print(f"evalplus.evaluate      {t_ep:8.1f} s", flush=True)
    t_re = _timed(
        [
            sys.executable,
            "-m",
            "rerankeval.cli.main",
            "evaluate",
            "--dataset",
            ds,
            "--samples",
            str(re_samples),
            "--dataset-path",
            str(subset),
            "--parallel",
            str(args.parallel),
            "--no-cache",
        ],
        env,
    )
    print(f"rerankeval evaluate    {t_re:8.1f} s   ({t_ep / t_re:.2f}x faster than EvalPlus)", flush=True)
    t_bound = t_one = None
    if not args.no_bound:
        bound = _bound(subset, samples, args.parallel, env)
        t_bound = bound["seconds"]
        print(
            f"in-process lower bound {t_bound:8.1f} s   (rerankeval / bound = {t_re / t_bound:.2f}; "
            f"{args.parallel} long-lived workers without isolation, {bound['programs']} distinct programs)",
            flush=True,
        )
        if args.one_process_bound:
            t_one = _bound(subset, samples, 1, env, every_sample=True)["seconds"]
            print(
                f"one-process bound      {t_one:8.1f} s   (rerankeval / bound = {t_re / t_one:.2f}; "
                "every sample in one process, the issue's definition)",
                flush=True,
            )
    total, diffs = _compare(work / "ep_eval_results.json", work / "re_eval_results.json", kinds)
    mix = _mix(work / "ep_eval_results.json")
    print(f"verdicts: {total - len(diffs)}/{total} identical")
    print("EvalPlus's verdicts (base/plus): " + ", ".join(f"{k} {v}" for k, v in mix.items()))
    for d in diffs[:50]:
        print("  " + d)
    if args.json:
        figures = {
            "dataset": ds,
            "source": what,
            "tasks": args.tasks,
            "samples": n,
            "parallel": args.parallel,
            "evalplus_s": t_ep,
            "rerankeval_s": t_re,
            "bound_s": t_bound,
            "one_process_bound_s": t_one,
            "identical": total - len(diffs),
            "total": total,
            "verdict_mix": mix,
            "diffs": diffs,
        }
        args.json.write_text(json.dumps(figures, indent=2))
    if args.keep:
        shutil.copytree(work, args.keep, dirs_exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
