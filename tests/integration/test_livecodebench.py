"""LiveCodeBench: the dataset's schema, the grader in the sandbox, the adapter in the engine loop,
and (slow) verdict-for-verdict agreement with LiveCodeBench's own grader on a fixture."""

from __future__ import annotations

import base64
import json
import pickle
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import lcb_fixture
import pytest

from rerankeval.core.types import Candidate, ExecOutcome, ProgramOutcome
from rerankeval.errors import InputError
from rerankeval.pipeline import RerankConfig, RerankerChoice, run_rerank
from rerankeval.runs import read_jsonl
from rerankeval.sandbox import LocalExecutor
from rerankeval_livecodebench import LiveCodeBenchBenchmark, grade, load_dataset, passed
from rerankeval_livecodebench.data import decode_private, encode_private, parse_problem
from rerankeval_livecodebench.grader import results_of, stdio_matches

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def fixture_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, str, str]]]:
    return lcb_fixture.write_fixture(tmp_path_factory.mktemp("lcb") / "lcb.jsonl")


@pytest.fixture(scope="module")
def executor() -> Iterator[LocalExecutor]:
    with LocalExecutor(parallel=2) as ex:
        yield ex


def test_the_dataset_schema_is_read_as_livecodebench_reads_it(fixture_file: tuple[Path, list]) -> None:
    path, _ = fixture_file
    ds = load_dataset(path)
    assert len(ds.problems) == 22
    assert sum(p.is_stdin for p in ds.problems.values()) == 12
    p = ds.problems["abc100_a"]
    assert [t.input for t in p.tests] == ["1 2\n", "5 7\n", "-3 3\n"]  # public, then the compressed private
    assert p.difficulty == "easy" and p.fn_name is None and p.contest_date.year == 2024
    f = ds.problems["lc_two_sum"]
    assert f.fn_name == "twoSum" and f.tests[0].input == "[2, 7, 11, 15]\n9"
    sample = json.loads(f.evaluation_sample()["input_output"])
    assert sample["fn_name"] == "twoSum" and sample["outputs"][0] == "[0, 1]"
    # the date window keeps whole days, both ends inclusive (LiveCodeBench's filter_dataset_by_date)
    late = load_dataset(path, start_date="2024-07-15", end_date="2024-10-20")
    assert set(late.problems) == {"abc102_c", *(q for q in ds.problems if q.startswith("lc_"))}
    assert late.hash != ds.hash
    with pytest.raises(InputError, match="no problem in the window"):
        load_dataset(path, start_date="2030-01-01")
    with pytest.raises(InputError, match="is after"):
        load_dataset(path, start_date="2024-12-01", end_date="2024-01-01")
    with pytest.raises(InputError, match="not a date"):
        load_dataset(path, start_date="June")


def test_rows_that_are_not_the_schema_are_refused_by_name(tmp_path: Path) -> None:
    row = lcb_fixture.problems()[0]["row"]
    with pytest.raises(InputError, match="missing metadata"):
        parse_problem({k: v for k, v in row.items() if k != "metadata"}, "x.jsonl:3")
    with pytest.raises(InputError, match="difficulty 'insane'"):
        parse_problem({**row, "difficulty": "insane"})

    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("unpickled code ran",))

    hostile = base64.b64encode(zlib.compress(pickle.dumps(Boom()))).decode()
    with pytest.raises(InputError, match=r"builtins\.print, not a string"):
        parse_problem({**row, "private_test_cases": hostile})  # refused, never called
    tests = [{"input": "1\n", "output": "1\n", "testtype": "stdin"}]
    assert decode_private(encode_private(tests)) == tests == decode_private(json.dumps(tests))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(row) + "\n{oops\n")
    with pytest.raises(InputError, match=r"bad\.jsonl:2"):
        load_dataset(bad)
    with pytest.raises(InputError, match="not found"):
        load_dataset(tmp_path / "missing.jsonl")


@pytest.mark.parametrize(
    ("printed", "expected", "ok"),
    [
        ("3\n", "3", True),
        ("  3  \n\n", "3\n", True),  # the whole text and each line are stripped
        ("0.250000\n", "0.25\n", True),  # a line that differs is compared as Decimals
        ("1 2  3\n", "1 2 3\n", True),
        ("3\n\n", "3\n", True),
        ("3\n\n4", "3\n4", False),  # an inner blank line is a line
        ("YES", "Yes", False),
        ("0.30000000000000004", "0.3", False),
        ("1e3", "1000", True),  # Decimal('1e3') == Decimal('1000')
        ("abc", "abd", False),
    ],
)
def test_stdout_is_compared_as_grade_stdio_compares_it(printed: str, expected: str, ok: bool) -> None:
    assert stdio_matches(printed, expected) is ok


def test_sandbox_outcomes_map_to_livecodebench_codes() -> None:
    def out(*statuses: str, completed: bool = True) -> ProgramOutcome:
        return ProgramOutcome(tuple(ExecOutcome(s) for s in statuses), completed)  # type: ignore[arg-type]

    assert results_of(out("pass", "pass"), 2, True) == [True, True]
    assert results_of(out("pass", "fail"), 3, True) == [True, -2]
    assert results_of(out("pass", "fail"), 3, False) == [True, False]  # grade_call_based keeps the comparison
    assert results_of(out("timeout"), 3, True) == [-3]
    assert results_of(out("oom"), 3, False) == [-4]
    assert results_of(out(), 3, True) == [-4]  # did not load
    assert results_of(out("pass", completed=False), 3, True) == [True, -3]  # killed in flight
    assert passed([True, True]) and passed([]) and not passed([True, False]) and not passed([-2])


def test_the_grader_runs_in_the_sandbox_and_caches(
    fixture_file: tuple[Path, list], executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    path, progs = fixture_file
    ds = load_dataset(path)
    picked = [(q, c) for q, kind, c in progs if q in ("abc100_a", "lc_two_sum") and kind != "slow"]
    first = grade(ds.problems, picked, dataset_hash=ds.hash, timeout_s=1, executor=executor)
    assert first == [
        [True, True, True], [-2], [-4], [-2], [-4],
        [True, True, True], [True, False], [-4], [True, True, True], [-4],
    ]  # fmt: skip

    class NoRun:
        def run(self, *a: object, **k: object) -> Iterator[tuple[int, ProgramOutcome]]:
            raise AssertionError("a cached verdict ran again")

    assert grade(ds.problems, picked, dataset_hash=ds.hash, timeout_s=1, executor=NoRun()) == first  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown problem 'nope'"):
        grade(ds.problems, [("nope", "print(1)")], dataset_hash=ds.hash)
    with pytest.raises(InputError, match="whole number of seconds"):
        grade(ds.problems, picked, dataset_hash=ds.hash, timeout_s=0.5)  # type: ignore[arg-type]


def test_livecodebench_runs_through_the_engine_loop(
    fixture_file: tuple[Path, list], executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The adapter is all LiveCodeBench needs: run_rerank ranks, scores and writes the run."""
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    path, progs = fixture_file
    ds = load_dataset(path)
    keep = ("abc100_a", "abc102_b", "lc_palin", "lc_none")
    by: dict[str, list[str]] = {}
    for kind in ("wrong", "correct", "crash"):
        for q, k, code in progs:
            if q in keep and k == kind:
                by.setdefault(q, []).append(code)
    cands = [Candidate(q, i, c) for q, cs in by.items() for i, c in enumerate(cs)]
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        "".join(json.dumps({"task_id": c.problem_id, "solution": c.code}) + "\n" for c in cands)
    )
    cfg = RerankConfig(
        dataset="livecodebench",
        samples=samples,
        tests=None,
        rerankers=tuple(RerankerChoice(n, n) for n in ("first", "random", "oracle")),
        out=tmp_path / "run",
        bootstrap=20,
        cache=False,
    )
    bench = LiveCodeBenchBenchmark(ds, executor=executor, timeout_s=1)
    m = run_rerank(cfg, bench, cands, executor=executor).metrics
    assert m["views"] == {"pass": "LiveCodeBench"}
    # per problem: wrong, correct, crash -> one correct of three; `first` picks the wrong one
    assert m["pass"]["plain_pass@1"] == pytest.approx(1 / 3)
    assert m["rerankers"]["oracle"]["pass"]["pass@1"] == 1.0
    assert m["rerankers"]["first"]["pass"]["pass@1"] == 0.0
    gold = {(r["problem_id"], r["index"]): r for r in read_jsonl(cfg.out / "gold.jsonl")}
    assert gold[("abc102_b", 0)]["lcb_results"] == [True, -2] and gold[("abc102_b", 0)]["passed"] is False
    assert gold[("lc_palin", 1)]["passed"] is True and gold[("lc_palin", 1)]["pass_frac"] == 1.0
    assert gold[("lc_none", 0)]["difficulty"] == "medium"


def _upstream_python(root: Path) -> Path:
    """A separate virtual environment with LiveCodeBench's grader (kept out of the project's own)."""
    venv = root / "lcb-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    py = venv / "bin" / "python"
    pip = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "nvidia-livecodebench==26.3", "numpy", "tqdm"],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        pytest.skip(f"cannot install nvidia-livecodebench 26.3 into a test venv: {pip.stderr.strip()[-300:]}")
    return py


@pytest.mark.slow
def test_verdicts_equal_livecodebench_own_grader(
    fixture_file: tuple[Path, list], executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every program of the fixture (22 problems x correct/wrong/slow/crash/extra/hostile) gets the
    result list nvidia-livecodebench's check_correctness gives it, code for code."""
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    path, progs = fixture_file
    ds = load_dataset(path)
    py = _upstream_python(tmp_path)
    items = [{"sample": ds.problems[q].evaluation_sample(), "code": c} for q, _, c in progs]
    (tmp_path / "in.json").write_text(json.dumps(items))
    subprocess.run(
        [
            str(py),
            str(FIXTURES / "lcb_upstream_runner.py"),
            str(tmp_path / "in.json"),
            str(tmp_path / "out.json"),
            "1",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    upstream = json.loads((tmp_path / "out.json").read_text())
    ours = grade(
        ds.problems, [(q, c) for q, _, c in progs], dataset_hash=ds.hash, timeout_s=1, executor=executor
    )
    kinds = {k for _, k, _ in progs}
    assert kinds == {"correct", "wrong", "slow", "crash", "extra", "hostile"} and len(progs) == 132
    diff = [(q, k, o, u) for (q, k, _), o, u in zip(progs, ours, upstream, strict=True) if o != u]
    assert diff == []
    # every correct program passes, but one: LiveCodeBench prepends `from io import *`, so `open(0)`
    # is io.open on the real stdin, not the mocked builtins.open, and the correct abc101_b fails there
    correct = {q: r for (q, k, _), r in zip(progs, ours, strict=True) if k == "correct"}
    assert correct.pop("abc101_b") == [-4]
    assert all(passed(r) for r in correct.values())
    assert not any(
        passed(r) for (_, k, _), r in zip(progs, ours, strict=True) if k in ("wrong", "slow", "hostile")
    )


def test_rerank_cli_scores_livecodebench_samples_per_difficulty_and_month(
    fixture_file: tuple[Path, list], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from rerankeval.cli.main import _register
    from rerankeval.cli.main import cli as main

    _register()
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    path, progs = fixture_file
    wanted = {"abc100_a", "abc102_c", "lc_palin"}
    code_list: dict[str, list[str]] = {}
    for kind in ("wrong", "correct", "extra"):
        for q, k, c in progs:
            if q in wanted and k == kind:
                code_list.setdefault(q, []).append(c)
    samples = tmp_path / "lcb_samples.jsonl"  # LiveCodeBench's own output rows: code_list per problem
    samples.write_text(
        "".join(json.dumps({"question_id": q, "code_list": cs}) + "\n" for q, cs in code_list.items())
    )
    args = ["rerank", "--dataset", "livecodebench", "--dataset-path", str(path), "--samples", str(samples)]
    res = CliRunner().invoke(
        main,
        [
            *args,
            "--reranker",
            "first",
            "--reranker",
            "oracle",
            "--out",
            str(tmp_path / "r"),
            "--bootstrap",
            "10",
        ],
    )
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    # abc100_a, abc102_c: wrong, correct, extra (fails); lc_palin: wrong, correct, extra (passes)
    assert m["pass"]["plain_pass@1"] == pytest.approx((1 / 3 + 1 / 3 + 2 / 3) / 3)
    by = m["by_group"]
    assert by["difficulty"]["easy"]["n_problems"] == 2 and by["difficulty"]["hard"]["n_problems"] == 1
    assert by["difficulty"]["easy"]["plain_pass@1"] == pytest.approx((1 / 3 + 2 / 3) / 2)
    assert by["difficulty"]["hard"]["rerankers"] == {"first": 0.0, "oracle": 1.0}
    assert set(by["month"]) == {"2024-06", "2024-07", "2024-09"}
    assert "pass@1 by difficulty (LiveCodeBench):" in res.output
    assert "  hard (1 problems): plain 33.33%, first 0.00%, oracle 100.00%, oracle 100.00%" in res.output
    # the window keeps what it should, before anything is judged; the options belong to LiveCodeBench
    res = CliRunner().invoke(
        main,
        [
            *args,
            "--reranker",
            "oracle",
            "--out",
            str(tmp_path / "w"),
            "--start-date",
            "2024-07-01",
            "--end-date",
            "2024-07-31",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "w" / "metrics.json").read_text())["n_problems"] == 1
    res = CliRunner().invoke(
        main,
        ["rerank", "--dataset", "humaneval", "--samples", str(samples), "--reranker", "first", "--start-date",
         "2024-01-01", "--out", str(tmp_path / "h")],
    )  # fmt: skip
    assert res.exit_code != 0 and "apply to --dataset livecodebench" in res.output


def test_generated_tests_rank_livecodebench_candidates(
    fixture_file: tuple[Path, list], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stdin problems take input/output cases (compared as the grader compares), functional ones
    asserts on Solution(); the unit-test rerankers then pick the program that passes them."""
    from click.testing import CliRunner

    from rerankeval.cli.main import _register
    from rerankeval.cli.main import cli as main
    from rerankeval.unittests.artifact import TestRow, stdio_test, write_tests

    _register()
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    path, progs = fixture_file
    code = {(q, k): c for q, k, c in progs}
    samples = tmp_path / "s.jsonl"
    rows = [(q, k) for q in ("abc100_c", "lc_palin") for k in ("wrong", "crash", "correct", "extra")]
    samples.write_text("".join(json.dumps({"question_id": q, "code": code[(q, k)]}) + "\n" for q, k in rows))
    cases = [("10\n", "0.1\n"), ("8\n", "0.1250\n"), ("3\n", "0.333\n")]  # the last one is a wrong test
    tests = [
        TestRow("abc100_c", f"io{i}", stdio_test(i_, o), "stdio", "hand", i)
        for i, (i_, o) in enumerate(cases)
    ] + [
        TestRow("lc_palin", f"a{i}", f"assert Solution().isPalindrome({s!r}) == {ok}", "assert", "hand", i)
        for i, (s, ok) in enumerate([("abba", True), ("abc", False), ("x", True), ("", True)])
    ]
    tests_path = tmp_path / "tests.jsonl"
    write_tests(tests_path, tests)
    out = tmp_path / "r"
    res = CliRunner().invoke(
        main,
        ["rerank", "--dataset", "livecodebench", "--dataset-path", str(path), "--samples", str(samples),
         "--tests", str(tests_path), "--reranker", "first", "--reranker", "coderm", "--reranker", "codet",
         "--out", str(out), "--bootstrap", "10"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    matrix = {(r["problem_id"], r["index"]): r["tests"] for r in read_jsonl(out / "matrix.jsonl")}
    # abc100_c: wrong prints round(1/x, 1); crash divides by zero; correct and extra (6 digits) pass the
    # right cases and fail "0.333" (1/3 prints 0.3333333333333333)
    assert [matrix[("abc100_c", i)] for i in range(4)] == ["pff", "eee", "ppf", "ppf"]
    assert [matrix[("lc_palin", i)] for i in range(4)] == ["pfpp", "pppe", "pppp", "pppp"]
    m = json.loads((out / "metrics.json").read_text())
    assert (
        m["rerankers"]["coderm"]["pass"]["pass@1"] == 1.0 and m["rerankers"]["first"]["pass"]["pass@1"] == 0.0
    )
    assert m["pass"]["plain_pass@1"] == pytest.approx((2 / 4 + 2 / 4) / 2)
    # a stdin case for a functional problem is refused, by name
    bad = tmp_path / "bad.jsonl"
    write_tests(bad, [TestRow("lc_palin", "x", stdio_test("1", "2"), "stdio", "hand", 0)])
    res = CliRunner().invoke(
        main,
        ["rerank", "--dataset", "livecodebench", "--dataset-path", str(path), "--samples", str(samples),
         "--tests", str(bad), "--reranker", "coderm", "--out", str(tmp_path / "b")],
    )  # fmt: skip
    assert res.exit_code != 0 and "stdin/stdout case, but the problem is functional" in res.output


def test_tests_are_generated_per_problem_kind_and_rerank(
    fixture_file: tuple[Path, list], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--style auto: stdin problems get the stdio prompt and input/output cases, functional ones
    CodeRM's unittest prompt with the starter code as the code shown; the tests then rerank."""
    from rerankeval.unittests.artifact import read_tests
    from rerankeval.unittests.generate import GenerationConfig, generate_tests

    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    path, progs = fixture_file
    ds = load_dataset(path)
    problems = [ds.problems[q].core() for q in ("abc100_c", "lc_palin")]
    writer = lcb_fixture.ScriptedTestWriter()
    out = tmp_path / "tests.jsonl"
    summary = generate_tests(problems, writer, out, GenerationConfig(style="auto", n=2, batch_problems=2))  # type: ignore[arg-type]
    assert summary.tests == 3
    stdio_prompt = writer.prompts[0][0]["content"]  # type: ignore[index]
    assert "reads standard input" in stdio_prompt and "stdin problem abc100_c" in stdio_prompt
    unit_prompt = writer.prompts[1][0]["content"]  # type: ignore[index]
    assert "### question\n" + lcb_fixture.STATEMENTS["lc_palin"] in unit_prompt
    assert "class Solution:\n    def isPalindrome(self, s):\n        pass" in unit_prompt
    rows = read_tests(out)
    io = [json.loads(r.test) for r in rows if r.task_id == "abc100_c"]
    assert io == [{"input": "10\n", "output": "0.1\n"}, {"input": "8\n", "output": "0.125\n"}]
    assert {r.style for r in rows} == {"stdio", "unittest"} and all(r.count == 2 for r in rows)

    code = {(q, k): c for q, k, c in progs}
    samples = tmp_path / "s.jsonl"
    picks = [(q, k) for q in ("abc100_c", "lc_palin") for k in ("wrong", "correct")]
    samples.write_text("".join(json.dumps({"question_id": q, "code": code[(q, k)]}) + "\n" for q, k in picks))
    cfg = RerankConfig(
        dataset="livecodebench",
        samples=samples,
        tests=out,
        rerankers=(RerankerChoice("coderm", "coderm"), RerankerChoice("first", "first")),
        out=tmp_path / "run",
        bootstrap=10,
        cache=False,
    )
    with LocalExecutor(parallel=2) as ex:
        bench = LiveCodeBenchBenchmark(ds, executor=ex, timeout_s=1)
        cands = [Candidate(q, i % 2, code[(q, k)]) for i, (q, k) in enumerate(picks)]
        m = run_rerank(cfg, bench, cands, executor=ex).metrics
    assert m["rerankers"]["coderm"]["pass"]["pass@1"] == 1.0
    assert m["rerankers"]["first"]["pass"]["pass@1"] == 0.0


def test_policy_samples_use_livecodebench_prompt_and_extraction(
    fixture_file: tuple[Path, list], tmp_path: Path
) -> None:
    from rerankeval.generation.base import Completions
    from rerankeval_evalplus.sampling import SamplingConfig, generate_samples
    from rerankeval_livecodebench.prompts import extract_code, problem_rows, sampling_format
    from rerankeval_livecodebench.samples import read_samples

    path, _ = fixture_file
    ds = load_dataset(path)
    seen: list[object] = []

    class Policy:
        spec = "vllm:scripted-policy"

        def generate_detailed(self, prompts: list[object], n: int = 1, **kw: object) -> list[Completions]:
            seen.extend(prompts)
            answer = "Sure.\n```python\nprint(input())\n```\nDone."
            return [Completions(tuple(answer for _ in range(n)), 5, 5 * n) for _ in prompts]

    rows = problem_rows([ds.problems["abc100_a"], ds.problems["lc_palin"]])
    out = tmp_path / "samples.jsonl"
    summary = generate_samples(
        "livecodebench",
        rows,
        Policy(),
        out,
        SamplingConfig(n=2, batch_problems=2),
        prompt_format=sampling_format(),  # type: ignore[arg-type]
    )
    assert summary.samples == 4
    system, user = seen[0]  # type: ignore[misc]
    assert system["role"] == "system" and "expert Python programmer" in system["content"]
    assert user["content"].startswith(
        f"### Question:\n{lcb_fixture.STATEMENTS['abc100_a']}\n\n### Format: Read the inputs from stdin"
    )
    assert "```python\nclass Solution:\n    def isPalindrome(self, s):\n" in seen[1][1]["content"]  # type: ignore[index]
    cands = read_samples(out, ds)
    assert [(c.problem_id, c.index, c.code) for c in cands][:2] == [
        ("abc100_a", 0, "print(input())"),
        ("abc100_a", 1, "print(input())"),
    ]
    assert extract_code("no code") == "" and extract_code("```\na\n```\n```py\nb\n```") == "b"
    sidecar = json.loads((tmp_path / "samples.generations.jsonl").read_text().splitlines()[0])
    assert sidecar["dataset"] == "livecodebench"


def test_evaluate_reports_livecodebench_eval_all_and_pass_at_k_per_difficulty(
    fixture_file: tuple[Path, list], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from rerankeval.cli.main import _register
    from rerankeval.cli.main import cli as main

    _register()
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    path, progs = fixture_file
    code = {(q, k): c for q, k, c in progs}
    kinds = ("correct", "wrong", "crash", "extra", "correct")
    problems = ("abc100_a", "abc100_c", "lc_palin")  # easy stdin, medium stdin, easy functional
    samples = tmp_path / "s.jsonl"
    samples.write_text(
        "".join(
            json.dumps({"question_id": q, "code_list": [code[(q, k)] for k in kinds]}) + "\n"
            for q in problems
        )
    )
    args = ["evaluate", "--dataset", "livecodebench", "--dataset-path", str(path), "--samples", str(samples),
            "--timeout", "1", "--parallel", "2"]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    rows = json.loads((tmp_path / "s_eval_all.json").read_text())
    assert [r["question_id"] for r in rows] == list(problems)
    ds = load_dataset(path)
    for r in rows:
        want = grade(
            ds.problems, [(r["question_id"], c) for c in r["code_list"]], dataset_hash=ds.hash, timeout_s=1
        )
        assert r["results"] == want and r["graded_list"] == [passed(x) for x in want]
    # abc100_a: correct, extra (prints 'debug' first) fails; abc100_c: extra passes (equal as decimals)
    assert [r["graded_list"] for r in rows] == [
        [True, False, False, False, True],
        [True, False, False, True, True],
        [True, False, False, True, True],
    ]
    m = json.loads((tmp_path / "s_eval.json").read_text())
    assert m["all"]["pass@1"] == pytest.approx((2 / 5 + 3 / 5 + 3 / 5) / 3)
    assert m["all"]["pass@5"] == 1.0 and "pass@10" not in m["all"]
    assert m["easy"]["pass@1"] == pytest.approx((2 / 5 + 3 / 5) / 2) and m["easy"]["problems"] == 2
    assert m["medium"]["pass@1"] == pytest.approx(3 / 5) and "hard" not in m
    assert "easy (2 problems): pass@1 0.500" in res.output
    # a second run refuses to overwrite; EvalPlus's options are refused by name
    again = CliRunner().invoke(main, args)
    assert again.exit_code != 0 and "exists. Pass --overwrite" in again.output
    bad = CliRunner().invoke(main, [*args, "--overwrite", "--base-only"])
    assert bad.exit_code != 0 and "--base-only apply to HumanEval+ / MBPP+" in bad.output
