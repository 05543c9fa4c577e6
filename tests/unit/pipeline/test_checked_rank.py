"""The reranker contract as the engine checks it for every host (EvalPlus, LiveCodeBench, lm-eval, SWE)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rerankeval.core.rerank import Ranking, RerankItem
from rerankeval.core.types import Candidate
from rerankeval.errors import HarnessFaultError, PluginContractError
from rerankeval.pipeline.evaluate import checked_rank

ITEMS = [
    RerankItem("p0", "", (Candidate("p0", 0, "a"), Candidate("p0", 1, "bb"))),
    RerankItem("p1", "", (Candidate("p1", 0, "c"),)),
]


class Fixed:
    name = "fixed"
    needs: frozenset[str] = frozenset()

    def __init__(self, out: object) -> None:
        self.out = out

    def rank(self, items: Sequence[RerankItem]) -> object:
        if isinstance(self.out, Exception):
            raise self.out
        return self.out


def test_a_well_formed_ranking_passes_through() -> None:
    good = [Ranking((0.1, 0.9), (1,)), Ranking((0.5,), (0,))]
    assert checked_rank(Fixed(good), ITEMS, "mine") == good  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ([Ranking((0.1, 0.9), (1,))], "returned 1 rankings for 2 problems"),
        ([Ranking((0.1, 0.9), (2,)), Ranking((0.5,), (0,))], r"p0 with 2 scores and picks \[2\] for 2"),
        ([Ranking((0.1,), (0,)), Ranking((0.5,), (0,))], r"p0 with 1 scores and picks \[0\] for 2"),
        ([Ranking((0.1, 0.9), ()), Ranking((0.5,), (0,))], r"picks \[\] for 2"),
    ],
)
def test_a_ranking_that_breaks_the_contract_is_refused_with_the_reranker_named(
    out: list[Ranking], message: str
) -> None:
    with pytest.raises(PluginContractError, match=f"reranker 'mine' .*{message}|'mine' returned.*{message}"):
        checked_rank(Fixed(out), ITEMS, "mine")  # type: ignore[arg-type]


def test_a_reranker_that_raises_is_a_harness_fault_never_a_pick() -> None:
    with pytest.raises(HarnessFaultError, match=r"reranker 'mine' failed: ZeroDivisionError: boom\. Re-run"):
        checked_rank(Fixed(ZeroDivisionError("boom")), ITEMS, "mine", fix="Re-run")  # type: ignore[arg-type]
