"""Orchestration of a rerank run: the engine's steps wired together, with caching and resume.

:func:`run_rerank` takes a :class:`RerankConfig`, a :class:`Benchmark` host adapter (problems
and ground truth as named views; each host plugin implements one) and the candidates, and writes the run
directory documented in :mod:`rerankeval.runs`.
"""

from rerankeval.pipeline.config import RerankConfig, RerankerChoice
from rerankeval.pipeline.inputs import Benchmark, TestCase, Verdict, gold_row, read_tests, verdict_of_row
from rerankeval.pipeline.run import RunResult, run_rerank

__all__ = [
    "Benchmark",
    "RerankConfig",
    "RerankerChoice",
    "RunResult",
    "TestCase",
    "Verdict",
    "gold_row",
    "read_tests",
    "run_rerank",
    "verdict_of_row",
]
