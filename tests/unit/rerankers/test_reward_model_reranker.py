"""The ``rm`` reranker: loaded by name, ranks by reward scores, picks the argmax with ties."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rerankeval.core.rerank import Reranker, RerankItem
from rerankeval.core.types import Candidate
from rerankeval.errors import InputError
from rerankeval.rerankers import load_reranker


def _item(
    pid: str, n: int, rm: tuple[float, ...] | None = None, gold: tuple[bool, ...] | None = None
) -> RerankItem:
    cands = tuple(Candidate(pid, i, f"def f():\n    return {i}\n") for i in range(n))
    return RerankItem(pid, "def f():\n    '''Return something.'''\n", cands, rm_scores=rm, gold=gold)


def test_rm_loads_by_name_and_ranks_precomputed_scores_without_a_model() -> None:
    r = load_reranker("rm")
    assert isinstance(r, Reranker) and r.name == "rm" and r.needs == frozenset()
    out = r.rank([_item("A", 4, (0.1, 0.7, 0.7, 0.2)), _item("B", 2, (math.nan, -3.0))])
    assert out[0].chosen == (1, 2) and out[0].pick == 1
    assert out[1].chosen == (1,)
    assert out[0].expected_accuracy([False, True, False, False]) == 0.5


def test_the_oracle_labels_scorer_reads_gold_and_picks_a_correct_candidate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path))
    r = load_reranker("rm", rm="oracle-labels")
    assert r.needs == frozenset({"gold"})
    out = r.rank([_item("A", 3, gold=(False, True, True)), _item("B", 2, gold=(False, False))])
    assert out[0].scores == (0.0, 1.0, 1.0) and out[0].chosen == (1, 2)
    assert out[1].chosen == (0, 1)


def test_without_a_model_or_scores_the_error_says_how_to_give_one() -> None:
    with pytest.raises(InputError, match="rm=<spec>"):
        load_reranker("rm").rank([_item("A", 2)])


def test_scores_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(InputError, match="2 rm_scores for 3 candidates"):
        load_reranker("rm").rank([_item("A", 3, (0.1, 0.2))])


def test_unknown_template_or_spec_fails_when_loading() -> None:
    with pytest.raises(InputError, match="unknown template"):
        load_reranker("rm", rm="oracle-labels", template="swe")
    with pytest.raises(InputError, match="reward-model spec"):
        load_reranker("rm", rm="AceCodeRM-7B")
