"""No-isolation lower bound: the calls EvalPlus makes, in long-lived worker processes (benchmark helper).

The same work as ``rerankeval evaluate``: each distinct (task, program) once, its entry point on
each base and plus input under EvalPlus's per-input time limits (SIGALRM), stopping at the first
failure, compared as EvalPlus does, with EvalPlus's ``reliability_guard`` in force. ``parallel``
workers pull the next program from a shared queue, longest jobs first (as rerankeval schedules).
What it leaves out is the isolation: no process per program, no sandbox. A program that kills its
worker (``os._exit``) is counted as done and the worker is replaced.

With ``--every-sample`` it runs every sample, duplicates included, in one worker: the bound as the
issue that set the speed target defines it ("the same calls made in one process").

Untrusted code runs here without isolation: only for measuring, on benchmark data.

    python benchmarks/_inprocess_bound.py DATASET.jsonl.gz SAMPLES.jsonl PARALLEL [--every-sample]
"""

from __future__ import annotations

import json
import multiprocessing as mp
import queue
import signal
import sys
import time
from typing import Any


def _worker(dataset_path: str, todo: Any, done: Any) -> None:
    sys.setrecursionlimit(10000)
    from rerankeval_evalplus import load_dataset
    from rerankeval_evalplus.compare import guard, make_checker
    from rerankeval_evalplus.judge import JudgeConfig, _time_limits, expected_outputs

    ds = load_dataset("humaneval", dataset_path)
    expected = expected_outputs(ds)
    cfg = JudgeConfig()

    class Timeout(Exception):
        pass

    def alarm(signum: int, frame: Any) -> None:
        raise Timeout

    signal.signal(signal.SIGALRM, alarm)
    guard()  # EvalPlus's environment for the programs (as in rerankeval's children)
    done.put(0)  # ready: loading the dataset is not part of the timed work
    while (item := todo.get()) is not None:
        task_id, code = item
        p = ds.problems[task_id]
        for seg in ("base", "plus"):
            limits, overall = _time_limits(expected[task_id][f"{seg}_time"], cfg)
            check = make_checker(
                {
                    "dataset": "humaneval",
                    "entry_point": p["entry_point"],
                    "inputs": p[f"{seg}_input"],
                    "expected": expected[task_id][seg],
                    "atol": p["atol"],
                }
            )
            g: dict[str, Any] = {}
            start = time.perf_counter()
            try:
                signal.setitimer(signal.ITIMER_REAL, overall)
                exec(code, g)  # noqa: S102
                fn = g[p["entry_point"]]
                signal.setitimer(signal.ITIMER_REAL, 0)
                for i, inp in enumerate(p[f"{seg}_input"]):
                    left = max(0.01, overall - (time.perf_counter() - start))
                    signal.setitimer(signal.ITIMER_REAL, min(limits[i], left))
                    out = fn(*inp)
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    if not check(i, out):
                        break
            except BaseException:  # noqa: BLE001
                signal.setitimer(signal.ITIMER_REAL, 0)
        done.put(1)


def main(dataset_path: str, samples_path: str, parallel: int, every_sample: bool = False) -> None:
    from rerankeval.core.types import content_hash
    from rerankeval_evalplus import load_dataset, read_samples

    ds = load_dataset("humaneval", dataset_path)
    samples = read_samples(samples_path, ds)
    if every_sample:
        unique = {(s.task_id, s.index): (s.task_id, s.solution) for s in samples}
        parallel = 1
    else:
        unique = {(s.task_id, content_hash(s.solution)): (s.task_id, s.solution) for s in samples}
    # longest first, as rerankeval orders its jobs: many inputs dominate the tail
    jobs = sorted(unique.values(), key=lambda j: -len(ds.problems[j[0]]["plus_input"]))
    ctx = mp.get_context("fork")
    todo, done = ctx.Queue(), ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(dataset_path, todo, done), daemon=True) for _ in range(parallel)
    ]
    for w in workers:
        w.start()
    for _ in workers:
        done.get()  # every worker has loaded the dataset
    t0 = time.perf_counter()
    for j in jobs:
        todo.put(j)
    finished, lost = 0, 0
    while finished + lost < len(jobs):
        try:
            finished += done.get(timeout=0.5)  # 1 per program (0 from a replaced worker's start)
        except queue.Empty:
            for k, w in enumerate(workers):
                if not w.is_alive():  # a program ended its worker: count it, replace the worker
                    lost += 1
                    workers[k] = ctx.Process(target=_worker, args=(dataset_path, todo, done), daemon=True)
                    workers[k].start()
    seconds = time.perf_counter() - t0
    for _ in workers:
        todo.put(None)
    for w in workers:
        w.join(timeout=5)
        if w.is_alive():
            w.kill()
    print(json.dumps({"seconds": seconds, "samples": len(samples), "programs": len(jobs), "lost": lost}))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--every-sample"]
    main(args[0], args[1], int(args[2]) if len(args) > 2 else 1, "--every-sample" in sys.argv)
