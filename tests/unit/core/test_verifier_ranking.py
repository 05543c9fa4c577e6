"""Scoring Verifiers' ranking metrics: top-1 / bottom-1 accuracy, Spearman's rho and MAE."""

from __future__ import annotations

import math

import pytest

from rerankeval.core.rm_metrics import ScoredProblem
from rerankeval.core.rm_quality import QualityConfig, rm_quality
from rerankeval.core.verifier_ranking import ranking_metrics, spearman


def _p(
    pid: str,
    scores: tuple[float, ...],
    fractions: tuple[float, ...] | None,
    probs: tuple[float, ...] | None = None,
) -> ScoredProblem:
    return ScoredProblem(pid, scores, tuple(f == 1.0 for f in fractions or scores), probs, fractions)


def test_spearman_matches_the_textbook_values() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties take average ranks: x ranks 1, 2.5, 2.5, 4; y ranks 1..4
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486832980505138)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_top_and_bottom_accuracy_count_a_uniform_pick_among_tied_scores() -> None:
    perfect = _p("A", (0.9, 0.5, 0.1), (1.0, 0.5, 0.0))
    tied_top = _p("B", (0.9, 0.9, 0.1), (1.0, 0.2, 0.0))  # the pick is right half of the time
    backwards = _p("C", (0.1, 0.5, 0.9), (1.0, 0.5, 0.0))
    m = ranking_metrics([perfect, tied_top, backwards])
    assert m["top1_accuracy"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["bottom1_accuracy"] == pytest.approx((1 + 1 + 0) / 3)
    rho_b = spearman([0.9, 0.9, 0.1], [1.0, 0.2, 0.0])
    assert m["spearman"] == pytest.approx((1 + rho_b - 1) / 3)
    assert m["n_problems"] == m["n_problems_ordered"] == m["n_problems_spearman"] == 3


def test_problems_with_nothing_to_order_are_left_out_and_counted() -> None:
    same = _p("A", (0.9, 0.1), (1.0, 1.0))  # every candidate passes every input
    flat = _p("B", (0.5, 0.5), (1.0, 0.0))  # the verifier has no opinion: no Spearman
    unknown = _p("C", (0.5, 0.2), None)
    m = ranking_metrics([same, flat, unknown])
    assert (m["n_problems"], m["n_problems_ordered"], m["n_problems_spearman"]) == (2, 1, 0)
    assert m["top1_accuracy"] == 0.5 and m["spearman"] is None


def test_mae_compares_the_probability_with_the_fraction_passed() -> None:
    p = _p("A", (2.0, -1.0), (0.75, 0.0), probs=(0.5, 0.25))
    assert ranking_metrics([p])["mae"] == pytest.approx((0.25 + 0.25) / 2)


def test_rm_quality_reports_the_ranking_block_only_with_fractions() -> None:
    cfg = QualityConfig(ks=(1,), n_boot=0)
    with_f = rm_quality([_p("A", (0.9, 0.1), (1.0, 0.5), probs=(0.9, 0.1))], cfg)
    assert with_f["ranking"]["top1_accuracy"] == 1.0  # type: ignore[index]
    assert "ranking" not in rm_quality([ScoredProblem("A", (0.9, 0.1), (True, False))], cfg)
