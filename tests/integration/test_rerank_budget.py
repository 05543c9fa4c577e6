"""``rerank --budget``: a run executes only the tests an allocation pays for (real sandbox, toy problems)."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import hand_benchmark
import pytest
from click.testing import CliRunner

from rerankeval.core.types import Candidate, Problem, ProgramOutcome
from rerankeval.errors import InputError
from rerankeval.pipeline import RerankConfig, RerankerChoice, run_rerank
from rerankeval.runs import read_jsonl
from rerankeval.sandbox import LocalExecutor

# Every candidate program and every test is distinct, and no canonical solution equals a candidate,
# so the sandbox runs exactly one test per matrix cell (nothing is deduplicated).
PROGRAMS = {
    "T/0": [
        "def f(x):\n    return x + 1\n",
        "def f(x):\n    return x + 2\n",
        "def f(x):\n    return 1 + x\n",
        "def f(x):\n    return 1\n",
    ],
    "T/1": [
        "def f(x):\n    return x * 2\n",
        "def f(x):\n    return x + x\n",
        "def f(x):\n    return x ** 2\n",
    ],
}
TESTS = {
    "T/0": [f"assert f({i}) == {i + 1}" for i in range(7)] + ["assert f(0) == 2"],
    "T/1": [f"assert f({i}) == {2 * i}" for i in range(1, 8)] + ["assert f(3) == 9"],
}
CORRECT = {("T/0", 0), ("T/0", 2), ("T/1", 0), ("T/1", 1)}
RERANKERS = ("coderm", "codet", "mbr-exec", "random", "oracle")


PROBLEMS = {
    "T/0": Problem("T/0", "add one", "f", "def f(y):\n    return y + 1\n"),
    "T/1": Problem("T/1", "double", "f", "def f(y):\n    return 2 * y\n"),
}


def HandBenchmark() -> Any:  # noqa: N802 - reads as the class it returns
    """Ground truth given by hand (CORRECT); canonical solutions unlike any candidate."""
    return hand_benchmark.HandBenchmark(PROBLEMS, CORRECT, "toy-budget-1")


class CountingExecutor:
    """Counts the tests the sandbox runs; optionally stops after some jobs (a kill)."""

    def __init__(self, inner: LocalExecutor, stop_after: int | None = None) -> None:
        self.inner, self.stop_after = inner, stop_after
        self.tests_run = 0
        self.batches = 0

    def run(
        self, jobs: Sequence[Any], assets: Mapping[str, Any], progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, ProgramOutcome]]:
        self.batches += 1
        for n, (i, res) in enumerate(self.inner.run(jobs, assets, progress)):
            if self.stop_after is not None and n >= self.stop_after:
                raise KeyboardInterrupt
            self.tests_run += len(jobs[i].tests)
            yield i, res


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def executor() -> Iterator[LocalExecutor]:
    with LocalExecutor(parallel=2) as ex:
        yield ex


def config(tmp: Path, out: str, **kw: Any) -> tuple[RerankConfig, list[Candidate]]:
    samples, tests, cands = hand_benchmark.write_inputs(tmp, PROGRAMS, TESTS)
    kw = {"time_limit_s": 0.5, "bootstrap": 20, "cache": False, **kw}
    choices = tuple(RerankerChoice(n, n) for n in RERANKERS)
    return RerankConfig("toy", samples, tests, choices, tmp / out, **kw), cands


def spent_tests(run: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in read_jsonl(run / "tests.jsonl"):
        out.setdefault(r["problem_id"], []).append(r["test_id"])
    return out


def test_uniform_budget_covering_every_test_gives_the_full_runs_results(
    tmp_path: Path, executor: LocalExecutor
) -> None:
    full_cfg, cands = config(tmp_path, "full")
    full = run_rerank(full_cfg, HandBenchmark(), cands, executor=executor).metrics
    cfg, _ = config(tmp_path, "budget", budget=50)
    budgeted = run_rerank(cfg, HandBenchmark(), cands, executor=executor).metrics
    b = budgeted.pop("budget")
    assert json.dumps(budgeted, sort_keys=True) == json.dumps(full, sort_keys=True)  # NaN-safe
    assert (b["method"], b["tests"], b["executions"], b["full_executions"], b["fraction"]) == (
        "uniform",
        16,
        4 * 8 + 3 * 8,
        56,
        1.0,
    )
    for name in ("matrix.jsonl", "canonical.jsonl", "tests.jsonl"):
        rows = sorted(map(json.dumps, read_jsonl(full_cfg.out / name)))
        assert rows == sorted(map(json.dumps, read_jsonl(cfg.out / name))), name


@pytest.mark.parametrize(
    ("allocation", "options"),
    [("uniform", {}), ("greedy", {"first_batch": 2}), ("adaptive", {"step": 2, "slack": 0.2})],
)
def test_a_budgeted_run_executes_only_the_cells_it_counts(
    tmp_path: Path, executor: LocalExecutor, allocation: str, options: dict[str, Any]
) -> None:
    cfg, cands = config(tmp_path, "run", budget=3, allocation=allocation, allocation_options=options)
    counting = CountingExecutor(executor)
    m = run_rerank(cfg, HandBenchmark(), cands, executor=counting).metrics
    b = m["budget"]
    spent = spent_tests(cfg.out)
    n = {p: len(cs) for p, cs in PROGRAMS.items()}
    # the matrix holds exactly the spent tests, a prefix of the artifact's order
    assert spent == {p: [f"{p}-{j}" for j in range(len(ts))] for p, ts in spent.items()}
    assert b["tests"] == sum(len(t) for t in spent.values()) == m["n_tests"] <= 6
    assert b["executions"] == sum(n[p] * len(t) for p, t in spent.items())
    # the sandbox ran those cells plus the canonical solution's, each once
    assert counting.tests_run == b["executions"] + b["tests"]
    assert counting.batches == b["requests"]
    assert b["fraction"] == pytest.approx(b["executions"] / 56)
    for r in read_jsonl(cfg.out / "matrix.jsonl"):
        assert len(r["tests"]) == len(spent[r["problem_id"]])
    if allocation == "adaptive":
        assert b["rounds"] >= 1
    # a re-run with the same budget reads every cell from the cache
    cached, _ = config(
        tmp_path, "cached", budget=3, allocation=allocation, allocation_options=options, cache=True
    )
    run_rerank(cached, HandBenchmark(), cands, executor=executor)
    again = CountingExecutor(executor)
    run_rerank(cached, HandBenchmark(), cands, executor=again, overwrite=True)
    assert again.tests_run == 0


def test_greedy_with_a_difficulty_file_spends_by_coderms_rule(
    tmp_path: Path, executor: LocalExecutor
) -> None:
    # smoothed p = (p n + 1) / (n + 2): T/0 (n=4) 0.9 -> .767, T/1 (n=3) 0.1 -> .26. Gains p (1-p)^b:
    # T/0: .767 .179 .042; T/1: .26 .192 .142 .105 .078 -> the 6 largest: T/0 x2, T/1 x4
    difficulty = tmp_path / "difficulty.jsonl"
    difficulty.write_text('{"problem_id": "T/0", "p": 0.9}\n{"problem_id": "T/1", "p": 0.1}\n')
    cfg, cands = config(tmp_path, "run", budget=3, allocation="greedy", difficulty=difficulty)
    counting = CountingExecutor(executor)
    m = run_rerank(cfg, HandBenchmark(), cands, executor=counting).metrics
    assert {p: len(t) for p, t in spent_tests(cfg.out).items()} == {"T/0": 2, "T/1": 4}
    assert m["budget"]["requests"] == 1 and counting.batches == 1  # no first batch with a difficulty file
    assert m["budget"]["executions"] == 4 * 2 + 3 * 4
    with pytest.raises(InputError, match="greedy allocation only"):
        config(tmp_path, "bad", budget=3, allocation="uniform", difficulty=difficulty)


def test_greedy_reads_a_trained_probe_on_hidden_states(tmp_path: Path, executor: LocalExecutor) -> None:
    # sigmoid(w . h + b) with w = (2, -1), b = 0.5 gives the pass rates of the test above: 0.9 and 0.1
    logit = math.log(9)
    features = tmp_path / "hidden.jsonl"
    rows = [{"problem_id": "T/0", "h": [logit / 2, 0.5]}, {"problem_id": "T/1", "h": [-logit / 2, -0.5]}]
    features.write_text("".join(json.dumps(r) + "\n" for r in rows))
    probe = tmp_path / "probe.json"
    probe.write_text(json.dumps({"w": [2.0, -1.0], "b": 0.5}))
    cfg, cands = config(tmp_path, "run", budget=3, allocation="greedy", difficulty=features, probe=probe)
    m = run_rerank(cfg, HandBenchmark(), cands, executor=executor).metrics
    assert {p: len(t) for p, t in spent_tests(cfg.out).items()} == {"T/0": 2, "T/1": 4}
    assert m["budget"]["probe"] == str(probe)
    probe.write_text(json.dumps({"w": [2.0], "b": 0.0}))
    bad, _ = config(tmp_path, "bad", budget=3, allocation="greedy", difficulty=features, probe=probe)
    with pytest.raises(InputError, match="2 dimensions, the probe has 1"):
        run_rerank(bad, HandBenchmark(), cands, executor=executor)


def test_adaptive_stable_rule_follows_a_named_reranker(tmp_path: Path, executor: LocalExecutor) -> None:
    options = {"step": 2, "rule": "stable", "patience": 1, "select": "codet"}
    cfg, cands = config(tmp_path, "run", budget=4, allocation="adaptive", allocation_options=options)
    m = run_rerank(cfg, HandBenchmark(), cands, executor=executor).metrics
    assert m["budget"]["tests"] <= 8 and m["rerankers"]["codet"]["plus"]["pass@1"] == 1.0
    bad, _ = config(tmp_path, "bad", budget=4, allocation="adaptive", allocation_options={"select": "oracle"})
    with pytest.raises(InputError, match="pass matrix alone"):
        run_rerank(bad, HandBenchmark(), cands, executor=executor)


def test_an_interrupted_budgeted_run_resumes_to_the_same_result(
    tmp_path: Path, executor: LocalExecutor
) -> None:
    kw: dict[str, Any] = {"budget": 3, "allocation": "adaptive", "allocation_options": {"step": 1}}
    cfg, cands = config(tmp_path, "run", cache=True, **kw)
    with pytest.raises(KeyboardInterrupt):
        run_rerank(cfg, HandBenchmark(), cands, executor=CountingExecutor(executor, stop_after=4))
    again = CountingExecutor(executor)
    resumed = run_rerank(cfg, HandBenchmark(), cands, executor=again, resume=True)
    fresh_cfg, _ = config(tmp_path, "fresh", **kw)
    everything = CountingExecutor(executor)
    fresh = run_rerank(fresh_cfg, HandBenchmark(), cands, executor=everything)
    assert json.dumps(resumed.metrics, sort_keys=True) == json.dumps(fresh.metrics, sort_keys=True)
    assert 0 < again.tests_run < everything.tests_run, "cells run before the kill came from the cache"
    assert spent_tests(cfg.out) == spent_tests(fresh_cfg.out)
    changed, _ = config(tmp_path, "run", cache=True, **{**kw, "budget": 4})
    with pytest.raises(InputError, match="budget"):
        run_rerank(changed, HandBenchmark(), cands, executor=executor, resume=True)


def test_report_reads_a_budgeted_run(tmp_path: Path, executor: LocalExecutor) -> None:
    from rerankeval.cli.report_cmd import report
    from rerankeval.report.frames import load_run

    cfg, cands = config(
        tmp_path, "run", budget=2.5, allocation="greedy", allocation_options={"first_batch": 1}
    )
    run_rerank(cfg, HandBenchmark(), cands, executor=executor)
    frames = load_run(cfg.out)
    widths = {p: len(m.test_ids) for p, m in frames.matrices.items()}
    assert widths == {p: len(t) for p, t in spent_tests(cfg.out).items()} and sum(widths.values()) == 5
    res = CliRunner().invoke(
        report, [str(cfg.out), "--out", str(tmp_path / "report"), "--bootstrap", "20", "--orders", "1"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "report" / "report.md").exists()
    assert Counter(r["problem_id"] for r in read_jsonl(cfg.out / "matrix.jsonl")) == {"T/0": 4, "T/1": 3}
