"""Metrics of a reranking run: pass@1 with and without reranking, bounds, confidence intervals,
subsampled scaling points and the quality of generated unit tests. Standard library only.

Conventions: ``golds[p]`` is the ground-truth correctness of every candidate of problem ``p``
(in candidate order); ``rankings[p]`` is a reranker's :class:`Ranking` of the same problem.
Every mean is over problems (each problem weighs the same), as EvalPlus and CodeRM report.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from rerankeval.core.rerank import PassMatrix, Ranking, RerankItem

RankFn = Callable[[Sequence[RerankItem]], list[Ranking]]


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def plain_pass_at_1(golds: Sequence[Sequence[bool]]) -> float:
    """Unbiased pass@1 over all N samples: the mean over problems of each problem's fraction correct."""
    return _mean([sum(map(bool, g)) / len(g) if g else 0.0 for g in golds])


def reranked_pass_at_1(rankings: Sequence[Ranking], golds: Sequence[Sequence[bool]]) -> float:
    """Mean over problems of the expected accuracy of a uniform pick among each ranking's chosen set."""
    if len(rankings) != len(golds):
        raise ValueError(f"{len(rankings)} rankings for {len(golds)} problems")
    return _mean([r.expected_accuracy(g) for r, g in zip(rankings, golds, strict=True)])


def oracle_pass_at_n(golds: Sequence[Sequence[bool]]) -> float:
    """Fraction of problems with at least one correct candidate (the best any reranker can do)."""
    return _mean([1.0 if any(g) else 0.0 for g in golds])


@dataclass(frozen=True, slots=True)
class Interval:
    """A bootstrap estimate.

    Attributes:
        low: Lower percentile bound.
        high: Upper percentile bound.
        std: Standard deviation of the replicates.
        replicates: Number of bootstrap replicates B.
        level: Confidence level (e.g. 0.95).
    """

    low: float
    high: float
    std: float
    replicates: int
    level: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "low": self.low,
            "high": self.high,
            "std": self.std,
            "B": self.replicates,
            "level": self.level,
        }


def _percentile(sorted_xs: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of already sorted values."""
    if not sorted_xs:
        return float("nan")
    pos = q * (len(sorted_xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def interval(replicates: Sequence[float], level: float = 0.95) -> Interval:
    """Percentile interval of bootstrap replicates."""
    xs = sorted(replicates)
    m = _mean(xs)
    std = (sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5 if len(xs) > 1 else 0.0
    a = (1.0 - level) / 2
    return Interval(_percentile(xs, a), _percentile(xs, 1.0 - a), std, len(xs), level)


def problem_resamples(n: int, b: int, seed: int) -> Iterator[list[int]]:
    """The problem indices of ``b`` seeded resamples of ``n`` problems with replacement.

    The one source of every bootstrap over problems (pass@1 here, the reward-model metrics in
    :mod:`rerankeval.core.rm_metrics` and :mod:`rerankeval.core.rm_quality`): the same seed draws
    the same resamples everywhere. Nothing is drawn for ``n == 0``.
    """
    rng = random.Random(seed)
    for _ in range(b if n else 0):
        yield [rng.randrange(n) for _ in range(n)]


def bootstrap_problems(
    per_problem: Sequence[float], b: int = 1000, seed: int = 0, level: float = 0.95
) -> Interval:
    """Resamples problems with replacement and recomputes the mean of a per-problem score.

    Args:
        per_problem: One score per problem (e.g. each problem's expected accuracy).
        b: Number of replicates.
        seed: Seed of the resampling.
        level: Confidence level.
    """
    n = len(per_problem)
    reps = [sum(per_problem[i] for i in idx) / n for idx in problem_resamples(n, b, seed)]
    return interval(reps, level)


def resample_columns(matrix: PassMatrix, columns: Sequence[int]) -> PassMatrix:
    """The matrix restricted to ``columns`` (repeats allowed), computed once per distinct row."""
    cols = list(columns)
    cache: dict[str, str] = {}
    rows = []
    for r in matrix.rows:
        s = cache.get(r)
        if s is None:
            s = cache[r] = "".join([r[j] for j in cols])
        rows.append(s)
    return PassMatrix(matrix.problem_id, tuple(matrix.test_ids[j] for j in cols), tuple(rows))


def bootstrap_tests(
    rank: RankFn,
    items: Sequence[RerankItem],
    golds: Sequence[Sequence[bool]],
    b: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """Resamples each problem's generated tests (matrix columns) with replacement, re-ranks, recomputes.

    This is the variability that matters for a unit-test reranker: how much the reranked pass@1
    would move with another draw of tests of the same quality. Each replicate draws, for every
    problem, as many columns as it has, with replacement, then ranks all problems and takes the
    mean expected accuracy.

    Args:
        rank: The reranker's ``rank`` (called once per replicate with every problem).
        items: The problems, each with a matrix.
        golds: Ground truth per problem.
        b: Number of replicates.
        seed: Seed of the resampling.
        level: Confidence level.
    """
    return bootstrap_tests_views(rank, items, {"": golds}, b=b, seed=seed, level=level)[""]


def bootstrap_tests_views(
    rank: RankFn,
    items: Sequence[RerankItem],
    golds: Mapping[str, Sequence[Sequence[bool]]],
    b: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Interval]:
    """:func:`bootstrap_tests` for several ground-truth views at once (one ranking per replicate)."""
    rng = random.Random(seed)
    reps: dict[str, list[float]] = {v: [] for v in golds}
    for _ in range(b):
        resampled = []
        for it in items:
            if it.matrix is None or not it.matrix.test_ids:
                resampled.append(it)
                continue
            t = len(it.matrix.test_ids)
            cols = [rng.randrange(t) for _ in range(t)]
            resampled.append(replace(it, matrix=resample_columns(it.matrix, cols)))
        rankings = rank(resampled)
        for v, g in golds.items():
            reps[v].append(reranked_pass_at_1(rankings, g))
    return {v: interval(r, level) for v, r in reps.items()}


def subsample_item(
    item: RerankItem, gold: Sequence[bool], rng: random.Random, num_samples: int | None, num_tests: int | None
) -> tuple[RerankItem, tuple[bool, ...], tuple[int, ...]]:
    """Draws ``num_samples`` candidates and ``num_tests`` tests without replacement (all when fewer exist).

    CodeRM's released evaluator draws the tests the same way (a fresh random subset per task and
    repetition, averaged over repetitions) but keeps the *first* ``sol_num`` solutions; drawing the
    candidates at random too makes every subset size an unbiased estimate over sampling orders.

    Returns:
        The reduced item, its gold, and the positions of the kept candidates in the original item
        (in their original order, so the earliest-index tie rule still means sampling order).
    """
    n = len(item.candidates)
    keep = (
        tuple(sorted(rng.sample(range(n), num_samples)))
        if num_samples is not None and num_samples < n
        else tuple(range(n))
    )
    matrix = item.matrix
    if matrix is not None:
        t = len(matrix.test_ids)
        cols = (
            sorted(rng.sample(range(t), num_tests))
            if num_tests is not None and num_tests < t
            else list(range(t))
        )
        matrix = resample_columns(matrix.subset(candidates=keep) if len(keep) < n else matrix, cols)
    sub = replace(
        item,
        candidates=tuple(item.candidates[i] for i in keep),
        matrix=matrix,
        rm_scores=None if item.rm_scores is None else tuple(item.rm_scores[i] for i in keep),
        gold=None if item.gold is None else tuple(item.gold[i] for i in keep),
        fields=None if item.fields is None else tuple(item.fields[i] for i in keep),
    )
    return sub, tuple(bool(gold[i]) for i in keep), keep


@dataclass(frozen=True, slots=True)
class UnitTestQuality:
    """How good the generated tests are, judged against ground truth.

    Attributes:
        accuracy: Fraction of generated tests that the canonical solution passes (a test is
            *correct* when it does), averaged over problems.
        accuracy_pooled: The same fraction pooled over every test of every problem.
        far: False Acceptance Rate (CodeRM, arXiv 2501.01054, App. D): FP / (FP + TN), the
            probability that a wrong solution is accepted, i.e. passes a test; pooled over every
            (solution, test) pair.
        frr: False Rejection Rate (same source): FN / (FN + TP), the probability that a correct
            solution is rejected, i.e. fails a test; pooled over every (solution, test) pair.
        n_tests: Number of (problem, test) columns judged.
        n_pairs: Number of (solution, test) pairs in FAR/FRR.
    """

    accuracy: float
    accuracy_pooled: float
    far: float
    frr: float
    n_tests: int
    n_pairs: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "test_accuracy": self.accuracy,
            "test_accuracy_pooled": self.accuracy_pooled,
            "FAR": self.far,
            "FRR": self.frr,
            "n_tests": self.n_tests,
            "n_pairs": self.n_pairs,
        }


def far_frr(accepted: Sequence[bool], correct: Sequence[bool]) -> tuple[float, float]:
    """FAR = FP/(FP+TN) and FRR = FN/(FN+TP) of accept/reject decisions against correctness.

    NaN when a denominator is zero.
    """
    fp = sum(1 for a, c in zip(accepted, correct, strict=True) if a and not c)
    tn = sum(1 for a, c in zip(accepted, correct, strict=True) if not a and not c)
    fn = sum(1 for a, c in zip(accepted, correct, strict=True) if not a and c)
    tp = sum(1 for a, c in zip(accepted, correct, strict=True) if a and c)
    far = fp / (fp + tn) if fp + tn else float("nan")
    frr = fn / (fn + tp) if fn + tp else float("nan")
    return far, frr


def unit_test_quality(
    matrices: Sequence[PassMatrix], golds: Sequence[Sequence[bool]], canonical_rows: Sequence[str | None]
) -> UnitTestQuality:
    """Accuracy of generated tests against the canonical solution, and CodeRM's FAR/FRR.

    Args:
        matrices: One matrix per problem.
        golds: Ground truth per candidate of each problem.
        canonical_rows: The canonical solution's row against the same tests (None when unknown;
            such problems are left out of the accuracy).
    """
    per_problem, n_ok, n_tests = [], 0, 0
    for row in canonical_rows:
        if row is None or not row:
            continue
        ok = row.count("p")
        per_problem.append(ok / len(row))
        n_ok, n_tests = n_ok + ok, n_tests + len(row)
    fp = tn = fn = tp = 0
    for m, g in zip(matrices, golds, strict=True):
        for row, correct in zip(m.rows, g, strict=True):
            passed = row.count("p")
            failed = len(row) - passed
            if correct:
                tp, fn = tp + passed, fn + failed
            else:
                fp, tn = fp + passed, tn + failed
    return UnitTestQuality(
        accuracy=_mean(per_problem),
        accuracy_pooled=n_ok / n_tests if n_tests else float("nan"),
        far=fp / (fp + tn) if fp + tn else float("nan"),
        frr=fn / (fn + tp) if fn + tp else float("nan"),
        n_tests=n_tests,
        n_pairs=fp + tn + fn + tp,
    )


def selection_far_frr(rankings: Sequence[Ranking], golds: Sequence[Sequence[bool]]) -> tuple[float, float]:
    """FAR/FRR of a reranker used as a judge: a candidate is *accepted* when it is in the chosen set.

    This is the "multiple unit tests" reading of CodeRM's FAR/FRR (App. D): the whole test suite,
    through the selection rule, accepts the top-ranked candidates and rejects the rest; pooled over
    every candidate of every problem.
    """
    accepted: list[bool] = []
    correct: list[bool] = []
    for r, g in zip(rankings, golds, strict=True):
        chosen = set(r.chosen)
        accepted.extend(i in chosen for i in range(len(g)))
        correct.extend(bool(x) for x in g)
    return far_frr(accepted, correct)
