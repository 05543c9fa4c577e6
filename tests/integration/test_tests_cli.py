"""``rerankeval tests import|generate`` end to end through the click command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rerankeval.cli import tests_cmd
from rerankeval.unittests.artifact import read_tests, sidecar_path

CODET = "codet/HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl"


def _invoke(*args: str) -> dict:
    result = CliRunner().invoke(tests_cmd.tests, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])  # stderr has the progress bars


@pytest.mark.realdata
def test_import_codet_writes_a_valid_artifact(shared_data: Path, tmp_path: Path) -> None:
    head = tmp_path / "HumanEval_head_test_case.jsonl"
    with open(shared_data / CODET) as f:
        head.write_text("".join(next(f) for _ in range(3)))  # HumanEval/0, /1, /10 (sorted as text)
    out = tmp_path / "tests.jsonl"
    info = _invoke(
        "import",
        "--format",
        "codet",
        str(head),
        "--out",
        str(out),
        "--source",
        str(shared_data / "codet" / "HumanEval_for_test_case_generation.jsonl"),
    )
    rows = read_tests(out)
    assert info == {
        "out": str(out),
        "tests": len(rows),
        "tasks": 3,
        "generator": "codet:HumanEval_head_test_case",
    }
    assert {r.task_id for r in rows} == {"HumanEval/0", "HumanEval/1", "HumanEval/10"}
    assert sum(r.task_id == "HumanEval/0" for r in rows) == 129
    assert sum(r.task_id == "HumanEval/1" for r in rows) == 256


def test_import_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "tests.jsonl"
    out.write_text("")
    src = tmp_path / "ut.jsonl"
    src.write_text("")
    args = ["import", "--format", "coderm", str(src), "--out", str(out)]
    result = CliRunner().invoke(tests_cmd.tests, args)
    assert result.exit_code != 0 and "--overwrite" in str(result.exception)


@pytest.mark.realdata
@pytest.mark.model
def test_generate_with_hf_writes_generations_and_resumes(
    tiny_lm_dir: Path, shared_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "tests.jsonl"
    args = [
        "generate",
        "--dataset",
        "humaneval",
        "--dataset-path",
        str(shared_data / "humanevalplus" / "HumanEvalPlus.jsonl.gz"),
        "--generator",
        f"hf:{tiny_lm_dir}",
        "-n",
        "3",
        "--style",
        "assert",
        "--limit",
        "2",
        "--max-tokens",
        "16",
        "--out",
        str(out),
    ]
    info = _invoke(*args)
    assert (info["problems"], info["skipped"], info["generator"]) == (2, 0, f"hf:{tiny_lm_dir}")
    side = [json.loads(line) for line in sidecar_path(out).read_text().splitlines()]
    assert [s["task_id"] for s in side] == ["HumanEval/0", "HumanEval/1"]
    assert all(len(s["samples"]) == 3 and s["completion_tokens"] > 0 and s["prompt_tokens"] > 0 for s in side)
    assert side[0]["prompt"].endswith("# check the correctness of has_close_elements\nassert ")
    again = _invoke(*args, "--resume", "--limit", "3")
    assert (again["problems"], again["skipped"]) == (1, 2)


def test_generate_for_livecodebench_checks_its_options(tmp_path: Path) -> None:
    import lcb_fixture

    path, _ = lcb_fixture.write_fixture(tmp_path / "lcb.jsonl")
    base = ["generate", "--generator", "smollm2", "--out", str(tmp_path / "t.jsonl")]
    res = CliRunner().invoke(
        tests_cmd.tests,
        [*base, "--dataset", "livecodebench", "--dataset-path", str(path), "--style", "assert"],
    )
    assert res.exit_code != 0 and "methods of Solution. Use --style auto" in res.output
    res = CliRunner().invoke(tests_cmd.tests, [*base, "--dataset", "humaneval", "--start-date", "2024-01-01"])
    assert res.exit_code != 0 and "apply to --dataset livecodebench" in res.output
    res = CliRunner().invoke(
        tests_cmd.tests,
        [*base, "--dataset", "livecodebench", "--dataset-path", str(path), "--task-id", "nope"],
    )
    assert res.exit_code != 0 and "unknown problem ids nope" in str(res.exception)
