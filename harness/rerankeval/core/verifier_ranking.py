"""Scoring Verifiers' ranking metrics (NVIDIA, arXiv 2502.13820): how well a verifier's scores order
a problem's candidates by their ground-truth quality, the fraction of the benchmark's inputs each
passes (not just pass/fail).

Per problem, with ``s`` the verifier's scores and ``q`` the fractions passed:

* **top-1 accuracy**: the chance that the verifier's pick is a best candidate: among the candidates
  tied at the top of ``s`` (a uniform pick), the share whose ``q`` is the problem's highest;
* **bottom-1 accuracy**: the same for the lowest ``s`` and the lowest ``q``;
* **Spearman's rho** between ``s`` and ``q`` (average ranks for ties);
* **MAE**: mean absolute error of the verifier's probability against ``q``, over candidates.

Top-1, bottom-1 and Spearman are averaged over the problems where they are defined: problems whose
candidates all have the same ``q`` (nothing to order) and, for Spearman, problems with constant
scores, are left out and counted. NaN scores (no opinion) rank lowest, as in selection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rerankeval.core.rm_metrics import ScoredProblem


def _ranks(xs: Sequence[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson on average ranks); NaN when either side is constant."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    rx, ry = _ranks(xs), _ranks(ys)
    n = len(xs)
    if n < 2:
        return math.nan
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / math.sqrt(vx * vy) if vx > 0 and vy > 0 else math.nan


def _extreme_hit(scores: Sequence[float], q: Sequence[float], top: bool) -> float:
    """The share of the verifier's tied top (bottom) candidates whose fraction is the best (worst)."""
    target = max(q) if top else min(q)
    keyed = [-math.inf if math.isnan(s) else s for s in scores]  # no opinion ranks lowest
    m = max(keyed) if top else min(keyed)
    tied = [i for i, k in enumerate(keyed) if k == m]
    return sum(1 for i in tied if q[i] == target) / len(tied)


def ranking_metrics(problems: Sequence[ScoredProblem]) -> dict[str, object]:
    """Top-1 and bottom-1 accuracy, Spearman's rho and MAE over the problems with ``fractions``.

    Returns:
        A JSON-ready dict: the four means and the counts behind them (``n_problems`` with
        fractions, ``n_problems_ordered`` where the fractions differ, ``n_problems_spearman``).
    """
    have = [p for p in problems if p.fractions is not None and p.labels]
    ordered = [p for p in have if len(set(p.fractions or ())) > 1]
    tops = [_extreme_hit(p.scores, p.fractions or (), True) for p in ordered]
    bottoms = [_extreme_hit(p.scores, p.fractions or (), False) for p in ordered]
    rhos = [
        r
        for r in (
            spearman([-math.inf if math.isnan(s) else s for s in p.scores], p.fractions or ())
            for p in ordered
        )
        if not math.isnan(r)
    ]
    errs = [
        abs(pr - q)
        for p in have
        if p.probs is not None
        for pr, q in zip(p.probs, p.fractions or (), strict=True)
        if not math.isnan(pr)
    ]

    def mean(xs: Sequence[float]) -> float | None:
        return sum(xs) / len(xs) if xs else None

    return {
        "top1_accuracy": mean(tops),
        "bottom1_accuracy": mean(bottoms),
        "spearman": mean(rhos),
        "mae": mean(errs),
        "n_problems": len(have),
        "n_problems_ordered": len(ordered),
        "n_problems_spearman": len(rhos),
        "n_candidates_mae": len(errs),
    }
