"""Quality of a reward model used as a reranker: best-of-k (RM@k), ROC-AUC, accuracy, calibration.

Standard library only, no I/O. Conventions: a *problem* holds its candidates' scores (higher is
better; NaN means "no opinion") and their ground-truth labels. Probabilities (for accuracy at a
threshold, ECE and the reliability diagram) are the scores mapped to [0, 1] by the caller: the
verifier's P(YES)/(P(YES)+P(NO)) as is, a scalar head's logit through a sigmoid, a unit-test
reward as the fraction of tests passed.

RM@k (best-of-k with a reward model), exact and unbiased over the random k-subsets of a
problem's n candidates. Group the candidates by score, highest first: groups G_1, G_2, ...
with sizes g_j, mean label ybar_j, and a_j candidates scoring strictly higher than G_j. The top
score of a uniform k-subset S lies in G_j exactly when S avoids the a_j higher candidates and
meets G_j, so::

    P(top of S in G_j) = [C(n - a_j, k) - C(n - a_j - g_j, k)] / C(n, k)
    RM@k = sum_j P(top of S in G_j) * ybar_j

Ties are broken by expected value: given that S meets G_j, the tied candidates in S are a
uniform subset of G_j, so a uniform pick among them is correct with probability ybar_j. NaN
scores form the lowest group. The bounds use the same subsets: random@k = c/n (a uniform pick)
and oracle@k = 1 - C(n - c, k) / C(n, k) (pass@k: some correct candidate is in S). A problem
with fewer than k candidates uses all of them (k is clipped to n), as a best-of-k run that
asked for k samples and received fewer would.

:mod:`rerankeval.core.rm_quality` assembles all of these, with bootstrap intervals, into one report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, TypeVar

from rerankeval.core.metrics import Interval, interval, problem_resamples
from rerankeval.core.rerank import PassMatrix

BinStrategy = Literal["uniform", "quantile"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ScoredProblem:
    """One problem's candidates as a reward model saw them.

    Attributes:
        problem_id: The problem (instance id for SWE-bench).
        scores: One score per candidate (higher is better; NaN = no opinion).
        labels: Ground-truth correctness per candidate.
        probs: Scores mapped to [0, 1] (NaN where the score is NaN), or None when the scorer
            has no probability reading; accuracy and ECE then stay undefined.
        fractions: Each candidate's fraction of the benchmark's inputs passed (ground truth run
            without stopping at the first failure), or None when unknown; the Scoring Verifiers
            ranking metrics need it.
    """

    problem_id: str
    scores: tuple[float, ...]
    labels: tuple[bool, ...]
    probs: tuple[float, ...] | None = None
    fractions: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        if (
            len(self.scores) != n
            or (self.probs is not None and len(self.probs) != n)
            or (self.fractions is not None and len(self.fractions) != n)
        ):
            raise ValueError(f"{self.problem_id}: scores, labels, probs and fractions differ in length")


#: The name under which the unit-test reward is reported next to reward models.
UNIT_TEST_REWARD = "unit-test reward (tests passed)"


def unit_test_reward(matrix: PassMatrix, gold: Sequence[bool]) -> ScoredProblem:
    """A unit-test reranker's reward read as a reward model: score = tests passed, prob = fraction passed.

    With no tests every candidate scores 0 and has no probability reading.
    """
    n_tests = len(matrix.test_ids)
    scores = tuple(float(matrix.n_passed(i)) for i in range(len(matrix.rows)))
    probs = tuple(s / n_tests for s in scores) if n_tests else None
    return ScoredProblem(matrix.problem_id, scores, tuple(bool(g) for g in gold), probs)


# ---------------------------------------------------------------------------------------------
# best-of-k


def _score_groups(scores: Sequence[float], labels: Sequence[bool]) -> list[tuple[int, int]]:
    """(size, positives) per distinct score, highest score first; NaN scores form the last group."""
    by_score: dict[float, list[int]] = {}
    nan = [0, 0]
    for s, y in zip(scores, labels, strict=True):
        if math.isnan(s):
            nan[0] += 1
            nan[1] += int(bool(y))
            continue
        g = by_score.setdefault(s, [0, 0])
        g[0] += 1
        g[1] += int(bool(y))
    groups = [(g[0], g[1]) for _, g in sorted(by_score.items(), key=lambda kv: -kv[0])]
    if nan[0]:
        groups.append((nan[0], nan[1]))
    return groups


def best_of_k(scores: Sequence[float], labels: Sequence[bool], k: int) -> float:
    """Expected correctness of the top-scored candidate among a uniform random k-subset (RM@k).

    Args:
        scores: One score per candidate (NaN ranks last).
        labels: Ground truth per candidate.
        k: Subset size (clipped to the number of candidates).

    Returns:
        The exact expectation (see the module docstring for the formula).

    Raises:
        ValueError: No candidates, k < 1, or lengths differ.
    """
    n = len(scores)
    if n == 0 or k < 1:
        raise ValueError(f"best-of-k needs candidates and k >= 1 (n={n}, k={k})")
    if len(labels) != n:
        raise ValueError("scores and labels differ in length")
    k = min(k, n)
    total = math.comb(n, k)
    acc = Fraction(0)
    above = 0
    for size, pos in _score_groups(scores, labels):
        ways = math.comb(n - above, k) - math.comb(n - above - size, k)
        if pos:
            acc += Fraction(ways * pos, size)
        above += size
    return float(acc / total)


def random_at_k(labels: Sequence[bool], k: int) -> float:
    """The random-pick bound: a uniform pick among any k-subset is correct with probability c/n."""
    if not labels or k < 1:
        raise ValueError("random@k needs candidates and k >= 1")
    return sum(map(bool, labels)) / len(labels)


def oracle_at_k(labels: Sequence[bool], k: int) -> float:
    """The oracle bound: probability that a uniform k-subset holds a correct candidate (pass@k)."""
    n = len(labels)
    if n == 0 or k < 1:
        raise ValueError("oracle@k needs candidates and k >= 1")
    k = min(k, n)
    c = sum(map(bool, labels))
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


# ---------------------------------------------------------------------------------------------
# discrimination


def _check_finite(xs: Sequence[float], what: str) -> None:
    if any(math.isnan(x) for x in xs):
        raise ValueError(f"{what} contains NaN; drop unscored candidates first")


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """ROC-AUC as the Mann-Whitney statistic: P(score of a positive > score of a negative).

    Ties between a positive and a negative count one half (mid-ranks), which equals the area
    under the ROC curve drawn through tied scores as straight segments.

    Returns:
        The AUC, or NaN when one class is absent.

    Raises:
        ValueError: NaN scores or different lengths.
    """
    if len(scores) != len(labels):
        raise ValueError("scores and labels differ in length")
    _check_finite(scores, "scores")
    n_pos = sum(map(bool, labels))
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum_pos = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mid_rank = (i + j) / 2 + 1  # 1-based mid-rank of the tied run i..j
        rank_sum_pos += mid_rank * sum(1 for t in order[i : j + 1] if labels[t])
        i = j + 1
    u = rank_sum_pos - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def accuracy_at_threshold(probs: Sequence[float], labels: Sequence[bool], threshold: float = 0.5) -> float:
    """Fraction of candidates whose decision ``prob >= threshold`` matches the label (NaN when empty).

    Raises:
        ValueError: NaN probabilities or different lengths.
    """
    if len(probs) != len(labels):
        raise ValueError("probs and labels differ in length")
    _check_finite(probs, "probs")
    if not probs:
        return float("nan")
    return sum((p >= threshold) == bool(y) for p, y in zip(probs, labels, strict=True)) / len(probs)


# ---------------------------------------------------------------------------------------------
# calibration


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """One bin of a reliability diagram.

    Attributes:
        lo: Lower edge (uniform bins) or smallest probability in the bin (quantile bins).
        hi: Upper edge, or largest probability in the bin.
        count: Candidates in the bin.
        mean_prob: Mean predicted probability (confidence) in the bin; NaN when empty.
        frac_pos: Fraction of correct candidates (accuracy) in the bin; NaN when empty.
    """

    lo: float
    hi: float
    count: int
    mean_prob: float
    frac_pos: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "lo": self.lo,
            "hi": self.hi,
            "count": self.count,
            "mean_prob": self.mean_prob,
            "frac_pos": self.frac_pos,
        }


def _bin_stats(lo: float, hi: float, members: Sequence[tuple[float, bool]]) -> CalibrationBin:
    if not members:
        return CalibrationBin(lo, hi, 0, float("nan"), float("nan"))
    n = len(members)
    return CalibrationBin(lo, hi, n, sum(p for p, _ in members) / n, sum(1 for _, y in members if y) / n)


def reliability_bins(
    probs: Sequence[float], labels: Sequence[bool], n_bins: int = 10, strategy: BinStrategy = "uniform"
) -> list[CalibrationBin]:
    """Bins of a reliability diagram.

    ``uniform``: ``n_bins`` equal-width bins over [0, 1]; bin b holds p in [b/B, (b+1)/B), the last
    one also holds p = 1; empty bins are kept (count 0). ``quantile`` (equal mass): candidates
    sorted by probability (stable) are cut into ``n_bins`` contiguous runs whose sizes differ by
    at most one (larger runs first, as numpy.array_split); tied probabilities may straddle a cut.

    Raises:
        ValueError: NaN or out-of-range probabilities, n_bins < 1, an unknown strategy.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    if len(probs) != len(labels):
        raise ValueError("probs and labels differ in length")
    _check_finite(probs, "probs")
    if any(p < 0.0 or p > 1.0 for p in probs):
        raise ValueError("probabilities must lie in [0, 1]; map raw scores first (e.g. a sigmoid)")
    pairs = [(float(p), bool(y)) for p, y in zip(probs, labels, strict=True)]
    if strategy == "uniform":
        members: list[list[tuple[float, bool]]] = [[] for _ in range(n_bins)]
        for p, y in pairs:
            members[min(int(p * n_bins), n_bins - 1)].append((p, y))
        return [_bin_stats(b / n_bins, (b + 1) / n_bins, m) for b, m in enumerate(members)]
    if strategy == "quantile":
        ordered = sorted(pairs, key=lambda py: py[0])
        base, extra = divmod(len(ordered), n_bins)
        out, start = [], 0
        for b in range(n_bins):
            size = base + (1 if b < extra else 0)
            chunk = ordered[start : start + size]
            start += size
            if chunk:
                out.append(_bin_stats(chunk[0][0], chunk[-1][0], chunk))
        return out
    raise ValueError(f"unknown bin strategy {strategy!r}; use 'uniform' or 'quantile'")


def expected_calibration_error(
    probs: Sequence[float], labels: Sequence[bool], n_bins: int = 10, strategy: BinStrategy = "uniform"
) -> float:
    """ECE = sum over bins of (count / N) * |frac_pos - mean_prob| (NaN when there are no candidates).

    Raises:
        ValueError: As :func:`reliability_bins`.
    """
    bins = reliability_bins(probs, labels, n_bins, strategy)
    total = sum(b.count for b in bins)
    if total == 0:
        return float("nan")
    return sum(b.count / total * abs(b.frac_pos - b.mean_prob) for b in bins if b.count)


def brier_score(probs: Sequence[float], labels: Sequence[bool]) -> float:
    """Mean squared error of the probabilities against the 0/1 labels (NaN when empty)."""
    _check_finite(probs, "probs")
    if not probs:
        return float("nan")
    return sum((p - float(bool(y))) ** 2 for p, y in zip(probs, labels, strict=True)) / len(probs)


# ---------------------------------------------------------------------------------------------
# bootstrap over problems


def bootstrap(
    problems: Sequence[T],
    statistic: Callable[[Sequence[T]], float],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """Percentile interval of ``statistic`` over problems resampled with replacement.

    Replicates where the statistic is undefined (NaN, e.g. an AUC drawn with one class only)
    are dropped; ``Interval.replicates`` counts the ones kept.
    """
    reps: list[float] = []
    for idx in problem_resamples(len(problems), n_boot, seed):
        v = statistic([problems[i] for i in idx])
        if not math.isnan(v):
            reps.append(v)
    return interval(reps, level)
