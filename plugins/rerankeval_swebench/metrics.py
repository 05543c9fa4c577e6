"""What a reranked SWE-bench selection achieves, and how good the reward model is, from known labels.

Resolve rates are given over two denominators: the instances that have labelled candidates
(what the reranker could act on) and every instance of the benchmark file (the leaderboard's
denominator: an instance without candidates counts as unresolved).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rerankeval.core.metrics import oracle_pass_at_n, plain_pass_at_1, reranked_pass_at_1
from rerankeval.core.rerank import Ranking
from rerankeval.core.rm_metrics import ScoredProblem
from rerankeval.core.rm_quality import QualityConfig, rm_quality
from rerankeval_swebench.data import SweCandidate
from rerankeval_swebench.labels import Key, fully_labelled

#: Per candidate key: (score, prob).
Scores = Mapping[Key, tuple[float, float]]


def scored_problems(
    groups: Mapping[str, Sequence[SweCandidate]], scores: Scores, labels: Mapping[Key, bool]
) -> list[ScoredProblem]:
    """One :class:`ScoredProblem` per fully labelled instance."""
    out = []
    for iid in fully_labelled(groups, labels):
        keys = [(c.instance_id, c.index) for c in groups[iid]]
        out.append(
            ScoredProblem(
                iid,
                tuple(scores[k][0] for k in keys),
                tuple(labels[k] for k in keys),
                tuple(scores[k][1] for k in keys),
            )
        )
    return out


def _rates(count: float, rate: float, n_labelled: int, n_benchmark: int) -> dict[str, float]:
    """A resolved count with its rate over the labelled instances (from the engine's metric) and
    over the whole benchmark file."""
    return {
        "resolved": count,
        "rate_labelled": rate if n_labelled else math.nan,
        "rate_benchmark": count / n_benchmark if n_benchmark else math.nan,
    }


def _golds(groups: Mapping[str, Sequence[SweCandidate]], labels: Mapping[Key, bool]) -> dict[str, list[bool]]:
    """Per fully labelled instance, its candidates' labels in candidate order."""
    return {iid: [labels[(iid, c.index)] for c in groups[iid]] for iid in fully_labelled(groups, labels)}


def _pick_rates(
    golds: Mapping[str, Sequence[bool]], rankings: Mapping[str, Ranking], n_benchmark: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Rates of the written pick (the lowest index among the tied) and of a uniform pick among the
    tied (the engine's reranked pass@1)."""
    ranked = [rankings[iid] for iid in golds]
    g = list(golds.values())
    picks = [Ranking(r.scores, (r.pick,)) for r in ranked]
    n = len(g)
    pick = _rates(
        sum(float(x[r.pick]) for r, x in zip(ranked, g, strict=True)),
        reranked_pass_at_1(picks, g),
        n,
        n_benchmark,
    )
    expected = _rates(
        sum(r.expected_accuracy(x) for r, x in zip(ranked, g, strict=True)),
        reranked_pass_at_1(ranked, g),
        n,
        n_benchmark,
    )
    return pick, expected


def selection_metrics(
    groups: Mapping[str, Sequence[SweCandidate]],
    rankings: Mapping[str, Ranking],
    labels: Mapping[Key, bool],
    n_benchmark: int,
) -> dict[str, Any]:
    """Resolved counts and rates of the reranked pick and of the reference points.

    ``rerank`` scores the written pick (lowest index among the tied); ``rerank_expected`` a
    uniform pick among the tied; ``first`` the first candidate; ``random`` a uniform pick;
    ``oracle`` any resolved candidate; ``runs`` each run alone (its candidate, if any). The rates
    over the labelled instances are the engine's metrics (:mod:`rerankeval.core.metrics`).
    """
    golds = _golds(groups, labels)
    g = list(golds.values())
    n = len(g)
    pick, expected = _pick_rates(golds, rankings, n_benchmark)
    runs: dict[str, float] = {}
    for iid in golds:
        for c in groups[iid]:
            runs.setdefault(c.run, 0.0)
        for run in {c.run for c in groups[iid]}:
            first = next(c for c in groups[iid] if c.run == run)
            runs[run] += float(labels[(iid, first.index)])
    return {
        "n_instances_labelled": n,
        "n_instances_benchmark": n_benchmark,
        "rerank": pick,
        "rerank_expected": expected,
        "first": _rates(sum(float(x[0]) for x in g), plain_pass_at_1([x[:1] for x in g]), n, n_benchmark),
        "random": _rates(sum(sum(x) / len(x) for x in g), plain_pass_at_1(g), n, n_benchmark),
        "oracle": _rates(sum(float(any(x)) for x in g), oracle_pass_at_n(g), n, n_benchmark),
        "runs": {r: _rates(v, v / n if n else math.nan, n, n_benchmark) for r, v in sorted(runs.items())},
    }


def reranker_metrics(
    groups: Mapping[str, Sequence[SweCandidate]],
    rankings: Mapping[str, Mapping[str, Ranking]],
    labels: Mapping[Key, bool],
    n_benchmark: int,
) -> dict[str, dict[str, dict[str, float]]]:
    """Per reranker: resolved counts and rates of its written pick (``pick``) and of a uniform pick
    among its tied candidates (``expected``), over the fully labelled instances."""
    golds = _golds(groups, labels)
    out = {}
    for label, ranked in rankings.items():
        pick, expected = _pick_rates(golds, ranked, n_benchmark)
        out[label] = {"pick": pick, "expected": expected}
    return out


def per_run_metrics(
    groups: Mapping[str, Sequence[SweCandidate]],
    scores: Scores,
    labels: Mapping[Key, bool],
    rankings: Mapping[str, Ranking],
) -> dict[str, dict[str, Any]]:
    """Per agent run (system): its labelled candidates, how many resolve, the reward model's mean
    probability on its resolved and unresolved ones, its pooled AUC, and how often the reranker
    picked it (and how often that pick resolved)."""
    from rerankeval.core.rm_metrics import roc_auc

    out: dict[str, dict[str, Any]] = {}
    acc: dict[str, list[tuple[float, float, bool]]] = {}
    picks: dict[str, list[bool]] = {}
    for iid, cs in groups.items():
        for c in cs:
            key = (iid, c.index)
            if key in labels:
                acc.setdefault(c.run, []).append((*scores[key], labels[key]))
        if all((iid, c.index) in labels for c in cs):
            chosen = cs[rankings[iid].pick]
            picks.setdefault(chosen.run, []).append(labels[(iid, chosen.index)])
    for run, rows in sorted(acc.items()):
        pos = [p for _, p, y in rows if y]
        neg = [p for _, p, y in rows if not y]
        out[run] = {
            "n_candidates": len(rows),
            "n_resolved": len(pos),
            "mean_prob_resolved": sum(pos) / len(pos) if pos else math.nan,
            "mean_prob_unresolved": sum(neg) / len(neg) if neg else math.nan,
            "auc": roc_auc([s for s, _, _ in rows], [y for _, _, y in rows]),
            "picked": len(picks.get(run, [])),
            "picked_resolved": sum(picks.get(run, [])),
        }
    return out


def all_metrics(
    groups: Mapping[str, Sequence[SweCandidate]],
    scores: Scores | None,
    labels: Mapping[Key, bool],
    n_benchmark: int,
    quality: QualityConfig,
    rankings: Mapping[str, Mapping[str, Ranking]],
    primary: str | None = None,
) -> dict[str, Any]:
    """Selection metrics of every reranker and reward-model quality (see :func:`rm_quality`) in one
    JSON-ready dict.

    Args:
        scores: The reward model's (score, prob) per candidate, or None when nothing was scored
            (``rm_quality`` is then None and ``per_run`` empty).
        rankings: Per reranker label, its ranking of every instance.
        primary: The reranker whose pick is ``selection.rerank`` (the predictions file's); default the
            first of ``rankings``.
    """
    primary = primary if primary is not None else next(iter(rankings))
    selection = selection_metrics(groups, rankings[primary], labels, n_benchmark)
    selection["primary"] = primary
    selection["rerankers"] = reranker_metrics(groups, rankings, labels, n_benchmark)
    n_unlabelled = len(groups) - len(fully_labelled(groups, labels))
    if scores is None:
        quality_, per_run = None, {}
    else:
        quality_ = rm_quality(scored_problems(groups, scores, labels), quality)
        per_run = per_run_metrics(groups, scores, labels, rankings[primary])
    return {
        "selection": selection,
        "rm_quality": quality_,
        "per_run": per_run,
        "n_instances_with_candidates": len(groups),
        "n_instances_unlabelled": n_unlabelled,
    }
