"""The benchmark adapter's optional hooks, through the engine's one loop: partial labels, the
benchmark's own prompt fields, candidate records, the ``finish`` hook and the host's own files
(what SWE-bench runs on; see ``rerankeval.pipeline.inputs.Benchmark``)."""

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
from rerankeval.pipeline import RerankConfig, RerankerChoice, Verdict, run_rerank
from rerankeval.pipeline.inputs import RunOutcome
from rerankeval.runs import read_jsonl

# problem -> candidates: (code, label or None when unknown, the fake reward model's score)
ROWS: dict[str, list[tuple[str, bool | None, float]]] = {
    "T/0": [("a", False, 0.1), ("b", True, 0.8), ("c", False, 0.3)],
    "T/1": [("d", True, 0.2), ("e", False, 0.9)],
    "T/2": [("f", None, 0.4), ("g", True, 0.7)],  # one candidate has no label: ranked, not scored
}


class PartialBenchmark(hand_benchmark.HandBenchmark):
    """Labels for some candidates only, a ``repo`` slot for the prompt, and every optional hook."""

    partial_labels = True
    selected_files = False

    def __init__(self) -> None:
        problems = {pid: Problem(pid, f"issue {pid}") for pid in ROWS}
        correct = {(p, i) for p, rows in ROWS.items() for i, (_, ok, _) in enumerate(rows) if ok}
        super().__init__(problems, correct, "partial-1", views={"resolved": "Resolved"})
        self.outcome: RunOutcome | None = None

    def judge(
        self, candidates: Sequence[Candidate], progress: Callable[[int], None] | None = None
    ) -> list[Verdict]:
        known = [c for c in candidates if ROWS[c.problem_id][c.index][1] is not None]
        return super().judge(known, progress)

    def score_fields(self, candidate: Candidate) -> dict[str, str]:
        return {"repo": f"org/{candidate.problem_id}"}

    def candidate_record(self, candidate: Candidate) -> dict[str, Any]:
        return {"agent": f"agent-{candidate.index}"}

    def own_files(self, meta: Any) -> list[str]:
        return ["host.txt"]

    def finish(self, outcome: RunOutcome) -> dict[str, Any]:
        self.outcome = outcome
        (outcome.out / "host.txt").write_text("picks\n")
        return {"host": {"n_ranked": len(next(iter(outcome.rankings.values())))}}


class FieldScorer:
    """Scores from ROWS; records the prompt fields it was given."""

    spec, kind, fingerprint = "fields", "verifier", "fields-1"

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    def score(
        self, inputs: Sequence[Any], template: Any, progress: Callable[[int], None] | None = None
    ) -> list[ScoreResult]:
        table = {(f"issue {p}", code): s for p, rows in ROWS.items() for code, _, s in rows}
        self.seen += [x.mapping for x in inputs]
        keys = [(x.mapping["problem"], x.mapping["candidate"]) for x in inputs]
        return [ScoreResult(table[k], table[k]) for k in keys]


@pytest.fixture()
def scorer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FieldScorer:
    s = FieldScorer()
    monkeypatch.setattr("rerankeval.rerankers.reward_model.make_scorer", lambda spec, **kw: s)
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    return s


def _run(tmp: Path, *choices: RerankerChoice, **kw: Any) -> tuple[PartialBenchmark, dict[str, Any]]:
    cands = [Candidate(p, i, code) for p, rows in ROWS.items() for i, (code, _, _) in enumerate(rows)]
    samples = tmp / "cands.jsonl"
    samples.write_text(
        "".join(json.dumps({"task_id": c.problem_id, "solution": c.code}) + "\n" for c in cands)
    )
    cfg = RerankConfig(
        dataset="toy", samples=samples, tests=None, rerankers=choices, out=tmp / "run", bootstrap=10
    )
    bench = PartialBenchmark()
    return bench, run_rerank(cfg, bench, cands, meta={"host_field": 1}, **kw).metrics


def test_partial_labels_rank_every_problem_and_measure_the_labelled_ones(
    tmp_path: Path, scorer: FieldScorer
) -> None:
    bench, m = _run(tmp_path, RerankerChoice("rm", "rm", {"rm": "fields"}), RerankerChoice("first", "first"))
    out = tmp_path / "run"
    # the metrics cover T/0 and T/1 (every candidate labelled); T/2 is ranked all the same
    assert m["n_problems"] == 2 and m["n_problems_unlabelled"] == 1
    assert m["resolved"]["plain_pass@1"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert m["rerankers"]["rm"]["resolved"]["pass@1"] == pytest.approx(0.5)  # picks b (right) and e (wrong)
    assert m["rerankers"]["first"]["resolved"]["pass@1"] == pytest.approx(0.5)
    rows = [r for r in read_jsonl(out / "selections.jsonl") if r["reranker"] == "rm"]
    assert {r["problem_id"]: r["pick"] for r in rows} == {"T/0": 1, "T/1": 1, "T/2": 1}
    assert next(r for r in rows if r["problem_id"] == "T/2")["expected_acc"] is None
    # the hook saw every problem's ranking and the scores, and its metrics and files are the run's
    assert bench.outcome is not None and set(bench.outcome.rankings["rm"]) == set(ROWS)
    assert bench.outcome.scores["rm"]["T/2"] == ((0.4, 0.4), (0.7, 0.7))
    assert m["host"] == {"n_ranked": 3} and (out / "host.txt").is_file()
    assert json.loads((out / "metrics.json").read_text())["host"] == {"n_ranked": 3}
    assert len(list(read_jsonl(out / "gold.jsonl"))) == 6  # the labelled candidates only
    assert {r["agent"] for r in read_jsonl(out / "candidates.jsonl")} == {"agent-0", "agent-1", "agent-2"}
    assert not (out / "selected").exists()  # the host writes its own picks
    meta = json.loads((out / "run.json").read_text())
    assert meta["host_field"] == 1 and meta["invocations"] == 1 and meta["duration_s"] >= 0
    # the benchmark's own prompt slot reached the reward model
    assert {x["repo"] for x in scorer.seen} == {"org/T/0", "org/T/1", "org/T/2"}
    assert m["rm_quality"]["rm"]["resolved"]["n_problems"] == 2


def test_a_reranker_that_reads_labels_is_refused_where_some_are_missing(
    tmp_path: Path, scorer: FieldScorer
) -> None:
    with pytest.raises(InputError, match=r"'oracle' reads the labels, and 1 problem\(s\) have unlabelled"):
        _run(tmp_path, RerankerChoice("oracle", "oracle"))


def test_overwrite_removes_the_hosts_own_files_and_a_resume_adds_up_the_time(
    tmp_path: Path, scorer: FieldScorer
) -> None:
    _run(tmp_path, RerankerChoice("first", "first"))
    out = tmp_path / "run"
    (out / "host.txt").write_text("stale\n")
    _run(tmp_path, RerankerChoice("first", "first"), resume=True)
    meta = json.loads((out / "run.json").read_text())
    assert meta["invocations"] == 2 and (out / "host.txt").read_text() == "picks\n"
    bench = PartialBenchmark()
    bench.finish = lambda outcome: {}  # type: ignore[method-assign]  # writes nothing this time
    cands = [Candidate(p, i, code) for p, rows in ROWS.items() for i, (code, _, _) in enumerate(rows)]
    cfg = RerankConfig(
        dataset="toy",
        samples=tmp_path / "cands.jsonl",
        tests=None,
        rerankers=(RerankerChoice("first", "first"),),
        out=out,
        bootstrap=10,
    )
    run_rerank(cfg, bench, cands, overwrite=True)
    assert not (out / "host.txt").exists()
