"""EvalPlus 0.3.1's results file (``<samples>_eval_results.json``) and its pass@k summary."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rerankeval.core.passk import estimate_pass_at_k, mean
from rerankeval_evalplus.dataset import EvalPlusDataset
from rerankeval_evalplus.judge import Verdict
from rerankeval_evalplus.samples import Sample


def _failed_inputs(
    status: str | None, details: Sequence[bool], inputs: list[Any], test_details: bool
) -> list[Any]:
    if status == "pass" or not details:
        return []
    if test_details:
        return [inputs[i] for i in range(len(details)) if not details[i]]
    return [inputs[len(details) - 1]]


def eval_results(
    dataset: EvalPlusDataset,
    samples: Sequence[Sample],
    verdicts: Sequence[Verdict],
    test_details: bool = False,
) -> dict[str, Any]:
    """Builds the results dict in EvalPlus's schema (``date``, ``hash``, ``eval``: per task, per sample)."""
    from evalplus.data.mbpp import mbpp_serialize_inputs

    by_task: dict[str, list[tuple[Sample, Verdict]]] = defaultdict(list)
    for s, v in zip(samples, verdicts, strict=True):
        by_task[s.task_id].append((s, v))
    out: dict[str, Any] = {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "hash": dataset.hash,
        "eval": {},
    }
    for task_id in dataset.problems:
        if task_id not in by_task:
            continue
        problem = dataset.problems[task_id]
        rows = []
        for s, v in sorted(by_task[task_id], key=lambda sv: sv[0].index):
            base_fail = _failed_inputs(v.base_status, v.base_details, problem["base_input"], test_details)
            plus_fail = _failed_inputs(v.plus_status, v.plus_details, problem["plus_input"], test_details)
            if dataset.name == "mbpp":
                base_fail = mbpp_serialize_inputs(task_id, base_fail)
                plus_fail = mbpp_serialize_inputs(task_id, plus_fail)
            rows.append(
                {
                    "task_id": task_id,
                    "solution": s.solution,
                    "base_status": v.base_status,
                    "plus_status": v.plus_status,
                    "base_fail_tests": base_fail,
                    "plus_fail_tests": plus_fail,
                }
            )
        out["eval"][task_id] = rows
    return out


def pass_at_k_summary(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """pass@1/10/100 as EvalPlus prints them: ``{"base": {...}, "plus": {...}}``.

    A k is reported only where every task has at least k samples.
    """
    rows = list(results["eval"].values())
    total = [len(r) for r in rows]
    base = [sum(x["base_status"] == "pass" for x in r) for r in rows]
    plus = [sum(x["base_status"] == x["plus_status"] == "pass" for x in r) for r in rows]
    summary: dict[str, dict[str, float]] = {"base": {}, "plus": {}}
    for k in (1, 10, 100):
        if total and min(total) >= k:
            summary["base"][f"pass@{k}"] = mean(estimate_pass_at_k(total, base, k))
            if any(x["plus_status"] is not None for r in rows for x in r):
                summary["plus"][f"pass@{k}"] = mean(estimate_pass_at_k(total, plus, k))
    return summary
