"""Per-document metrics of the ``*_rm`` tasks (lm-eval's ``process_results``).

Every filter of these tasks returns one row per document that already names its metric and
value (see :mod:`rerankeval_lmeval.filters`); lm-eval reports each as ``<metric>,<filter>``
(``pass@1,plain``, ``pass@1,rerank-coderm``, ``pass@n,oracle``) and averages it over documents
with the ``mean`` aggregation declared in the task's ``metric_list``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rerankeval_lmeval.filters import parse_row

__all__ = ["METRICS", "process_results"]

#: The metric names a row may carry (each must be in the task's ``metric_list``; the task adds the
#: ``pass@k`` of its ``pass_at_k`` option).
METRICS = ("pass@1", "pass@n")


def process_results(doc: Mapping[str, Any], results: Sequence[Any]) -> dict[str, float]:
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
        return {str(k): float(v) for k, v in rows[0]["metrics"].items()}
    return {str(rows[0]["metric"]): float(rows[0]["value"])}


def _row(value: Any) -> dict[str, Any] | None:
    try:
        return parse_row(value)
    except (TypeError, ValueError):
        return None
