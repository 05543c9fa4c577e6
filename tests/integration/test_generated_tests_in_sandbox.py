"""Parsed tests run as they are in the real sandbox (TestsJob): the unittest runner's verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rerankeval.sandbox import LocalExecutor, run_all
from rerankeval.sandbox import TestsJob as Job
from rerankeval.unittests.parse import parse_generations

GENERATION = """```python
import unittest
from solution import sort_unique

def sort_unique(xs):
    return xs  # the test writer's own (wrong) copy: must not replace the candidate

class TestSortUnique(unittest.TestCase):
    def test_sorted(self):
        self.assertEqual(sort_unique([3, 1, 2]), [1, 2, 3])

    def test_dedup(self):
        self.assertEqual(sort_unique([2, 2, 1]), [1, 2])

class TestEmpty(unittest.TestCase):
    def test_empty(self):
        self.assertEqual(sort_unique([]), [])

class TestCrash(unittest.TestCase):
    def test_bad_input(self):
        self.assertEqual(sort_unique(None), [])

class TestHang(unittest.TestCase):
    def test_forever(self):
        while True:
            pass

class TestHangInSubTest(unittest.TestCase):
    def test_cases(self):
        for n in (1, 2):
            with self.subTest(n=n):
                while n:
                    pass
```"""

CODET_TESTS = "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl"
CORRECT = "def sort_unique(xs):\n    return sorted(set(xs))\n"
NO_DEDUP = "def sort_unique(xs):\n    return sorted(xs)\n"


@pytest.fixture(scope="module")
def executor():  # type: ignore[no-untyped-def]
    with LocalExecutor(parallel=2) as ex:
        yield ex


def _statuses(executor: LocalExecutor, programs: list[str], tests: list[str]) -> list[list[str]]:
    jobs = [Job(code=p, tests=tuple(tests), time_limit_s=1.0) for p in programs]
    return [[u.status for u in out.units] for out in run_all(executor, jobs, {})]


def test_unittest_class_passes_only_when_every_method_passes(executor: LocalExecutor) -> None:
    tests = [t.source for t in parse_generations([GENERATION], "sort_unique", "unittest")]
    assert len(tests) == 5
    correct, no_dedup = _statuses(executor, [CORRECT, NO_DEDUP], tests)
    # TestSortUnique, TestEmpty, TestCrash (TypeError inside a method), TestHang, TestHangInSubTest
    assert correct == ["pass", "pass", "fail", "timeout", "timeout"]
    assert no_dedup == ["fail", "pass", "fail", "timeout", "timeout"]


def test_a_candidate_that_does_not_define_the_function_fails_every_test(executor: LocalExecutor) -> None:
    tests = [t.source for t in parse_generations([GENERATION], "sort_unique", "unittest")][:2]
    assert _statuses(executor, ["def other():\n    pass\n"], tests) == [["fail", "fail"]]


@pytest.mark.realdata
def test_codet_asserts_split_correct_from_wrong_programs(executor: LocalExecutor, shared_data: Path) -> None:
    codet = shared_data / "codet"
    source = next(
        t
        for t in map(json.loads, (codet / "HumanEval_for_test_case_generation.jsonl").open())
        if t["task_id"] == "HumanEval/13"
    )  # greatest_common_divisor
    generated = next(
        g for g in map(json.loads, (codet / CODET_TESTS).open()) if g["prompt"] == source["prompt"]
    )
    tests = [t.source for t in parse_generations(generated["samples"], source["entry_point"], "assert")]
    task = next(
        t
        for t in map(json.loads, (codet / "HumanEval_for_code_generation.jsonl").open())
        if t["task_id"] == "HumanEval/13"
    )
    correct = task["prompt"] + task["canonical_solution"]
    wrong = "def greatest_common_divisor(a: int, b: int) -> int:\n    return min(a, b)\n"
    good, bad = _statuses(executor, [correct, wrong], tests)
    assert len(good) == len(tests) == 21
    assert good.count("pass") == 11  # CodeGen-16B's asserts are noisy: about half are right
    assert bad.count("pass") < good.count("pass")
