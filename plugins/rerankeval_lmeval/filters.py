"""lm-eval filters of the ``*_rm`` tasks: one generation pass, several scores side by side.

Each filter receives all documents' N responses in one ``apply(resps, docs)`` call and returns,
per document, one row as a JSON string: the metric it reports, its value for that document, and
what it looked at (which candidate was picked, each candidate's tests passed and reward). lm-eval
logs these rows under ``filtered_resps`` with ``--log_samples`` (it writes every filtered response
as a string, hence JSON: ``json.loads(sample["filtered_resps"][0])``, or :func:`parse_row`);
:func:`rerankeval_lmeval.metrics.process_results` turns them into the per-document metric, and
lm-eval averages over documents.

``AllSamples`` (``pass@1,plain``): unbiased pass@1 over all N samples (fraction correct), and the
unbiased pass@k (Chen et al. 2021) for each k of the ``pass_at_k`` option up to N
(``pass@10,plain``, ``pass@100,plain``).
``Rerank`` (``pass@1,<name>``): expected accuracy of a uniform pick among the candidates the
reranker ties for first (``reranker: first`` keeps sample 0). Its row also carries what the
reward-quality metrics read (see :mod:`rerankeval_lmeval.metrics`): the reranker's score and the
ground truth of every candidate, and the probability its reward model gave each (rerankers that
score with a model).
``Oracle`` (``pass@n,oracle``): 1 when any of the N candidates is correct.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lm_eval.api.filter import Filter

from rerankeval.core.rerank import Ranking
from rerankeval.errors import InputError
from rerankeval_lmeval.session import Evaluation, RerankSession, get_session

log = logging.getLogger(__name__)

__all__ = ["SAME_AS_FIRST", "AllSamples", "Oracle", "Rerank", "group_by_document", "parse_row"]


#: What a filter returns for the 2nd..Nth request of a document when each repeat is its own
#: request (per-repeat seeds): the document's row is on its first request.
SAME_AS_FIRST = json.dumps({"see": "the first request of this document"})


def parse_row(value: Any) -> dict[str, Any] | None:
    """A filter row from what lm-eval holds or logs (a JSON string); None for :data:`SAME_AS_FIRST`."""
    row = json.loads(value) if isinstance(value, str) else value
    return row if isinstance(row, dict) and "metric" in row else None


def group_by_document(
    resps: Sequence[Sequence[str]], docs: Sequence[Mapping[str, Any]]
) -> tuple[list[Mapping[str, Any]], list[list[str]], list[int]]:
    """Joins consecutive requests of the same document (lm-eval lists a document's requests together).

    Returns:
        One document per group, its responses in request order, and the position of its first request.
    """
    out_docs: list[Mapping[str, Any]] = []
    out_resps: list[list[str]] = []
    firsts: list[int] = []
    for pos, (r, doc) in enumerate(zip(resps, docs, strict=True)):
        if out_docs and doc["task_id"] == out_docs[-1]["task_id"]:
            out_resps[-1].extend(r)
        else:
            out_docs.append(doc)
            out_resps.append(list(r))
            firsts.append(pos)
    return out_docs, out_resps, firsts


class _SessionFilter(Filter):
    """A filter bound to its task's :class:`RerankSession` (the task passes the session key).

    Subclasses implement :meth:`rows`: one row per document, computed for all documents at once.
    """

    def __init__(self, session: str | None = None, **kwargs: Any) -> None:
        if session is None:
            raise TypeError(
                f"{type(self).__name__} needs the 'session' argument that RerankTask adds; "
                "use it inside a *_rm task (class: rerankeval_lmeval.task.RerankTask)"
            )
        self.session: RerankSession = get_session(session)
        super().__init__(**kwargs)

    def apply(self, resps: Iterable[Sequence[str]], docs: Sequence[Mapping[str, Any]]) -> list[str]:
        resps = list(resps)
        group_docs, group_resps, firsts = group_by_document(resps, docs)
        rows = self.rows(self.session.evaluate(group_resps, group_docs))
        out = [SAME_AS_FIRST] * len(resps)
        for pos, row in zip(firsts, rows, strict=True):
            out[pos] = json.dumps(row)
        return out

    def rows(self, ev: Evaluation) -> list[dict[str, Any]]:
        raise NotImplementedError


def _candidate_row(ev: Evaluation, d: int, i: int) -> dict[str, Any]:
    """The candidate's ground truth as ``gold.jsonl`` of ``rerankeval rerank`` holds it: ``passed``
    (the primary view), ``<view>_passed`` for the others, ``<view>_frac`` and the grader's record
    (EvalPlus: ``base_status``, ``plus_status``; LiveCodeBench: ``lcb_results``)."""
    from rerankeval.pipeline.inputs import gold_row

    row = gold_row(ev.verdicts[d][i], ev.views)
    del row["problem_id"]
    return row


class AllSamples(_SessionFilter):
    """Plain pass@1 and pass@k: every candidate's program and verdict, the fraction that is correct,
    and the unbiased pass@k for the configured ks up to the number of candidates."""

    def rows(self, ev: Evaluation) -> list[dict[str, Any]]:
        from rerankeval.core.passk import pass_at_k

        out = []
        for d, golds in enumerate(ev.golds):
            cands = [_candidate_row(ev, d, i) | {"program": ev.programs[d][i]} for i in range(len(golds))]
            n, c = len(golds), sum(golds)
            metrics = {f"pass@{k}": pass_at_k(n, c, k) for k in self.session.options.ks if 1 < k <= n}
            out.append(
                {
                    "metric": "pass@1",
                    "value": c / n if n else 0.0,
                    "n": n,
                    "correct": c,
                    "metrics": {"pass@1": c / n if n else 0.0, **metrics},
                    "candidates": cands,
                }
            )
        return out


class Oracle(_SessionFilter):
    """Oracle pass@N: whether any candidate is correct (the ceiling of every reranker)."""

    def rows(self, ev: Evaluation) -> list[dict[str, Any]]:
        return [
            {
                "metric": "pass@n",
                "value": 1.0 if any(g) else 0.0,
                "n": len(g),
                "correct": sum(g),
                "correct_indexes": [i for i, ok in enumerate(g) if ok],
            }
            for g in ev.golds
        ]


class Rerank(_SessionFilter):
    """Reranked pass@1 with a registered reranker (``rerankeval.rerankers`` entry points).

    Args:
        session: Key of the task's session (added by the task).
        reranker: Registered reranker name (``coderm``, ``codet``, ``mbr-exec``, ``first``, ``random``...).
        reranker_args: Keyword arguments for the reranker (e.g. ``{size: linear}`` for codet).
    """

    def __init__(
        self,
        session: str | None = None,
        reranker: str = "coderm",
        reranker_args: Mapping[str, Any] | None = None,
        label: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(session=session, **kwargs)
        self.reranker = reranker
        self.reranker_args = dict(reranker_args or {})
        self.label = label or reranker

    def rows(self, ev: Evaluation) -> list[dict[str, Any]]:
        if self.label not in ev.rankings:
            raise InputError(
                f"filter {self.label!r} is not one of the task's rerankers ({', '.join(ev.rankings)}): "
                "a Rerank filter must be listed in the task's filter_list"
            )
        probs = ev.probs.get(self.label)
        return [
            self._row(ev, d, r, probs[d] if probs else None) for d, r in enumerate(ev.rankings[self.label])
        ]

    def _row(
        self, ev: Evaluation, d: int, ranking: Ranking, probs: tuple[float, ...] | None
    ) -> dict[str, Any]:
        golds = ev.golds[d]
        tests = ev.tests_passed.get(ev.task_ids[d])
        cands = []
        for i in range(len(golds)):
            row = _candidate_row(ev, d, i) | {"reward": _json_float(ranking.scores[i])}
            if probs is not None:
                row["prob"] = _json_float(probs[i])
            if tests is not None:
                row |= {"tests_passed": tests[0][i], "n_tests": tests[1]}
            cands.append(row)
        pick = ranking.pick if ranking.chosen else None
        return {
            "metric": "pass@1",
            "value": ranking.expected_accuracy(golds),
            "reranker": self.reranker,
            "picked": pick,
            "tied": list(ranking.chosen),
            "picked_passed": bool(golds[pick]) if pick is not None else False,
            "picked_program": ev.programs[d][pick] if pick is not None else "",
            "candidates": cands,
        }


def _json_float(x: float) -> float | None:
    return None if x != x else float(x)  # NaN is not JSON
