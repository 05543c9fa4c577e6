"""Per-document metrics of the ``*_rm`` tasks (lm-eval's ``process_results``).

Every filter of these tasks returns one row per document that already names its metric and
value (see :mod:`rerankeval_lmeval.filters`); lm-eval reports each as ``<metric>,<filter>``
(``pass@1,plain``, ``pass@1,rerank-coderm``, ``pass@n,oracle``) and averages it over documents
with the ``mean`` aggregation declared in the task's ``metric_list``.

The reranker filters also report the quality of their reward as a reward model, with the same
functions as ``rerankeval rerank``'s ``rm_quality`` (pooled over every candidate of every document,
so their aggregations, not a mean, compute them from the per-document values):

* ``rm_auc,<filter>``: ROC-AUC of the reranker's score against the ground truth (for ``coderm`` the
  tests passed: ``rm_quality``'s unit-test reward; for ``rm`` the reward model's score);
* ``rm_ece,<filter>``: expected calibration error (10 equal-width bins) of the probability the
  reranker's reward model gave each candidate (rerankers that score with a model only).

Documents that name a ``difficulty`` (``livecodebench_rm``) also report ``pass@1`` and ``pass@n`` per
difficulty, as LiveCodeBench does: ``pass@1_easy,<filter>`` is the mean over the easy documents
only (a document reports only its own difficulty's key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rerankeval.core.rm_metrics import expected_calibration_error, roc_auc
from rerankeval_lmeval.filters import parse_row

__all__ = ["METRICS", "QUALITY", "pooled_auc", "pooled_ece", "process_results"]

#: The metric names a row may carry (each must be in the task's ``metric_list``; the task adds the
#: ``pass@k`` of its ``pass_at_k`` option).
METRICS = ("pass@1", "pass@n")
#: The reward-quality metrics of the reranker filters (aggregated by :func:`pooled_auc`, :func:`pooled_ece`).
QUALITY = ("rm_auc", "rm_ece")


def process_results(doc: Mapping[str, Any], results: Sequence[Any]) -> dict[str, Any]:
    """``{metric: value}`` of one document from the row its filter produced.

    ``results`` holds one entry per request of the document: one row, or, with per-repeat seeds,
    the row on the first request and :data:`~rerankeval_lmeval.filters.SAME_AS_FIRST` on the others.

    Raises:
        TypeError: ``results`` does not hold one row of a rerankeval filter (a foreign filter
            in the task's ``filter_list``).
    """
    rows = [r for r in map(_row, results) if r is not None and r.get("metric") in METRICS]
    if len(rows) != 1:
        raise TypeError(
            f"{doc.get('task_id')}: expected one row of a rerankeval filter, got "
            f"{str(results)[:200]}. Every filter of a *_rm task must be one of "
            "rerankeval_lmeval.filters"
        )
    if isinstance(rows[0].get("metrics"), dict):  # the plain filter: pass@1 and the pass@k beside it
        out = {str(k): float(v) for k, v in rows[0]["metrics"].items()}
    else:
        out = {str(rows[0]["metric"]): float(rows[0]["value"]), **_quality(rows[0])}
    group = doc.get("difficulty")
    if group:
        out |= {f"{k}_{group}": out[k] for k in METRICS if k in out}
    return out


def _quality(row: Mapping[str, Any]) -> dict[str, Any]:
    """The per-document values of :data:`QUALITY` from a reranker filter's row (none for others)."""
    cands = row.get("candidates") or []
    if "reranker" not in row or not cands:
        return {}
    gold = [bool(c["passed"]) for c in cands]
    out: dict[str, Any] = {}
    scores = [c.get("reward") for c in cands]
    if all(x is not None for x in scores):  # a NaN reward is logged as null
        out["rm_auc"] = {"scores": scores, "gold": gold}
    probs = [c.get("prob") for c in cands]
    if all(x is not None for x in probs):
        out["rm_ece"] = {"probs": probs, "gold": gold}
    return out


def pooled_auc(items: Sequence[Mapping[str, Any]]) -> float:
    """ROC-AUC over every candidate of every document (lm-eval aggregation of ``rm_auc``)."""
    return roc_auc(
        [float(s) for it in items for s in it["scores"]], [bool(g) for it in items for g in it["gold"]]
    )


def pooled_ece(items: Sequence[Mapping[str, Any]]) -> float:
    """ECE, 10 equal-width bins, over every candidate of every document (aggregation of ``rm_ece``)."""
    return expected_calibration_error(
        [float(p) for it in items for p in it["probs"]], [bool(g) for it in items for g in it["gold"]]
    )


def _row(value: Any) -> dict[str, Any] | None:
    try:
        return parse_row(value)
    except (TypeError, ValueError):
        return None
