"""The ``hybrid`` reranker: unit-test evidence and a verifier's probability in one selection."""

from __future__ import annotations

import pytest

from rerankeval.core.rerank import PassMatrix, Reranker, RerankItem
from rerankeval.core.types import Candidate
from rerankeval.errors import InputError
from rerankeval.rerankers import load_reranker

# four candidates, four tests: 0 passes 3, 1 passes 3 (another pattern), 2 passes 2, 3 passes 0
ROWS = ("pppf", "fppp", "ppff", "ffff")


def _item(rm: tuple[float, ...], rows: tuple[str, ...] = ROWS) -> RerankItem:
    cands = tuple(Candidate("A", i, f"return {i}") for i in range(len(rows)))
    return RerankItem(
        "A", "p", cands, PassMatrix("A", tuple(f"t{j}" for j in range(len(rows[0]))), rows), rm_scores=rm
    )


def test_weighted_mode_adds_the_fraction_of_tests_passed_and_the_probability() -> None:
    r = load_reranker("hybrid")
    assert isinstance(r, Reranker) and r.name == "hybrid" and "matrix" in r.needs
    (out,) = r.rank([_item((0.1, 0.2, 0.95, 0.9))])
    assert out.scores == pytest.approx((0.5 * 0.75 + 0.05, 0.5 * 0.75 + 0.1, 0.5 * 0.5 + 0.475, 0.45))
    assert out.chosen == (2,)  # fewer tests passed, but the verifier is far surer of it


def test_the_weight_moves_between_the_unit_tests_and_the_verifier() -> None:
    item = _item((0.1, 0.2, 0.95, 0.9))
    tests_only = load_reranker("hybrid", weight=0.0).rank([item])[0]
    model_only = load_reranker("hybrid", weight=1.0).rank([item])[0]
    assert tests_only.chosen == (0, 1) and model_only.chosen == (2,)
    assert model_only.chosen == load_reranker("rm").rank([item])[0].chosen


def test_tiebreak_mode_keeps_the_test_rerankers_choice_and_lets_the_verifier_pick_inside_it() -> None:
    item = _item((0.1, 0.2, 0.95, 0.9))
    coderm = load_reranker("coderm").rank([item])[0]
    out = load_reranker("hybrid", mode="tiebreak").rank([item])[0]
    assert set(out.chosen) <= set(coderm.chosen)
    assert out.chosen == (1,)  # among CodeRM's tied best (0, 1), the verifier prefers 1; never 2
    ordered = sorted(range(4), key=lambda i: -out.scores[i])
    assert ordered[:2] == [1, 0]


def test_codet_evidence_is_normalised_by_the_problems_best_consensus() -> None:
    rows = ("ppff", "ppff", "pppp", "ffff")  # 0 and 1 agree: consensus 2 tests x sqrt(2 members)
    out = load_reranker("hybrid", tests="codet", weight=0.0).rank([_item((0.5,) * 4, rows)])[0]
    codet = load_reranker("codet").rank([_item((0.5,) * 4, rows)])[0]
    assert max(out.scores) == pytest.approx(1.0) and out.chosen == codet.chosen


def test_a_head_scorer_is_read_through_a_sigmoid(monkeypatch: pytest.MonkeyPatch) -> None:
    r = load_reranker("hybrid", weight=1.0)

    class Head:
        kind = "head"

    monkeypatch.setattr(r, "scorer", Head())
    (out,) = r.rank([_item((0.0, 2.0, -2.0, 0.0))])
    assert out.scores[0] == pytest.approx(0.5) and out.chosen == (1,)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"weight": 1.5}, "weight must lie in [0, 1]"),
        ({"weight": float("nan")}, "weight must lie in [0, 1]"),
        ({"mode": "sum"}, "mode must be"),
        ({"tests": "mbr"}, "tests must be"),
        ({"wieght": 0.2}, "has no argument 'wieght'"),
    ],
)
def test_bad_arguments_are_refused_naming_them(args: dict, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_reranker("hybrid", **args)


def test_an_item_without_a_pass_matrix_is_refused() -> None:
    item = RerankItem("A", "p", (Candidate("A", 0, "x"),), rm_scores=(0.5,))
    with pytest.raises(ValueError, match="needs a pass matrix"):
        load_reranker("hybrid").rank([item])
