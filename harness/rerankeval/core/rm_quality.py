"""The whole quality report of a reward model: every metric of :mod:`rerankeval.core.rm_metrics`
with percentile bootstrap intervals over problems, as one JSON-ready dict.

Standard library only, no I/O. The bootstrap draws problems with replacement; each replicate is a
count per problem, so the statistics are computed from per-problem summaries (pooled AUC by one
sweep over the candidates sorted once, ECE from per-bin sums) and every interval of a report
comes from the same resamples, the same draws as :func:`rerankeval.core.rm_metrics.bootstrap`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from rerankeval.core.metrics import interval, problem_resamples
from rerankeval.core.rm_metrics import (
    BinStrategy,
    ScoredProblem,
    accuracy_at_threshold,
    best_of_k,
    brier_score,
    expected_calibration_error,
    oracle_at_k,
    random_at_k,
    reliability_bins,
    roc_auc,
)


@dataclass(frozen=True, slots=True)
class QualityConfig:
    """How :func:`rm_quality` computes its numbers.

    Attributes:
        ks: Subset sizes of the RM@k curve (each clipped to a problem's candidate count).
        threshold: Decision threshold on the probability for accuracy.
        n_bins: Bins of ECE and the reliability diagram.
        strategy: ``uniform`` (equal width, the default) or ``quantile`` (equal mass).
        n_boot: Bootstrap replicates over problems (0 turns the intervals off).
        seed: Seed of the bootstrap.
        level: Confidence level of the intervals.
    """

    ks: tuple[int, ...] = (1, 2, 4, 8)
    threshold: float = 0.5
    n_bins: int = 10
    strategy: BinStrategy = "uniform"
    n_boot: int = 1000
    seed: int = 0
    level: float = 0.95


def ks_up_to(n_max: int) -> tuple[int, ...]:
    """RM@k subset sizes for problems of up to ``n_max`` candidates: powers of two, then ``n_max``."""
    ks, k = [], 1
    while k < n_max:
        ks.append(k)
        k *= 2
    return (*ks, max(n_max, 1))


def _pooled(problems: Sequence[ScoredProblem], field: str) -> tuple[list[float], list[bool]]:
    xs, ys = [], []
    for p in problems:
        vals = getattr(p, field)
        if vals is None:
            continue
        for x, y in zip(vals, p.labels, strict=True):
            if not math.isnan(x):
                xs.append(x)
                ys.append(bool(y))
    return xs, ys


def _nanmean(xs: Sequence[float]) -> float:
    kept = [x for x in xs if not math.isnan(x)]
    return sum(kept) / len(kept) if kept else float("nan")


def pooled_auc(problems: Sequence[ScoredProblem]) -> float:
    """ROC-AUC over every scored candidate of every problem (unscored ones left out)."""
    return roc_auc(*_pooled(problems, "scores"))


def problem_aucs(problems: Sequence[ScoredProblem]) -> list[float]:
    """Each problem's own AUC over its scored candidates (NaN unless it has both labels)."""
    return [roc_auc(*_pooled([p], "scores")) for p in problems]


def within_problem_auc(problems: Sequence[ScoredProblem]) -> float:
    """Mean over problems with both labels of each problem's own AUC: what reranking depends on."""
    return _nanmean(problem_aucs(problems))


def per_problem_at_k(
    problems: Sequence[ScoredProblem], k: int, which: Literal["rm", "random", "oracle"]
) -> list[float]:
    """RM@k, random@k or oracle@k of each problem (NaN for a problem without candidates)."""

    def one(p: ScoredProblem) -> float:
        if not p.labels:
            return float("nan")
        if which == "rm":
            return best_of_k(p.scores, p.labels, k)
        return random_at_k(p.labels, k) if which == "random" else oracle_at_k(p.labels, k)

    return [one(p) for p in problems]


# Weighted forms for the bootstrap: a replicate is a count per problem (how often it was drawn),
# so each statistic is computed from per-problem summaries instead of rebuilt lists.

Weights = Sequence[int]


def _replicates(n: int, n_boot: int, seed: int) -> list[list[int]]:
    """Draw counts per problem of ``n_boot`` resamples (the draws of every problem bootstrap)."""
    out = []
    for idx in problem_resamples(n, n_boot, seed):
        w = [0] * n
        for i in idx:
            w[i] += 1
        out.append(w)
    return out


def _weighted_mean(values: Sequence[float]) -> Callable[[Weights], float]:
    def stat(w: Weights) -> float:
        num = den = 0.0
        for wi, v in zip(w, values, strict=True):
            if wi and not math.isnan(v):
                num, den = num + wi * v, den + wi
        return num / den if den else float("nan")

    return stat


def _weighted_auc(problems: Sequence[ScoredProblem]) -> Callable[[Weights], float]:
    cells = sorted(
        (s, bool(y), i)
        for i, p in enumerate(problems)
        for s, y in zip(p.scores, p.labels, strict=True)
        if not math.isnan(s)
    )
    # (problem, is_positive, closes_a_tie_run) per cell, in ascending score order
    flat = [(i, y, j + 1 == len(cells) or cells[j + 1][0] != s) for j, (s, y, i) in enumerate(cells)]

    def stat(w: Weights) -> float:
        num = neg_below = pos_total = 0.0
        pos = neg = 0.0
        for i, y, last in flat:
            if y:
                pos += w[i]
            else:
                neg += w[i]
            if last:
                num += pos * (neg_below + 0.5 * neg)
                neg_below += neg
                pos_total += pos
                pos = neg = 0.0
        return num / (pos_total * neg_below) if pos_total and neg_below else float("nan")

    return stat


def _weighted_accuracy(problems: Sequence[ScoredProblem], threshold: float) -> Callable[[Weights], float]:
    hits = []
    for p in problems:
        xs, ys = _pooled([p], "probs")
        hits.append((sum((x >= threshold) == y for x, y in zip(xs, ys, strict=True)), len(xs)))

    def stat(w: Weights) -> float:
        num = sum(wi * h for wi, (h, _) in zip(w, hits, strict=True))
        den = sum(wi * n for wi, (_, n) in zip(w, hits, strict=True))
        return num / den if den else float("nan")

    return stat


def _weighted_ece(problems: Sequence[ScoredProblem], cfg: QualityConfig) -> Callable[[Weights], float]:
    per = [_pooled([p], "probs") for p in problems]
    if cfg.strategy != "uniform":  # equal-mass bins depend on the whole pool: rebuild it

        def rebuilt(w: Weights) -> float:
            xs: list[float] = []
            ys: list[bool] = []
            for wi, (px, py) in zip(w, per, strict=True):
                xs.extend(px * wi)
                ys.extend(py * wi)
            return expected_calibration_error(xs, ys, cfg.n_bins, cfg.strategy)

        return rebuilt
    sums = []  # per problem: {bin: [count, sum of probs, positives]}
    for xs, ys in per:
        d: dict[int, list[float]] = {}
        for x, y in zip(xs, ys, strict=True):
            c = d.setdefault(min(int(x * cfg.n_bins), cfg.n_bins - 1), [0.0, 0.0, 0.0])
            c[0], c[1], c[2] = c[0] + 1, c[1] + x, c[2] + y
        sums.append(d)

    def stat(w: Weights) -> float:
        tot: dict[int, list[float]] = {}
        for wi, d in zip(w, sums, strict=True):
            if wi:
                for b, (n, sp, sy) in d.items():
                    t = tot.setdefault(b, [0.0, 0.0, 0.0])
                    t[0], t[1], t[2] = t[0] + wi * n, t[1] + wi * sp, t[2] + wi * sy
        total = sum(t[0] for t in tot.values())
        return sum(abs(t[2] - t[1]) for t in tot.values()) / total if total else float("nan")

    return stat


def _value_ci(
    value: float, stat: Callable[[Weights], float] | None, reps: list[list[int]], cfg: QualityConfig
) -> dict[str, object]:
    out: dict[str, object] = {"value": value}
    if stat is not None and reps:
        vals = [stat(w) for w in reps]
        out["ci"] = interval([v for v in vals if not math.isnan(v)], cfg.level).as_dict()
    return out


def _calibration(
    problems: Sequence[ScoredProblem], cfg: QualityConfig, reps: list[list[int]]
) -> dict[str, object]:
    if not any(p.probs is not None for p in problems):
        return {
            "accuracy": None,
            "ece": None,
            "brier": None,
            "reliability": None,
            "calibration_note": "this scorer gives no probabilities",
        }
    probs, labels = _pooled(problems, "probs")

    acc = accuracy_at_threshold(probs, labels, cfg.threshold)
    ece = expected_calibration_error(probs, labels, cfg.n_bins, cfg.strategy)
    return {
        "accuracy": {
            **_value_ci(acc, _weighted_accuracy(problems, cfg.threshold), reps, cfg),
            "threshold": cfg.threshold,
        },
        "ece": {
            **_value_ci(ece, _weighted_ece(problems, cfg), reps, cfg),
            "n_bins": cfg.n_bins,
            "strategy": cfg.strategy,
        },
        "brier": brier_score(probs, labels),
        "reliability": [b.as_dict() for b in reliability_bins(probs, labels, cfg.n_bins, cfg.strategy)],
    }


def rm_quality(problems: Sequence[ScoredProblem], config: QualityConfig | None = None) -> dict[str, object]:
    """Every quality number of a reward model on labelled candidates, as a JSON-ready dict.

    Keys: counts (``n_problems``, ``n_candidates``, ``n_scored``, ``n_positive``,
    ``n_problems_mixed``); ``auc`` (pooled over candidates) and ``auc_within`` (mean per-problem
    AUC over problems with both labels); ``accuracy`` at the threshold, ``ece`` (with its bins
    and strategy), ``brier`` and ``reliability`` (the bins) from the probabilities; ``rm_at_k``:
    one row per k with ``rm``, ``random`` and ``oracle`` means over problems; ``ranking``, when
    the problems carry each candidate's fraction of inputs passed: Scoring Verifiers' top-1 and
    bottom-1 accuracy, Spearman's rho and MAE (:mod:`rerankeval.core.verifier_ranking`). Every interval
    (``ci``) comes from the same ``n_boot`` resamples of the problems.
    """
    cfg = config or QualityConfig()
    reps = _replicates(len(problems), cfg.n_boot, cfg.seed)
    scored, _ = _pooled(problems, "scores")
    aucs = problem_aucs(problems)
    out: dict[str, object] = {
        "n_problems": len(problems),
        "n_candidates": sum(len(p.labels) for p in problems),
        "n_scored": len(scored),
        "n_positive": sum(sum(map(bool, p.labels)) for p in problems),
        "n_problems_mixed": sum(1 for p in problems if any(p.labels) and not all(p.labels)),
        "auc": _value_ci(pooled_auc(problems), _weighted_auc(problems), reps, cfg),
        "auc_within": _value_ci(_nanmean(aucs), _weighted_mean(aucs), reps, cfg),
    }
    out.update(_calibration(problems, cfg, reps))
    curve = []
    for k in cfg.ks:
        row: dict[str, object] = {"k": k}
        which: Literal["rm", "random", "oracle"]
        for which in ("rm", "random", "oracle"):
            vals = per_problem_at_k(problems, k, which)
            stat = _weighted_mean(vals) if which != "random" else None  # random@k is exact: no interval
            row[which] = _value_ci(_nanmean(vals), stat, reps, cfg)
        curve.append(row)
    out["rm_at_k"] = curve
    if any(p.fractions is not None for p in problems):
        from rerankeval.core.verifier_ranking import ranking_metrics

        out["ranking"] = ranking_metrics(problems)
    out["config"] = {
        "ks": list(cfg.ks),
        "threshold": cfg.threshold,
        "n_bins": cfg.n_bins,
        "strategy": cfg.strategy,
        "n_boot": cfg.n_boot,
        "seed": cfg.seed,
        "level": cfg.level,
    }
    return out
