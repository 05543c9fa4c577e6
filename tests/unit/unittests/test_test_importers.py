"""Importing released unit tests: CodeT's generations (real data) and CodeRM's extracted tests."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rerankeval.errors import InputError
from rerankeval.unittests.importers import import_coderm, import_codet, strip_coderm_runner
from rerankeval.unittests.runner import RUNNER_MARK

CODET_TESTS = "codet/HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl"

# One unit test as CodeRM's preprocess/extract_unit_test.py writes it (its runner needs the
# `output` and `locals_dict` names of CodeRM's executor).
CODERM_TEST = """import unittest

class TestAdd(unittest.TestCase):
    # Adding two small numbers
    def test_small(self):
        self.assertEqual(add(1, 2), 3)

suite = unittest.TestLoader().loadTestsFromTestCase(TestAdd)
runner = unittest.TextTestRunner(stream=output, verbosity=2)
result = runner.run(suite)
locals_dict['result'] = result
"""


@pytest.mark.realdata
def test_codet_import_reproduces_codets_1615_asserts_on_humaneval_0_19(shared_data: Path) -> None:
    rows = import_codet(shared_data / CODET_TESTS)
    per_task = Counter(r.task_id for r in rows)
    first20 = [per_task[f"HumanEval/{i}"] for i in range(20)]
    assert sum(first20) == 1615
    assert (min(first20), max(first20)) == (8, 257)
    assert len(rows) == 8331 and len(per_task) == 155  # 9 tasks get no usable assert
    assert all(r.style == "assert" and r.test.startswith("assert ") for r in rows)
    assert all(r.generator == "codet:" + Path(CODET_TESTS).stem for r in rows)
    assert len({(r.task_id, r.test_id) for r in rows}) == len(rows)
    # every kept assert names its function and compiles on its own
    first = [r for r in rows if r.task_id == "HumanEval/0"]
    assert all("has_close_elements" in r.test for r in first)
    for r in first:
        compile(r.test, "<t>", "exec")


@pytest.mark.realdata
def test_codet_prompt_without_a_task_is_reported(shared_data: Path, tmp_path: Path) -> None:
    bad = tmp_path / "HumanEval_x_test_case.jsonl"
    bad.write_text(json.dumps({"prompt": "def nope():\n", "samples": ["nope() == 1"]}) + "\n")
    with pytest.raises(InputError, match=r"x_test_case.jsonl:1: the prompt matches no task"):
        import_codet(bad, source=shared_data / "codet" / "HumanEval_for_test_case_generation.jsonl")


def test_codet_import_without_its_dataset_file_says_how_to_fix(tmp_path: Path) -> None:
    samples = tmp_path / "HumanEval_gen_test_case.jsonl"
    samples.write_text("")
    with pytest.raises(InputError, match="Pass it with --source"):
        import_codet(samples)


def test_coderm_runner_is_replaced_by_ours(tmp_path: Path) -> None:
    path = tmp_path / "ut_coderm-8b_100.jsonl"
    path.write_text(
        json.dumps({"task_id": "HumanEval/0", "unit_tests": [CODERM_TEST, CODERM_TEST]})
        + "\n"
        + json.dumps({"task_id": "HumanEval/1", "unit_tests": []})
        + "\n"
    )
    rows = import_coderm(path)
    assert len(rows) == 1
    row = rows[0]
    assert (row.task_id, row.style, row.count, row.generator) == (
        "HumanEval/0",
        "unittest",
        2,
        "coderm:ut_coderm-8b_100",
    )
    assert "locals_dict" not in row.test and "stream=output" not in row.test
    assert RUNNER_MARK in row.test and "# Adding two small numbers" in row.test


def test_coderm_dataset_layout_with_json_string_is_read(tmp_path: Path) -> None:
    path = tmp_path / "coderm.jsonl"
    tests = json.dumps([{"ut_id": 0, "code": CODERM_TEST}])
    path.write_text(json.dumps({"task_id": 7, "unit_tests": tests}) + "\n")
    assert [r.task_id for r in import_coderm(path)] == ["7"]


def test_coderm_malformed_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "coderm.jsonl"
    path.write_text(json.dumps({"task_id": "T/0", "unit_tests": [1, 2]}) + "\n")
    with pytest.raises(InputError, match=r"coderm.jsonl:1: unit_tests must be a list"):
        import_coderm(path)


def test_strip_coderm_runner_leaves_the_class() -> None:
    assert strip_coderm_runner(CODERM_TEST).rstrip().endswith("self.assertEqual(add(1, 2), 3)")
