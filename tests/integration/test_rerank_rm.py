"""`rerankeval rerank --reranker rm --rm SPEC`: execution-free reranking of samples, with or without tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import hand_benchmark
import pytest

from rerankeval.core.types import Candidate, Problem
from rerankeval.errors import InputError
from rerankeval.generation.scoring import ScoreResult
from rerankeval.pipeline import RerankConfig, RerankerChoice, run_rerank
from rerankeval.pipeline.rm_scoring import UNIT_TEST_REWARD
from rerankeval.runs import read_jsonl

# candidate code -> (correct, the score the fake model gives it)
CANDIDATES = {
    "P/0": [
        ("return 1", False, 0.2),
        ("return x", True, 0.9),
        ("return x", True, 0.9),
        ("return 2", False, 0.4),
    ],
    "P/1": [("return 3", False, 0.7), ("return x*2", True, 0.6), ("return 4", False, 0.1)],
}


def LabelledBenchmark() -> Any:  # noqa: N802 - reads as the class it returns
    problems = {pid: Problem(pid, f"problem {pid}", "f", None) for pid in CANDIDATES}
    correct = {(pid, i) for pid, rows in CANDIDATES.items() for i, (_, ok, _) in enumerate(rows) if ok}
    return hand_benchmark.HandBenchmark(problems, correct, "toy-rm")


class TableScorer:
    """A scorer that reads its score from CANDIDATES (a model's outputs, without the model)."""

    spec, kind, fingerprint = "table", "verifier", "table-1"

    def __init__(self) -> None:
        self.calls = 0

    def score(
        self, inputs: Sequence[Any], template: Any, progress: Callable[[int], None] | None = None
    ) -> list[ScoreResult]:
        self.calls += len(inputs)
        table = {(f"problem {pid}", code): s for pid, rows in CANDIDATES.items() for code, _, s in rows}
        keys = [
            (x.mapping["problem"], x.mapping["candidate"].strip().splitlines()[-1].strip()) for x in inputs
        ]
        out = [ScoreResult(table[k], table[k], truncated=False, n_tokens=5) for k in keys]
        if progress:
            progress(len(out))
        return out


@pytest.fixture()
def scorer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TableScorer:
    s = TableScorer()
    monkeypatch.setattr("rerankeval.rerankers.reward_model.make_scorer", lambda spec, **kw: s)
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    return s


def _config(
    tmp: Path, out: str, tests: Path | None = None, **kw: Any
) -> tuple[RerankConfig, list[Candidate]]:
    cands = [Candidate(p, i, code) for p, rows in CANDIDATES.items() for i, (code, _, _) in enumerate(rows)]
    samples = tmp / "samples.jsonl"
    samples.write_text(
        "".join(json.dumps({"task_id": c.problem_id, "solution": c.code}) + "\n" for c in cands)
    )
    choices = (RerankerChoice("rm", "rm", {"rm": "table"}), RerankerChoice("first", "first"))
    cfg = RerankConfig(
        dataset="toy",
        samples=samples,
        tests=tests,
        rerankers=choices,
        out=tmp / out,
        bootstrap=20,
        cache=False,
        **kw,
    )
    return cfg, cands


def test_rm_reranks_samples_without_tests(tmp_path: Path, scorer: TableScorer) -> None:
    cfg, cands = _config(tmp_path, "run")
    res = run_rerank(cfg, LabelledBenchmark(), cands)
    m = res.metrics
    # P/0: the two 0.9 candidates tie (both correct); P/1: 0.7 is wrong -> 0.5
    assert m["rerankers"]["rm"]["plus"]["pass@1"] == pytest.approx((1.0 + 0.0) / 2)
    assert m["rerankers"]["first"]["plus"]["pass@1"] == 0.0
    assert m["n_tests"] == 0 and "unit_test_quality" not in m
    q = m["rm_quality"]["rm"]["plus"]
    # pooled AUC over 7 candidates: positives 0.9, 0.9, 0.6; negatives 0.2, 0.4, 0.7, 0.1 -> 11 of 12 pairs
    assert q["auc"]["value"] == pytest.approx(11 / 12)
    at = {row["k"]: row for row in q["rm_at_k"]}
    assert sorted(at) == [1, 2, 4]  # powers of two up to the largest N
    assert at[1]["rm"]["value"] == pytest.approx(m["plus"]["plain_pass@1"]) == at[1]["random"]["value"]
    assert at[4]["rm"]["value"] == pytest.approx(m["rerankers"]["rm"]["plus"]["pass@1"])  # k = all: the pick
    assert at[4]["oracle"]["value"] == 1.0 and q["ece"]["n_bins"] == 10
    rows = list(read_jsonl(res.path / "rm_scores.jsonl"))
    assert len(rows) == 7 and {r["scorer"] for r in rows} == {"rm"}
    assert [r["score"] for r in rows if r["problem_id"] == "P/1"] == [0.7, 0.6, 0.1]
    picked = [json.loads(x) for x in (res.path / "selected" / "rm.jsonl").read_text().splitlines()]
    assert [(r["task_id"], r["index"]) for r in picked] == [("P/0", 1), ("P/1", 0)]
    assert not (res.path / "matrix.jsonl").exists()
    assert json.loads((res.path / "run.json").read_text())["fingerprint"]["tests_sha256"] is None


def test_subsampled_draws_rank_the_scores_of_the_kept_candidates(tmp_path: Path, scorer: TableScorer) -> None:
    cfg, cands = _config(tmp_path, "run", num_samples=2, draws=8)
    m = run_rerank(cfg, LabelledBenchmark(), cands).metrics
    assert scorer.calls == 7  # scored once, before the draws
    assert len(m["rerankers"]["rm"]["plus"]["by_draw"]) == 8
    assert m["rerankers"]["rm"]["plus"]["pass@1"] >= m["plus"]["plain_pass@1"]


def test_unit_test_rerankers_without_tests_name_the_missing_flag(tmp_path: Path, scorer: TableScorer) -> None:
    cfg, cands = _config(tmp_path, "run")
    cfg = RerankConfig(
        **{
            **cfg.as_dict(),
            "samples": cfg.samples,
            "out": cfg.out,
            "tests": None,
            "rerankers": (RerankerChoice("coderm", "coderm"),),
        }
    )
    with pytest.raises(InputError, match=r"'coderm' ranks by generated unit tests.*--tests"):
        run_rerank(cfg, LabelledBenchmark(), cands)
    assert not cfg.out.exists()


def test_with_tests_the_unit_test_reward_is_judged_too(tmp_path: Path, scorer: TableScorer) -> None:
    tests = tmp_path / "tests.jsonl"
    rows = [("P/0", "assert f(3) == 3"), ("P/1", "assert f(3) == 6")]
    tests.write_text(
        "".join(
            json.dumps(
                {
                    "task_id": p,
                    "test_id": f"t{i}",
                    "test": t,
                    "style": "assert",
                    "generator": "hand",
                    "sample_index": i,
                    "count": 1,
                }
            )
            + "\n"
            for i, (p, t) in enumerate(rows)
        )
    )
    cfg, cands = _config(tmp_path, "run", tests=tests, time_limit_s=1.0)
    cfg = RerankConfig(
        **{
            **cfg.as_dict(),
            "samples": cfg.samples,
            "out": cfg.out,
            "tests": tests,
            "rerankers": (*cfg.rerankers, RerankerChoice("coderm", "coderm")),
        }
    )
    cands = [Candidate(c.problem_id, c.index, f"def f(x):\n    {c.code}\n") for c in cands]
    cfg.samples.write_text(
        "".join(json.dumps({"task_id": c.problem_id, "solution": c.code}) + "\n" for c in cands)
    )
    m = run_rerank(cfg, LabelledBenchmark(), cands).metrics
    assert m["rerankers"]["coderm"]["plus"]["pass@1"] == 1.0  # each test passes exactly the correct ones
    assert m["rm_quality"][UNIT_TEST_REWARD]["plus"]["auc"]["value"] == 1.0
    assert set(m["rm_quality"]) == {"rm", UNIT_TEST_REWARD}


def test_hybrid_takes_the_tests_where_the_verifier_is_wrong(tmp_path: Path, scorer: TableScorer) -> None:
    tests = tmp_path / "tests.jsonl"
    rows = [("P/0", "assert f(3) == 3"), ("P/1", "assert f(3) == 6")]
    tests.write_text(
        "".join(
            json.dumps(
                {
                    "task_id": p,
                    "test_id": f"t{i}",
                    "test": t,
                    "style": "assert",
                    "generator": "hand",
                    "sample_index": i,
                    "count": 1,
                }
            )
            + "\n"
            for i, (p, t) in enumerate(rows)
        )
    )
    cfg, cands = _config(tmp_path, "run", tests=tests, time_limit_s=1.0)
    hybrid = RerankerChoice("hybrid", "hybrid", {"rm": "table"})
    cfg = RerankConfig(
        **{
            **cfg.as_dict(),
            "samples": cfg.samples,
            "out": cfg.out,
            "tests": tests,
            "rerankers": (*cfg.rerankers, hybrid),
        }
    )
    cands = [Candidate(c.problem_id, c.index, f"def f(x):\n    {c.code}\n") for c in cands]
    cfg.samples.write_text(
        "".join(json.dumps({"task_id": c.problem_id, "solution": c.code}) + "\n" for c in cands)
    )
    m = run_rerank(cfg, LabelledBenchmark(), cands).metrics
    # P/1: the verifier prefers a wrong candidate (0.7 > 0.6); the one test passes only the right one
    assert m["rerankers"]["rm"]["plus"]["pass@1"] == 0.5
    assert m["rerankers"]["hybrid"]["plus"]["pass@1"] == 1.0
    assert set(m["rm_quality"]) == {"rm", "hybrid", UNIT_TEST_REWARD}
    sel = [r for r in read_jsonl(cfg.out / "selections.jsonl") if r["reranker"] == "hybrid"]
    p1 = next(r for r in sel if r["problem_id"] == "P/1")
    assert p1["scores"] == pytest.approx([0.35, 0.8, 0.05]) and p1["pick"] == 1


def test_scores_reach_the_disk_in_chunks_no_smaller_than_the_scorers_batch() -> None:
    from types import SimpleNamespace

    from rerankeval.pipeline import rm_scoring

    def reranker(batch_size: Any) -> Any:
        return SimpleNamespace(scorer=SimpleNamespace(options=SimpleNamespace(batch_size=batch_size)))

    assert rm_scoring._chunk_size(reranker(8)) == rm_scoring.CHUNK
    assert rm_scoring._chunk_size(reranker(rm_scoring.CHUNK * 4)) == rm_scoring.CHUNK * 4
    assert rm_scoring._chunk_size(SimpleNamespace(scorer=None)) == rm_scoring.CHUNK
    assert rm_scoring._chunk_size(reranker(None)) == rm_scoring.CHUNK
