"""The committed lm-eval reference (results/reference/lmeval_qwen): every number `lm_eval` reported
equals `rerankeval rerank` on the exported samples and the same tests, and its unbiased pass@k rises
to the oracle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REF = Path(__file__).resolve().parents[2] / "results" / "reference" / "lmeval_qwen"


def test_lm_eval_numbers_equal_rerankeval_rerank_on_the_exported_samples() -> None:
    (results,) = REF.glob("lm_eval/*/results_*.json")
    got = json.loads(results.read_text())["results"]["humaneval_plus_rm"]
    rerank = json.loads((REF / "rerank_metrics.json").read_text())
    pass1 = {name: r["plus"]["pass@1"] for name, r in rerank["rerankers"].items()}
    assert got["pass@1,plain"] == rerank["plus"]["plain_pass@1"] == pass1["random"]
    assert got["pass@n,oracle"] == rerank["plus"]["oracle_pass@n"] == pass1["oracle"]
    assert got["pass@1,first"] == pass1["first"]
    for name in ("coderm", "codet", "rm"):
        assert got[f"pass@1,rerank-{name}"] == pass1[name], name
    quality = rerank["rm_quality"]["rm"]["plus"]
    assert got["rm_auc,rerank-rm"] == pytest.approx(quality["auc"]["value"])
    assert got["rm_ece,rerank-rm"] == pytest.approx(quality["ece"]["value"])
    ks = [got[f"pass@{k},plain"] for k in (1, 2, 4, 8, 16)]
    assert ks == sorted(ks) and ks[-1] == got["pass@n,oracle"]  # pass@16 of 16 samples is the oracle
    assert len((REF / "samples.jsonl").read_text().splitlines()) == 40 * 16
