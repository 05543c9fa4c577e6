"""The benchmarks behind the ``*_rm`` tasks, each through its engine adapter.

A task's session asks its :class:`TaskBenchmark` for three things: the benchmark adapter
(:class:`rerankeval.pipeline.Benchmark`: problems, the benchmark's own grader, its views), how a
response becomes the program that is judged and reranked, and the problems a test generator
writes tests for. Nothing else in the task knows which benchmark it runs.

============================  ===========================  ==========================================
task                          adapter                      extraction
============================  ===========================  ==========================================
``humaneval_plus_rm``         EvalPlus (``plus``, ``base``)  :func:`rerankeval_lmeval.extract.extract_program`
``mbpp_plus_rm``              EvalPlus (``plus``, ``base``)  the same
``livecodebench_rm``          LiveCodeBench (``pass``)     LiveCodeBench's own (the last fenced block)
============================  ===========================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rerankeval.core.types import Problem
from rerankeval.pipeline.inputs import Benchmark

__all__ = ["EVALPLUS", "TaskBenchmark", "load_benchmark"]

#: The EvalPlus datasets (the rest is LiveCodeBench).
EVALPLUS = ("humaneval", "mbpp")


@dataclass(frozen=True)
class TaskBenchmark:
    """One task's benchmark.

    Attributes:
        adapter: The engine adapter (ground truth as named views, the primary first).
        extract: ``(problem_id, response) -> program``: the code judged and reranked.
        test_problems: The problems in dataset order as a test generator sees them (the order fixes
            each problem's generation seed, see :mod:`rerankeval_lmeval.test_generation`).
    """

    adapter: Benchmark
    extract: Callable[[str, str], str]
    test_problems: tuple[Problem, ...]

    @property
    def name(self) -> str:
        return self.adapter.name


def _evalplus(name: str, path: str | None, style: str, workers: int | None) -> TaskBenchmark:
    from rerankeval_evalplus.benchmark import EvalPlusBenchmark
    from rerankeval_lmeval.data import code_prefix, load_evalplus
    from rerankeval_lmeval.extract import extract_program

    ds = load_evalplus(name, path)
    problems = ds.problems

    def extract(pid: str, response: str) -> str:
        p = problems[pid]
        return extract_program(response, p["entry_point"], code_prefix(name, p["prompt"], style), p["prompt"])

    return TaskBenchmark(
        EvalPlusBenchmark(ds, parallel=workers, cache=True),
        extract,
        # what `rerankeval tests generate` gives the generator (the reference: the canonical body)
        tuple(
            Problem(t, p["prompt"], p["entry_point"], p["canonical_solution"]) for t, p in problems.items()
        ),
    )


def _livecodebench(metadata: Mapping[str, Any], workers: int | None) -> TaskBenchmark:
    from rerankeval_livecodebench import LiveCodeBenchBenchmark
    from rerankeval_livecodebench.prompts import extract_code
    from rerankeval_lmeval.data import load_livecodebench

    ds = load_livecodebench(metadata)
    bench = LiveCodeBenchBenchmark(ds, parallel=workers)
    return TaskBenchmark(
        bench,
        lambda pid, response: extract_code(response),
        tuple(p.core() for p in ds.problems.values()),
    )


def load_benchmark(
    name: str,
    metadata: Mapping[str, Any] | None = None,
    *,
    prompt_style: str = "instruct",
    workers: int | None = None,
) -> TaskBenchmark:
    """The benchmark of a task over the dataset its metadata configures (each file is read once
    per process, see :mod:`rerankeval_lmeval.data`).

    Raises:
        InputError: A missing or malformed dataset file, or an empty date window.
    """
    from rerankeval_lmeval.data import dataset_path

    if name in EVALPLUS:
        return _evalplus(name, dataset_path(name, dict(metadata or {})), prompt_style, workers)
    return _livecodebench(dict(metadata or {}), workers)
