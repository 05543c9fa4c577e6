"""A whole rerank run on the real sandbox with hand-made ground truth: files, metrics, resume."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import hand_benchmark
import pytest

from rerankeval.core.types import Candidate, Problem, ProgramOutcome
from rerankeval.errors import InputError, RunExistsError
from rerankeval.pipeline import RerankConfig, RerankerChoice, run_rerank
from rerankeval.runs import read_jsonl
from rerankeval.sandbox import LocalExecutor

PROGRAMS = {
    "T/0": [
        "def f(x):\n    return x + 1\n",
        "def f(x):\n    return x + 2\n",
        "def f(x):\n    return x + 1\n",
        "def f(x):\n    return 1\n",
    ],
    "T/1": [
        "def f(x):\n    return x * 2\n",
        "def f(x):\n    return x + x\n",
        "def f(x):\n    return x ** 2\n",
    ],
}
TESTS = {
    "T/0": ["assert f(1) == 2", "assert f(0) == 1", "assert f(5) == 7"],
    "T/1": ["assert f(2) == 4", "assert f(3) == 6", "assert f(3) == 9"],
}
CORRECT = {("T/0", 0): True, ("T/0", 2): True, ("T/1", 0): True, ("T/1", 1): True}


PROBLEMS = {
    "T/0": Problem("T/0", "add one", "f", "def f(x):\n    return x + 1\n"),
    "T/1": Problem("T/1", "double", "f", "def f(x):\n    return 2 * x\n"),
}


class HandBenchmark(hand_benchmark.HandBenchmark):
    """Ground truth given by hand: the correct programs are listed in CORRECT."""

    problems = PROBLEMS

    def __init__(self) -> None:
        super().__init__(PROBLEMS, CORRECT, "toy-1")


class StoppingExecutor:
    def __init__(self, inner: LocalExecutor, stop_after: int | None) -> None:
        self.inner, self.stop_after, self.n_jobs = inner, stop_after, 0

    def run(
        self, jobs: Sequence[Any], assets: Mapping[str, Any], progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, ProgramOutcome]]:
        self.n_jobs += len(jobs)
        for n, res in enumerate(self.inner.run(jobs, assets, progress)):
            if self.stop_after is not None and n >= self.stop_after:
                raise KeyboardInterrupt
            yield res


@pytest.fixture(scope="module")
def executor() -> Iterator[LocalExecutor]:
    with LocalExecutor(parallel=2) as ex:
        yield ex


def _inputs(tmp: Path) -> tuple[Path, Path, list[Candidate]]:
    return hand_benchmark.write_inputs(tmp, PROGRAMS, TESTS, counts={0: 2})  # test 0 generated twice


def _config(tmp: Path, out: str, **kw: Any) -> tuple[RerankConfig, list[Candidate]]:
    samples, tests, cands = _inputs(tmp)
    choices = tuple(RerankerChoice(n, n) for n in ("random", "coderm", "codet", "mbr-exec", "oracle"))
    cfg = RerankConfig(
        dataset="toy",
        samples=samples,
        tests=tests,
        rerankers=choices,
        out=tmp / out,
        time_limit_s=0.5,
        bootstrap=20,
        cache=False,
        **kw,
    )
    return cfg, cands


def test_a_run_writes_every_file_and_the_expected_numbers(tmp_path: Path, executor: LocalExecutor) -> None:
    cfg, cands = _config(tmp_path, "run")
    res = run_rerank(cfg, HandBenchmark(), cands, executor=executor)
    m = res.metrics
    assert m["plus"]["plain_pass@1"] == pytest.approx((2 / 4 + 2 / 3) / 2)
    assert m["plus"]["oracle_pass@n"] == 1.0
    # columns: test 0 twice (count 2), then tests 1 and 2. T/0 rows: pppf / fffp / pppf / ffpf -> every
    # rule picks {0, 2}; T/1 rows: pppf / pppf / ppfp -> {0, 1}
    for name in ("coderm", "codet", "oracle"):
        assert m["rerankers"][name]["plus"]["pass@1"] == 1.0, name
    assert m["rerankers"]["random"]["plus"]["pass@1"] == pytest.approx(m["plus"]["plain_pass@1"])
    assert m["rerankers"]["random"]["plus"]["pick_pass@1"] == 1.0  # index 0 is correct in both problems
    assert m["rerankers"]["mbr-exec"]["plus"]["pick_pass@1"] == 1.0
    assert m["unit_test_quality"]["plus"]["test_accuracy"] == pytest.approx((3 / 4 + 3 / 4) / 2)
    files = {p.name for p in res.path.iterdir()}
    assert {
        "run.json",
        "candidates.jsonl",
        "gold.jsonl",
        "matrix.jsonl",
        "canonical.jsonl",
        "tests.jsonl",
        "selections.jsonl",
        "metrics.json",
        "selected",
    } <= files
    meta = json.loads((res.path / "run.json").read_text())
    assert meta["status"] == "finished"
    assert meta["rerankers"][1] == {
        "label": "coderm",
        "name": "coderm",
        "args": {},
        "dist": "rerankeval",
        "version": meta["versions"]["rerankeval"],
        "value": "rerankeval.rerankers.unit_tests:CodeRMReranker",
    }
    matrix = {(r["problem_id"], r["index"]): r["tests"] for r in read_jsonl(res.path / "matrix.jsonl")}
    assert matrix[("T/0", 0)] == "pppf" and matrix[("T/0", 3)] == "ffpf" and len(matrix) == 7
    picked = [json.loads(line) for line in (res.path / "selected" / "codet.jsonl").read_text().splitlines()]
    assert [(r["task_id"], r["index"]) for r in picked] == [("T/0", 0), ("T/1", 0)]
    sel = [r for r in read_jsonl(res.path / "selections.jsonl") if r["reranker"] == "mbr-exec"]
    assert [r["chosen"] for r in sel] == [[0, 2], [0, 1]]
    with pytest.raises(RunExistsError):
        run_rerank(cfg, HandBenchmark(), cands, executor=executor)


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path: Path, executor: LocalExecutor) -> None:
    cfg, cands = _config(tmp_path, "run")
    with pytest.raises(KeyboardInterrupt):
        run_rerank(cfg, HandBenchmark(), cands, executor=StoppingExecutor(executor, stop_after=3))
    meta = json.loads((cfg.out / "run.json").read_text())
    assert meta["status"] == "interrupted"  # run.json says the run stopped before its end
    kept = list(read_jsonl(cfg.out / "matrix.jsonl")) + list(
        read_jsonl(cfg.out / "canonical.jsonl", missing_ok=True)
    )
    assert 1 <= len(kept) < 9
    resumed = StoppingExecutor(executor, None)
    res = run_rerank(cfg, HandBenchmark(), cands, executor=resumed, resume=True)
    # 9 rows (7 candidates + 2 canonical), 7 distinct programs (T/0's canonical is candidate 0); programs
    # with a finished row are not run again
    programs = {c.sha for c in cands} | {
        Candidate(p, -1, b.reference).sha for p, b in HandBenchmark.problems.items()
    }
    assert len(programs) == 7
    assert resumed.n_jobs == len(programs - {r["sha"] for r in kept})
    fresh_cfg, _ = _config(tmp_path, "fresh")
    fresh = run_rerank(fresh_cfg, HandBenchmark(), cands, executor=executor)
    assert json.dumps(res.metrics, sort_keys=True) == json.dumps(fresh.metrics, sort_keys=True)  # NaN-safe


def test_resume_refuses_changed_inputs(tmp_path: Path, executor: LocalExecutor) -> None:
    cfg, cands = _config(tmp_path, "run")
    run_rerank(cfg, HandBenchmark(), cands, executor=executor)
    with open(cfg.tests, "a") as f:
        f.write(
            json.dumps(
                {
                    "task_id": "T/0",
                    "test_id": "new",
                    "test": "assert f(2) == 3",
                    "style": "assert",
                    "generator": "hand",
                    "sample_index": 9,
                }
            )
            + "\n"
        )
    with pytest.raises(InputError, match="tests_sha256"):
        run_rerank(cfg, HandBenchmark(), cands, executor=executor, resume=True)


def test_subsampling_averages_seeded_draws(tmp_path: Path, executor: LocalExecutor) -> None:
    cfg, cands = _config(tmp_path, "sub", num_tests=2, num_samples=2, draws=4)
    a = run_rerank(cfg, HandBenchmark(), cands, executor=executor).metrics
    assert a["draws"] == 4 and len(a["rerankers"]["coderm"]["plus"]["by_draw"]) == 4
    assert a["rerankers"]["coderm"]["plus"]["ci_tests"]["B"] == 4
    b = run_rerank(cfg, HandBenchmark(), cands, executor=executor, overwrite=True).metrics
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # NaN-safe


def test_a_benchmark_with_its_own_views_runs_the_same_loop(tmp_path: Path, executor: LocalExecutor) -> None:
    """The engine reads the adapter's views, not EvalPlus's: one view ("resolved") or a third one."""
    cfg, cands = _config(tmp_path, "one")
    resolved = {k for k in CORRECT if k != ("T/1", 1)}  # one correct program fails this view
    bench = hand_benchmark.HandBenchmark(
        PROBLEMS, {"resolved": resolved}, "toy-1v", views={"resolved": "Toy"}
    )
    m = run_rerank(cfg, bench, cands, executor=executor).metrics
    assert m["views"] == {"resolved": "Toy"}
    assert "plus" not in m and "base" not in m
    assert m["resolved"]["plain_pass@1"] == pytest.approx((2 / 4 + 1 / 3) / 2)
    assert set(m["rerankers"]["oracle"]) == {"resolved"}
    assert m["rerankers"]["oracle"]["resolved"]["pass@1"] == 1.0
    assert set(m["unit_test_quality"]) == {"resolved"}
    gold = {(r["problem_id"], r["index"]): r for r in read_jsonl(cfg.out / "gold.jsonl")}
    assert gold[("T/1", 1)] == {
        "problem_id": "T/1",
        "index": 1,
        "passed": False,
        "resolved_frac": None,
        "resolved_status": "fail",
    }
    from rerankeval.pipeline.table import format_markdown, format_text

    text = format_text(m)
    assert "\nToy\n" in text and "Toy+" not in text
    assert format_markdown(m).count("**Toy**") == 1

    # three views, the primary first: the extra view is ranked and reported beside the others
    views = {"strict": "Strict", "plus": "Toy+", "base": "Toy"}
    strict = {k for k in CORRECT if k[0] == "T/0"}
    bench3 = hand_benchmark.HandBenchmark(
        PROBLEMS, {"strict": strict, "plus": CORRECT, "base": CORRECT}, "toy-3v", views=views
    )
    cfg3, _ = _config(tmp_path, "three")
    m3 = run_rerank(cfg3, bench3, cands, executor=executor).metrics
    assert list(m3["views"]) == ["strict", "plus", "base"]
    assert m3["strict"]["plain_pass@1"] == pytest.approx((2 / 4 + 0) / 2)
    assert m3["plus"]["plain_pass@1"] == pytest.approx((2 / 4 + 2 / 3) / 2)
    row = next(r for r in read_jsonl(cfg3.out / "gold.jsonl") if (r["problem_id"], r["index"]) == ("T/1", 0))
    assert (row["passed"], row["plus_passed"], row["base_passed"]) == (False, True, True)


def test_an_adapter_that_drops_a_verdict_stops_the_run(tmp_path: Path, executor: LocalExecutor) -> None:
    from rerankeval.errors import HarnessFaultError

    class Dropping(HandBenchmark):
        def judge(self, candidates: Sequence[Candidate], progress: Any = None) -> list[Any]:
            return super().judge(candidates, progress)[1:]

    cfg, cands = _config(tmp_path, "drop")
    with pytest.raises(HarnessFaultError, match=r"no verdict for 1 candidate\(s\), e.g. T/0 #0"):
        run_rerank(cfg, Dropping(), cands, executor=executor)
    assert not (cfg.out / "metrics.json").exists()


def test_gold_rows_keep_the_evalplus_layout_and_read_back() -> None:
    from rerankeval.pipeline import Verdict, gold_row, verdict_of_row

    v = Verdict(
        "HumanEval/0",
        3,
        {"plus": False, "base": True},
        {"plus": 0.5, "base": 1.0},
        {"base_status": "pass", "plus_status": "fail", "base_fail_at": None, "plus_fail_at": 7},
    )
    row = gold_row(v, ["plus", "base"])
    assert row == {
        "problem_id": "HumanEval/0",
        "index": 3,
        "passed": False,
        "base_passed": True,
        "plus_frac": 0.5,
        "base_frac": 1.0,
        "base_status": "pass",
        "plus_status": "fail",
        "base_fail_at": None,
        "plus_fail_at": 7,
    }
    assert verdict_of_row(row, ["plus", "base"]) == v
    assert verdict_of_row(row, ["plus", "strict"]) is None  # written for other views: judged again
    with pytest.raises(ValueError, match="no verdict for view"):
        gold_row(v, ["resolved"])
    with pytest.raises(ValueError, match="shadow"):
        gold_row(Verdict("P", 0, {"plus": True}, record={"passed": False}), ["plus"])


def test_stdin_cases_need_an_adapter_that_runs_them(tmp_path: Path, executor: LocalExecutor) -> None:
    """A stdio test (an input/output pair, LiveCodeBench's kind) is refused by a benchmark without
    ``matrix_test``: as Python it would be a dict literal that every candidate passes."""
    from rerankeval.unittests.artifact import TestRow, stdio_test, write_tests

    cfg, cands = _config(tmp_path, "stdio")
    write_tests(cfg.tests, [TestRow("T/0", "io0", stdio_test("1\n", "2\n"), "stdio", "hand", 0)])
    with pytest.raises(InputError, match="stdin/stdout case, which toy cannot run"):
        run_rerank(cfg, HandBenchmark(), cands, executor=executor)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**TestRow("T/0", "io0", "[1]", "stdio", "hand", 0).to_json()}) + "\n")
    from rerankeval.pipeline import read_tests

    with pytest.raises(InputError, match="a stdio test must be the JSON"):
        read_tests(bad)
