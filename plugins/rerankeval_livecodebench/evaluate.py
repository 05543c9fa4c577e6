"""Judging a LiveCodeBench samples file as LiveCodeBench's runner reports it (``rerankeval evaluate``).

The per-problem rows follow the runner's ``*_eval_all.json`` (``insert_output_evaluation``): the
problem's fields without its test cases, ``code_list``, ``graded_list`` (each program passed every
test) and ``pass@1`` (the fraction that passed), plus ``results``: each program's result list from
the grader (:mod:`rerankeval_livecodebench.grader`). The summary is the unbiased pass@k averaged over
problems, as LiveCodeBench's ``compute_metrics_from_results`` computes it (a program counts when every
result is positive; a k is reported only when every problem has at least k samples), overall and
per difficulty. Its runner reports pass@1 and pass@5; the larger ks of :data:`KS` are added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rerankeval.core.passk import pass_at_k
from rerankeval.core.types import Candidate
from rerankeval_livecodebench.data import DIFFICULTIES, LcbDataset
from rerankeval_livecodebench.grader import DEFAULT_TIMEOUT_S, grade, passed

if TYPE_CHECKING:
    from rerankeval.sandbox.executor import Executor

__all__ = ["KS", "eval_all", "summary"]

#: The ks reported (those no larger than every problem's sample count).
KS = (1, 5, 10, 25, 50, 100, 150, 200)


def eval_all(
    ds: LcbDataset,
    candidates: Sequence[Candidate],
    *,
    timeout_s: int = DEFAULT_TIMEOUT_S,
    executor: Executor | None = None,
    parallel: int | None = None,
    cache: bool = True,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per problem with samples, in dataset order (see the module docstring).

    Raises:
        InputError: A candidate of a problem outside the dataset, or a bad time limit.
        HarnessFaultError: The sandbox failed (never a verdict).
    """
    results = grade(
        ds.problems,
        [(c.problem_id, c.code) for c in candidates],
        dataset_hash=ds.hash,
        timeout_s=timeout_s,
        executor=executor,
        parallel=parallel,
        cache=cache,
        progress=progress,
    )
    by_problem: dict[str, list[tuple[Candidate, list[bool | int]]]] = {}
    for c, res in zip(candidates, results, strict=True):
        by_problem.setdefault(c.problem_id, []).append((c, res))
    rows = []
    for qid, prob in ds.problems.items():
        if qid not in by_problem:
            continue
        graded = sorted(by_problem[qid], key=lambda cr: cr[0].index)
        ok = [passed(res) and len(res) == len(prob.tests) for _, res in graded]
        rows.append(
            {
                "question_title": prob.title,
                "question_id": qid,
                "platform": prob.platform,
                "contest_date": prob.contest_date.isoformat(),
                "starter_code": prob.starter_code,
                "difficulty": prob.difficulty,
                "code_list": [c.code for c, _ in graded],
                "graded_list": ok,
                "pass@1": sum(ok) / len(ok),
                "results": [res for _, res in graded],
            }
        )
    return rows


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """pass@k over the problems, overall and per difficulty (``{"all": {...}, "easy": {...}, ...}``;
    a difficulty without problems is left out), and the problem and sample counts."""

    def at_k(group: Sequence[dict[str, Any]]) -> dict[str, float]:
        n_min = min(len(r["graded_list"]) for r in group)
        return {
            f"pass@{k}": sum(pass_at_k(len(r["graded_list"]), sum(r["graded_list"]), k) for r in group)
            / len(group)
            for k in KS
            if k <= n_min
        }

    out: dict[str, Any] = {
        "problems": len(rows),
        "samples": sum(len(r["graded_list"]) for r in rows),
    }
    if not rows:
        return out
    out["all"] = at_k(rows)
    for d in DIFFICULTIES:
        group = [r for r in rows if r["difficulty"] == d]
        if group:
            out[d] = {**at_k(group), "problems": len(group)}
    return out
