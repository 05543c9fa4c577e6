"""The tests.jsonl artifact: self-describing rows, validation that names file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rerankeval.errors import InputError
from rerankeval.unittests import artifact
from rerankeval.unittests.artifact import TestRow as Row
from rerankeval.unittests.artifact import read_tests, sidecar_path, write_tests
from rerankeval.unittests.parse import ParsedTest


def _rows() -> list[Row]:
    a = ParsedTest("assert f(1) == 1", "assert", 0, 2)
    b = ParsedTest("assert f(2) == 4", "assert", 3)
    return [
        Row.from_parsed("T/0", "vllm:/m", a),
        Row.from_parsed("T/0", "vllm:/m", b),
        Row.from_parsed("T/1", "vllm:/m", a),
    ]


def test_rows_round_trip_and_group_by_task(tmp_path: Path) -> None:
    path = tmp_path / "tests.jsonl"
    assert write_tests(path, _rows()) == 3
    back = read_tests(path)
    assert back == _rows()
    assert [len(v) for v in artifact.tests_by_task(back).values()] == [2, 1]
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"task_id", "test_id", "test", "style", "generator", "sample_index", "count"}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"test": None}, "field 'test' is NoneType, not str"),
        ({"style": "pytest"}, "style 'pytest' is unknown"),
        ({"sample_index": -1}, "sample_index must be >= 0"),
        ({"test": "  "}, "the test source is empty"),
    ],
)
def test_bad_rows_are_reported_with_file_and_line(tmp_path: Path, change: dict, says: str) -> None:
    good = [r.to_json() for r in _rows()]
    good[1].update(change)
    path = _write(tmp_path / "t.jsonl", good)
    with pytest.raises(InputError, match=rf"t.jsonl:2: {says}"):
        read_tests(path)


def test_missing_field_is_named(tmp_path: Path) -> None:
    rows = [r.to_json() for r in _rows()]
    del rows[2]["generator"]
    with pytest.raises(InputError, match=r"t.jsonl:3: field 'generator' is missing"):
        read_tests(_write(tmp_path / "t.jsonl", rows))


def test_repeated_test_is_an_error(tmp_path: Path) -> None:
    rows = [r.to_json() for r in _rows()]
    with pytest.raises(InputError, match=r"t.jsonl:4: test .* repeats line 1"):
        read_tests(_write(tmp_path / "t.jsonl", [*rows, rows[0]]))


def test_several_generators_need_a_choice(tmp_path: Path) -> None:
    rows = [r.to_json() for r in _rows()]
    rows[2]["generator"] = "hf:/other"
    path = _write(tmp_path / "t.jsonl", rows)
    with pytest.raises(InputError, match="Choose one with --generator"):
        read_tests(path)
    assert len(read_tests(path, generator="hf:/other")) == 1
    with pytest.raises(InputError, match="no tests by generator 'x'"):
        read_tests(path, generator="x")


def test_count_defaults_to_one_when_absent(tmp_path: Path) -> None:
    row = _rows()[1].to_json()
    del row["count"]
    assert read_tests(_write(tmp_path / "t.jsonl", [row]))[0].count == 1


def test_sidecar_sits_next_to_the_tests_file() -> None:
    assert sidecar_path(Path("/x/tests.jsonl")) == Path("/x/tests.generations.jsonl")
