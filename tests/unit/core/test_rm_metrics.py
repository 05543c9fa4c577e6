"""Reward-model quality metrics against hand-computed values and brute force."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from rerankeval.core.rerank import PassMatrix
from rerankeval.core.rm_metrics import (
    ScoredProblem,
    accuracy_at_threshold,
    best_of_k,
    bootstrap,
    brier_score,
    expected_calibration_error,
    oracle_at_k,
    random_at_k,
    reliability_bins,
    roc_auc,
    unit_test_reward,
)
from rerankeval.core.rm_quality import QualityConfig, pooled_auc, rm_quality, within_problem_auc


def brute_best_of_k(scores: list[float], labels: list[bool], k: int) -> float:
    """Average over every k-subset of the expected label of a uniform pick among its top-scored."""
    k = min(k, len(scores))
    key = [-math.inf if math.isnan(s) else s for s in scores]
    total, count = 0.0, 0
    for subset in itertools.combinations(range(len(scores)), k):
        top = max(key[i] for i in subset)
        tied = [i for i in subset if key[i] == top]
        total += sum(labels[i] for i in tied) / len(tied)
        count += 1
    return total / count


def test_best_of_k_matches_a_hand_computed_case_with_a_tie_at_the_top() -> None:
    # subsets of 2 from 4: {0,1} tie -> 0.5; {0,2},{0,3},{2,3} -> 1; {1,2},{1,3} -> 0; mean 3.5/6
    scores, labels = [0.9, 0.9, 0.5, 0.1], [True, False, True, False]
    assert best_of_k(scores, labels, 2) == pytest.approx(7 / 12)
    assert best_of_k(scores, labels, 1) == pytest.approx(0.5)
    assert best_of_k(scores, labels, 4) == pytest.approx(0.5)  # the tied top pair, always


def test_best_of_k_equals_brute_force_over_all_subsets() -> None:
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 7)
        scores = [rng.choice([0.1, 0.3, 0.5, 0.9, math.nan]) for _ in range(n)]
        labels = [rng.random() < 0.4 for _ in range(n)]
        for k in range(1, 9):
            expected = brute_best_of_k(scores, labels, k)
            assert best_of_k(scores, labels, k) == pytest.approx(expected, abs=1e-12)


def test_nan_scores_rank_below_every_number() -> None:
    assert best_of_k([math.nan, 0.0], [True, False], 2) == 0.0
    assert best_of_k([math.nan, math.nan], [True, False], 2) == 0.5


def test_bounds_are_pass_at_k_and_the_mean_label() -> None:
    labels = [True, False, True, False]
    assert oracle_at_k(labels, 2) == pytest.approx(1 - 1 / 6)
    assert oracle_at_k(labels, 9) == 1.0  # k clipped to n
    assert random_at_k(labels, 3) == 0.5
    assert oracle_at_k([False, False], 2) == 0.0


def test_roc_auc_counts_ties_as_one_half() -> None:
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    assert roc_auc([0.5, 0.5, 0.2], [True, False, False]) == pytest.approx(0.75)
    assert roc_auc([1.0, 1.0, 1.0], [True, False, False]) == pytest.approx(0.5)
    assert math.isnan(roc_auc([0.2, 0.3], [True, True]))
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([math.nan, 0.1], [True, False])


def test_roc_auc_equals_the_pairwise_definition() -> None:
    rng = random.Random(3)
    for _ in range(50):
        n = rng.randint(2, 30)
        s = [rng.choice([0.0, 0.25, 0.5, 0.75, 1.0]) for _ in range(n)]
        y = [rng.random() < 0.5 for _ in range(n)]
        pos = [a for a, b in zip(s, y, strict=True) if b]
        neg = [a for a, b in zip(s, y, strict=True) if not b]
        if not pos or not neg:
            continue
        pairs = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
        assert roc_auc(s, y) == pytest.approx(pairs / (len(pos) * len(neg)))


def test_accuracy_at_threshold_decides_positive_at_or_above_it() -> None:
    assert accuracy_at_threshold([0.5, 0.49, 0.9, 0.1], [True, False, False, False]) == pytest.approx(0.75)
    assert accuracy_at_threshold([0.5], [False], threshold=0.6) == 1.0


def test_ece_with_two_uniform_bins_by_hand() -> None:
    probs, labels = [0.05, 0.15, 0.95, 0.85], [False, True, True, True]
    # bin [0, .5): conf .10, acc .5 -> .4 * 2/4; bin [.5, 1]: conf .90, acc 1 -> .1 * 2/4
    assert expected_calibration_error(probs, labels, n_bins=2) == pytest.approx(0.25)
    assert expected_calibration_error(probs, labels, n_bins=2, strategy="quantile") == pytest.approx(0.25)
    assert brier_score(probs, labels) == pytest.approx((0.05**2 + 0.85**2 + 0.05**2 + 0.15**2) / 4)


def test_uniform_bins_put_one_in_the_last_bin_and_keep_empty_bins() -> None:
    bins = reliability_bins([1.0, 0.5, 0.0], [True, True, False], n_bins=4)
    assert [b.count for b in bins] == [1, 0, 1, 1]
    assert (bins[0].lo, bins[-1].hi) == (0.0, 1.0)
    assert math.isnan(bins[1].mean_prob)


def test_quantile_bins_hold_equal_mass_larger_runs_first() -> None:
    probs = [0.9, 0.1, 0.2, 0.8, 0.3]
    bins = reliability_bins(probs, [True, False, False, True, False], n_bins=2, strategy="quantile")
    assert [b.count for b in bins] == [3, 2]
    assert (bins[0].lo, bins[0].hi, bins[1].lo, bins[1].hi) == (0.1, 0.3, 0.8, 0.9)
    assert bins[0].frac_pos == 0.0 and bins[1].frac_pos == 1.0
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        reliability_bins([1.5], [True])


def _problems(seed: int = 0, n: int = 60) -> list[ScoredProblem]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        m = rng.randint(1, 8)
        labels = tuple(rng.random() < 0.3 for _ in range(m))
        scores = tuple(rng.random() for _ in range(m))
        out.append(ScoredProblem(f"p{i}", scores, labels, scores))
    return out


def test_a_scorer_that_returns_the_labels_reaches_auc_one_and_the_oracle_curve() -> None:
    problems = [
        ScoredProblem(
            p.problem_id, tuple(float(y) for y in p.labels), p.labels, tuple(float(y) for y in p.labels)
        )
        for p in _problems()
    ]
    q = rm_quality(problems, QualityConfig(ks=(1, 2, 4, 8), n_boot=50))
    assert q["auc"]["value"] == 1.0 and q["auc_within"]["value"] == 1.0
    assert q["accuracy"]["value"] == 1.0 and q["ece"]["value"] == 0.0
    for row in q["rm_at_k"]:
        assert row["rm"]["value"] == pytest.approx(row["oracle"]["value"])
    assert q["rm_at_k"][0]["rm"]["value"] == pytest.approx(q["rm_at_k"][0]["random"]["value"])


def test_report_intervals_match_the_generic_bootstrap_on_the_same_draws() -> None:
    problems = _problems(1)
    cfg = QualityConfig(n_boot=40, seed=5)
    q = rm_quality(problems, cfg)
    for key, stat in (("auc", pooled_auc), ("auc_within", within_problem_auc)):
        ci = bootstrap(problems, stat, n_boot=40, seed=5)
        assert q[key]["ci"]["low"] == pytest.approx(ci.low) and q[key]["ci"]["high"] == pytest.approx(ci.high)

    def ece(ps: list[ScoredProblem]) -> float:
        probs = [x for p in ps for x in p.probs or ()]
        labels = [y for p in ps for y in p.labels]
        return expected_calibration_error(probs, labels)

    ci = bootstrap(problems, ece, n_boot=40, seed=5)
    assert q["ece"]["ci"]["low"] == pytest.approx(ci.low) and q["ece"]["ci"]["high"] == pytest.approx(ci.high)
    assert q["ece"]["ci"]["low"] <= q["ece"]["value"] <= q["ece"]["ci"]["high"]


def test_report_counts_and_leaves_calibration_out_without_probabilities() -> None:
    problems = [ScoredProblem("a", (0.1, math.nan), (True, False)), ScoredProblem("b", (2.0,), (False,))]
    q = rm_quality(problems, QualityConfig(ks=(1, 2), n_boot=0))
    counts = ("n_problems", "n_candidates", "n_scored", "n_positive", "n_problems_mixed")
    assert tuple(q[c] for c in counts) == (2, 3, 2, 1, 1)
    assert q["ece"] is None and "ci" not in q["auc"]
    assert q["rm_at_k"][1]["rm"]["value"] == pytest.approx((1.0 + 0.0) / 2)  # NaN ranks last in problem a


def test_the_unit_test_reward_reads_as_tests_passed_and_fraction_passed() -> None:
    m = PassMatrix("P", ("t0", "t1", "t2", "t3"), ("pppf", "ffff", "ppet"))
    p = unit_test_reward(m, [True, False, False])
    assert p.scores == (3.0, 0.0, 2.0) and p.probs == (0.75, 0.0, 0.5) and p.labels == (True, False, False)
    assert best_of_k(p.scores, p.labels, 3) == 1.0
    assert unit_test_reward(PassMatrix("Q", (), ("", "")), [True, False]).probs is None
