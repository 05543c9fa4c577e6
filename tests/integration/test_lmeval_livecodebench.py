"""``livecodebench_rm`` through lm-eval 0.4.13's real evaluator, with a scripted model whose answers
are known: LiveCodeBench's prompt and extraction, its grader's verdicts, stdin and functional
problems reranked by generated tests, pass@1 per difficulty, and the same figures as
``rerankeval rerank --dataset livecodebench`` on the exported samples."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lcb_fixture
import pytest
from lm_eval.api.model import LM
from lmeval_tasks import TASKS_DIR

from rerankeval.errors import InputError
from rerankeval_lmeval.filters import parse_row

#: The two fixture problems (a stdin one, medium; a functional one, easy) and the programs the
#: scripted model writes for each, in sampling order.
KINDS = ("wrong", "crash", "correct", "extra")
PROBLEMS = ("abc100_c", "lc_palin")
N = len(KINDS)


class ScriptedLcbModel(LM):
    """Answers the k-th request of a problem with the fixture's ``KINDS[k]`` program in a fenced block
    between prose (as a chat model answers LiveCodeBench's prompt)."""

    def __init__(self, programs: dict[tuple[str, str], str]) -> None:
        super().__init__()
        self.programs = programs
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._seen: Counter[str] = Counter()

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        out = []
        for req in requests:
            self.requests.append((req.args[0], dict(req.args[1])))
            qid = req.doc["task_id"]
            kind = KINDS[self._seen[qid] % N]
            self._seen[qid] += 1
            out.append(
                f"Here is my solution.\n```python\n{self.programs[(qid, kind)]}\n```\nIt runs in O(n)."
            )
        return out

    def loglikelihood(self, requests: list[Any]) -> list[tuple[float, bool]]:
        raise NotImplementedError

    def loglikelihood_rolling(self, requests: list[Any]) -> list[float]:
        raise NotImplementedError


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from rerankeval.unittests.artifact import TestRow, stdio_test, write_tests

    tmp = tmp_path_factory.mktemp("lcb_lmeval")
    probs = [p for p in lcb_fixture.problems() if p["row"]["question_id"] in PROBLEMS]
    data = tmp / "lcb.jsonl"
    lcb_fixture.write_rows(data, [p["row"] for p in probs])
    programs = {(p["row"]["question_id"], k): p["programs"][k] for p in probs for k in KINDS}
    cases = [("10\n", "0.1\n"), ("8\n", "0.1250\n"), ("3\n", "0.333\n")]  # the last one is a wrong test
    tests = [
        TestRow("abc100_c", f"io{i}", stdio_test(a, b), "stdio", "hand", i) for i, (a, b) in enumerate(cases)
    ]
    tests += [
        TestRow("lc_palin", f"a{i}", f"assert Solution().isPalindrome({s!r}) == {ok}", "assert", "hand", i)
        for i, (s, ok) in enumerate([("abba", True), ("abc", False), ("x", True), ("", True)])
    ]
    write_tests(tmp / "tests.jsonl", tests)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RERANKEVAL_CACHE_DIR", str(tmp / "cache"))
        for var in ("RERANKEVAL_TESTS", "RERANKEVAL_TEST_GENERATOR", "RERANKEVAL_REPEATS", "RERANKEVAL_RM"):
            mp.delenv(var, raising=False)
        yield {
            "metadata": {
                "dataset_path": str(data),
                "tests": str(tmp / "tests.jsonl"),
                "repeats": N,
                "workers": 2,
            },
            "programs": programs,
        }


def evaluate(metadata: dict[str, Any], programs: dict[tuple[str, str], str]) -> tuple[dict[str, Any], Any]:
    from lm_eval.evaluator import evaluate as lm_eval_evaluate
    from lm_eval.tasks import TaskManager

    lm = ScriptedLcbModel(programs)
    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)
    res = lm_eval_evaluate(
        lm=lm,
        task_dict=tm.load(["livecodebench_rm"]),
        log_samples=True,
        bootstrap_iters=0,
        confirm_run_unsafe_code=True,
    )
    assert res is not None
    return res, lm


@pytest.fixture(scope="module")
def run(inputs: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    return evaluate(inputs["metadata"], inputs["programs"])


def test_one_pass_reports_plain_rerankers_oracle_and_per_difficulty(run: tuple[dict[str, Any], Any]) -> None:
    res, _ = run
    got = res["results"]["livecodebench_rm"]
    # abc100_c: wrong rounds, crash divides by zero, correct and extra (6 digits: equal as decimals)
    # pass; lc_palin: correct and extra pass. The first sample of each is wrong.
    assert got["pass@1,plain"] == pytest.approx((2 / 4 + 2 / 4) / 2)
    assert got["pass@1,first"] == 0.0
    assert got["pass@1,rerank-coderm"] == 1.0  # the tests single out the correct programs
    assert got["pass@n,oracle"] == 1.0
    assert got["pass@1_medium,plain"] == pytest.approx(2 / 4)  # abc100_c alone
    assert got["pass@1_easy,rerank-coderm"] == 1.0  # lc_palin alone
    assert "pass@1_hard,plain" not in got  # no hard problem in this run


def test_prompt_is_livecodebench_and_answers_are_not_cut(run: tuple[dict[str, Any], Any]) -> None:
    _, lm = run
    contexts = {ctx for ctx, _ in lm.requests}
    assert len(lm.requests) == 2 * N and len(contexts) == 2
    stdin = next(c for c in contexts if "Read the inputs from stdin" in c)
    functional = next(c for c in contexts if "### Format: You will use the following starter code" in c)
    for ctx in (stdin, functional):
        assert ctx.startswith("You are an expert Python programmer.")  # the system message (description)
        assert "### Question:\n" in ctx and ctx.rstrip().endswith(
            "### Answer: (use the provided format with backticks)"
        )
    assert "class Solution:" in functional
    gen = lm.requests[0][1]
    assert gen["max_gen_toks"] == 2048 and not any("```" in s for s in gen["until"])  # no fence stop


def test_logged_rows_carry_livecodebench_results_and_matrix(run: tuple[dict[str, Any], Any]) -> None:
    res, _ = run
    rows = {
        s["doc"]["task_id"]: parse_row(s["filtered_resps"][0])
        for s in res["samples"]["livecodebench_rm"]
        if s["filter"] == "rerank-coderm"
    }
    cands = rows["abc100_c"]["candidates"]
    assert [c["passed"] for c in cands] == [False, False, True, True]
    assert cands[1]["lcb_results"] == [-4]  # a runtime error on the first test, LiveCodeBench's code
    assert [c["tests_passed"] for c in cands] == [1, 0, 2, 2] and cands[0]["n_tests"] == 3
    assert rows["abc100_c"]["picked"] in (2, 3) and rows["lc_palin"]["picked_passed"]


def test_figures_equal_rerankeval_rerank_on_the_exported_samples(
    run: tuple[dict[str, Any], Any], inputs: dict[str, Any], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from rerankeval.cli.main import _register, cli
    from rerankeval_lmeval.export import export_samples

    res, _ = run
    logged = tmp_path / "samples_livecodebench_rm.jsonl"
    logged.write_text("".join(json.dumps(s) + "\n" for s in res["samples"]["livecodebench_rm"]))
    assert export_samples(logged, tmp_path / "samples.jsonl") == 2 * N
    meta = inputs["metadata"]
    _register()
    out = CliRunner().invoke(
        cli,
        ["rerank", "--dataset", "livecodebench", "--dataset-path", meta["dataset_path"],
         "--samples", str(tmp_path / "samples.jsonl"), "--tests", meta["tests"],
         "--reranker", "first", "--reranker", "coderm", "--reranker", "codet",
         "--bootstrap", "0", "--parallel", "2", "--out", str(tmp_path / "run")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    got = res["results"]["livecodebench_rm"]
    assert got["pass@1,plain"] == pytest.approx(m["pass"]["plain_pass@1"])
    assert got["pass@n,oracle"] == pytest.approx(m["pass"]["oracle_pass@n"])
    for name in ("first", "coderm", "codet"):
        label = "first" if name == "first" else f"rerank-{name}"
        assert got[f"pass@1,{label}"] == pytest.approx(m["rerankers"][name]["pass"]["pass@1"]), name


def test_assert_tests_are_refused_for_livecodebench(inputs: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="test_style='assert' for livecodebench"):
        evaluate({**inputs["metadata"], "test_style": "assert"}, inputs["programs"])


def test_a_missing_dataset_file_is_named(inputs: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="dataset_path names a missing livecodebench dataset file"):
        evaluate({**inputs["metadata"], "dataset_path": str(tmp_path / "nope.jsonl")}, inputs["programs"])


def test_the_reward_model_filter_ranks_livecodebench_candidates(inputs: dict[str, Any]) -> None:
    res, _ = evaluate({**inputs["metadata"], "rm": "oracle-labels"}, inputs["programs"])
    got = res["results"]["livecodebench_rm"]
    assert got["pass@1,rerank-rm"] == 1.0 and got["rm_auc,rerank-rm"] == 1.0  # the labels as a reward
    assert got["pass@1_medium,rerank-rm"] == 1.0


def test_tests_generated_on_the_fly_per_problem_kind_rerank_livecodebench(
    inputs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """test_generator with the default test_style auto: stdio cases for the stdin problem, a unittest
    class for the functional one, generated once into the tests cache and run through the matrix."""
    from rerankeval.unittests.artifact import read_tests

    writer = lcb_fixture.ScriptedTestWriter()
    monkeypatch.setattr("rerankeval.generation.load_generator", lambda spec, **kw: writer)
    meta = {k: v for k, v in inputs["metadata"].items() if k != "tests"}
    meta |= {"test_generator": writer.spec, "n_tests": 2, "tests_cache": str(tmp_path / "tests")}
    res, _ = evaluate(meta, inputs["programs"])
    generated = [
        p for p in (tmp_path / "tests").glob("livecodebench_*.jsonl") if ".generations." not in p.name
    ]
    assert len(generated) == 1
    assert {r.style for r in read_tests(generated[0])} == {"stdio", "unittest"}
    rows = {
        s["doc"]["task_id"]: parse_row(s["filtered_resps"][0])
        for s in res["samples"]["livecodebench_rm"]
        if s["filter"] == "rerank-coderm"
    }
    # abc100_c: round(.., 1) passes 10 -> 0.1 only; correct and extra pass both cases
    assert [c["tests_passed"] for c in rows["abc100_c"]["candidates"]] == [2, 0, 4, 4]  # count 2 each
    # lc_palin: one TestCase class is one test (CodeRM's unit); `return True` fails its test_b, and
    # `s[0] == s[-1]` crashes only on "" (not tested here)
    assert [c["tests_passed"] for c in rows["lc_palin"]["candidates"]] == [0, 2, 2, 2]
    got = res["results"]["livecodebench_rm"]
    assert got["pass@1,rerank-coderm"] == pytest.approx((1.0 + 2 / 3) / 2)
