"""Reading a tests artifact for one dataset: other datasets' tests are skipped, unknown ids are errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rerankeval.errors import InputError
from rerankeval.pipeline import read_tests

KNOWN = {"HumanEval/0", "HumanEval/1"}


def _write(tmp_path: Path, task_ids: list[str]) -> Path:
    path = tmp_path / "tests.jsonl"
    rows = [
        {
            "task_id": t,
            "test_id": f"t{i}",
            "test": f"assert f({i}) == {i}",
            "style": "assert",
            "generator": "g",
            "sample_index": i,
        }
        for i, t in enumerate(task_ids)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_one_artifact_may_serve_several_datasets(tmp_path: Path) -> None:
    path = _write(tmp_path, ["HumanEval/0", "Mbpp/2", "HumanEval/1", "Mbpp/3"])
    tests = read_tests(path, known=KNOWN, dataset="HumanEval+")
    assert sorted(tests) == ["HumanEval/0", "HumanEval/1"]
    assert [t.source for t in tests["HumanEval/1"]] == ["assert f(2) == 2"]


def test_an_unknown_task_of_the_dataset_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, ["HumanEval/0", "Mbpp/2", "HumanEval/777"])
    with pytest.raises(InputError, match=r"tests.jsonl:3: test for task 'HumanEval/777', which HumanEval\+"):
        read_tests(path, known=KNOWN, dataset="HumanEval+")


def test_a_file_without_a_test_for_the_dataset_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, ["Mbpp/2", "Mbpp/3"])
    with pytest.raises(
        InputError, match=r"no test for HumanEval\+'s problems \(the file's tasks are e.g. Mbpp/2\)"
    ):
        read_tests(path, known=KNOWN, dataset="HumanEval+")
    assert sorted(read_tests(path)) == ["Mbpp/2", "Mbpp/3"]  # without a dataset, nothing is checked
