"""Malformed inputs to the CLI: each ends with exit code 1 or 2 and ONE clear line (what, where, fix).

Commands run in-process through click's runner (the real command objects and their error
handling); one case also runs the installed console script, to see what a user sees. The files
are tiny variants of a valid two-task HumanEval+ run built from ``../shared/data``.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

pytestmark = pytest.mark.realdata

TASKS = ("HumanEval/0", "HumanEval/53")


def _test_row(task: str, test_id: str, test: str) -> dict[str, object]:
    return {
        "task_id": task,
        "test_id": test_id,
        "test": test,
        "style": "assert",
        "generator": "hand",
        "sample_index": 0,
        "count": 1,
    }


GOOD_TESTS = [
    _test_row("HumanEval/0", "a1", "assert has_close_elements([1.0, 2.0], 0.5) == False"),
    _test_row("HumanEval/53", "b1", "assert add(1, 2) == 3"),
]


@pytest.fixture(scope="module")
def files(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad_input")
    with gzip.open(shared_data / "humanevalplus" / "HumanEvalPlus.jsonl.gz", "rt") as f:
        problems = [json.loads(x) for x in f if json.loads(x)["task_id"] in TASKS]
    with gzip.open(d / "ds.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(p) + "\n" for p in problems)
    good = [
        json.dumps({"task_id": p["task_id"], "solution": p["prompt"] + p["canonical_solution"]})
        for p in problems
    ]
    texts = {
        "good.jsonl": "\n".join(good) + "\n",
        "broken.jsonl": good[0] + '\n{"task_id": "HumanEval/53", "solution": "def add(x, y):\n',
        "unknown.jsonl": good[0]
        + "\n"
        + json.dumps({"task_id": "HumanEval/9999", "solution": "x = 1"})
        + "\n",
        "mbpp.jsonl": json.dumps({"task_id": "Mbpp/2", "solution": "def f():\n    pass\n"}) + "\n",
        "empty.jsonl": "",
        "nofield.jsonl": json.dumps({"task_id": "HumanEval/0"}) + "\n",
        "empty_solution.jsonl": good[0]
        + "\n"
        + json.dumps({"task_id": "HumanEval/53", "solution": ""})
        + "\n",
        "tests.jsonl": "".join(json.dumps(r) + "\n" for r in GOOD_TESTS),
        "tests_broken.jsonl": json.dumps(GOOD_TESTS[0])
        + '\n{"task_id": "HumanEval/53", "test_id": "b1", "te\n'
        + json.dumps(GOOD_TESTS[1])
        + "\n",
        "tests_empty.jsonl": "",
        "tests_syntax.jsonl": "".join(
            json.dumps(r) + "\n"
            for r in [*GOOD_TESTS, _test_row("HumanEval/53", "b3", "assert add(1, 2) == = 3")]
        ),
        "tests_unknown_task.jsonl": "".join(
            json.dumps(r) + "\n" for r in [*GOOD_TESTS, _test_row("HumanEval/777", "c1", "assert True")]
        ),
        "bad_ds.jsonl.gz": "not gzip\n",
    }
    for name, text in texts.items():
        (d / name).write_text(text)
    (d / "nonutf8.jsonl").write_bytes(good[0].encode() + b"\n" + good[1].encode()[:-2] + b'\xff"}\n')
    (d / "tests_nonutf8.jsonl").write_bytes(
        json.dumps(GOOD_TESTS[0]).encode() + b"\n" + json.dumps(GOOD_TESTS[1]).encode()[:-2] + b'\xff"}\n'
    )
    return d


def _invoke(args: list[str], monkeypatch: pytest.MonkeyPatch) -> Result:
    from rerankeval.cli import main

    monkeypatch.setattr(main, "setup_logging", lambda: None)  # log handlers must not outlive the runner
    monkeypatch.setenv("RERANKEVAL_LOG_LEVEL", "WARNING")
    main._register()
    return CliRunner().invoke(main.cli, args, catch_exceptions=True)


def assert_one_clear_line(result: Result, where: str) -> str:
    """Exit 1 or 2, no uncaught exception (no traceback), one error line naming ``where``."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {type(result.exception).__name__}: {result.exception}"
    )
    assert result.exit_code in (1, 2), result.output
    errors = [x for x in result.stderr.splitlines() if x.lower().startswith("error")]
    assert len(errors) == 1, result.stderr
    if result.exit_code == 1:
        assert [x for x in result.stderr.splitlines() if x.strip()] == errors, result.stderr
    assert where in errors[0], errors[0]
    assert len(errors[0]) < 400
    if (
        result.exit_code == 1
    ):  # our errors say what failed, then how to fix it (click's usage errors say what)
        assert ". " in errors[0], errors[0]
    return errors[0]


def _evaluate(d: Path, samples: str, ds: str = "ds.jsonl.gz") -> list[str]:
    return [
        "evaluate",
        "--dataset",
        "humaneval",
        "--samples",
        str(d / samples),
        "--dataset-path",
        str(d / ds),
        "--out",
        str(d / f"out_{samples}.json"),
        "--overwrite",
        "--no-cache",
    ]


def _rerank(d: Path, samples: str = "good.jsonl", tests: str = "tests.jsonl", *extra: str) -> list[str]:
    return [
        "rerank",
        "--dataset",
        "humaneval",
        "--dataset-path",
        str(d / "ds.jsonl.gz"),
        "--samples",
        str(d / samples),
        "--tests",
        str(d / tests),
        "--reranker",
        "codet",
        "--bootstrap",
        "0",
        "--no-cache",
        "--out",
        str(d / f"run_{samples}_{tests}"),
        "--overwrite",
        "--parallel",
        "1",
        *extra,
    ]


SAMPLE_CASES = {  # samples file -> where the error must point
    "broken.jsonl": "broken.jsonl:2",
    "unknown.jsonl": "unknown.jsonl:2",
    "mbpp.jsonl": "mbpp.jsonl:1",
    "empty.jsonl": "empty.jsonl",
    "nonutf8.jsonl": "nonutf8.jsonl:2",
    "nofield.jsonl": "nofield.jsonl:1",
    "missing.jsonl": "missing.jsonl",
}


@pytest.mark.parametrize("command", ["evaluate", "rerank"])
@pytest.mark.parametrize("samples", list(SAMPLE_CASES))
def test_bad_samples_file_gives_one_clear_line(
    command: str, samples: str, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build: Callable[..., list[str]] = _evaluate if command == "evaluate" else _rerank
    line = assert_one_clear_line(_invoke(build(files, samples), monkeypatch), SAMPLE_CASES[samples])
    if samples == "mbpp.jsonl":
        assert "--dataset mbpp" in line


@pytest.mark.parametrize(
    ("dataset", "where"),
    [("missing_ds.jsonl.gz", "missing_ds.jsonl.gz"), ("bad_ds.jsonl.gz", "bad_ds.jsonl.gz")],
)
def test_bad_dataset_file_gives_one_clear_line(
    dataset: str, where: str, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_one_clear_line(_invoke(_evaluate(files, "good.jsonl", dataset), monkeypatch), where)


@pytest.mark.parametrize(
    ("tests", "where"),
    [
        ("tests_broken.jsonl", "tests_broken.jsonl:2"),
        ("tests_empty.jsonl", "tests_empty.jsonl"),
        ("missing_tests.jsonl", "missing_tests.jsonl"),
        ("tests_nonutf8.jsonl", "tests_nonutf8.jsonl:2"),
        ("tests_syntax.jsonl", "tests_syntax.jsonl:3"),
        ("tests_unknown_task.jsonl", "tests_unknown_task.jsonl:3"),
    ],
)
def test_bad_tests_file_gives_one_clear_line(
    tests: str, where: str, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_one_clear_line(_invoke(_rerank(files, "good.jsonl", tests), monkeypatch), where)


def test_unknown_reranker_gives_one_clear_line(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = _rerank(files)
    args[args.index("codet")] = "codt"
    line = assert_one_clear_line(_invoke(args, monkeypatch), "codt")
    assert "codet" in line  # suggests the close name


@pytest.mark.parametrize(
    ("generator", "where"),
    [
        ("hf:/nonexistent/model-dir", "/nonexistent/model-dir"),
        ("vllm:/nonexistent/model-dir", "/nonexistent/model-dir"),
        ("nosuch:/x", "nosuch:/x"),
    ],
)
def test_missing_model_gives_one_clear_line(
    generator: str, where: str, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = [
        "tests",
        "generate",
        "--dataset",
        "humaneval",
        "--dataset-path",
        str(files / "ds.jsonl.gz"),
        "--generator",
        generator,
        "-n",
        "1",
        "--out",
        str(files / "gen.jsonl"),
        "--overwrite",
    ]
    assert_one_clear_line(_invoke(args, monkeypatch), where)


@pytest.mark.slow
def test_an_empty_candidate_is_a_failing_sample_as_in_evalplus(
    files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _invoke(_evaluate(files, "empty_solution.jsonl"), monkeypatch)
    assert result.exit_code == 0, result.output
    rows = json.loads((files / "out_empty_solution.jsonl.json").read_text())["eval"]
    assert rows["HumanEval/53"][0]["base_status"] == "fail"
    assert rows["HumanEval/0"][0]["base_status"] == "pass"


def test_console_script_prints_one_line_without_traceback(files: Path) -> None:
    env = {**os.environ, "RERANKEVAL_LOG_LEVEL": "WARNING"}
    proc = subprocess.run(
        [sys.executable, "-m", "rerankeval.cli.main", *_evaluate(files, "nonutf8.jsonl")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nonutf8.jsonl:2" in lines[0], proc.stderr
