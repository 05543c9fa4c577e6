"""Generated-test comparisons with a literal are taken out of the child's hands (sandbox/_outside.py)."""

from __future__ import annotations

import pickle

import pytest

from rerankeval.sandbox._outside import REPORT, Expected, split
from rerankeval.sandbox._supervisor import _decide_test
from rerankeval.unittests.runner import wrap_unittest


def test_assert_with_a_literal_leaves_the_child_without_the_literal() -> None:
    src, exp = split("assert f(1) == 'secret-answer'\nassert [9, 8] == g(2)\n")
    assert "secret-answer" not in src and "[9, 8]" not in src
    assert src.count(REPORT) == 2
    assert exp == (Expected("secret-answer", literal_first=False), Expected([9, 8], literal_first=True))


@pytest.mark.parametrize(
    "src",
    [
        "assert f(1) == g(1)",  # two computed values
        "assert f(1) != 2",
        "assert f(1) == 2, 'message'",
        "for x in range(3):\n    assert f(x) == 1",  # not run exactly once
        "if True:\n    assert f(1) == 2",
        "assert 1 == 1",
        "def t():\n    assert f(1) == 2\nt()",
        "assert 0 < f(1) == 2",
        "this is not python",
    ],
)
def test_other_forms_run_as_written(src: str) -> None:
    assert split(src) == (src, ())


def test_assert_equal_in_test_methods_of_a_unittest_class() -> None:
    cls = (
        "class T(unittest.TestCase):\n"
        "    def test_a(self):\n        self.assertEqual(f(1), 'lit-a')\n        self.assertTrue(f(2))\n"
        "    def test_b(self):\n        self.assertEqual('lit-b', f(3))\n"
        "        for i in range(2):\n            self.assertEqual(f(i), 'lit-loop')\n"
        "    @unittest.skip('x')\n    def test_c(self):\n        self.assertEqual(f(4), 'lit-skip')\n"
        "    def helper(self):\n        self.assertEqual(f(5), 'lit-helper')\n"
    )
    src, exp = split(wrap_unittest("", cls, "T"))
    assert [e.value for e in exp] == ["lit-a", "lit-b"]
    assert "lit-a" not in src and "lit-b" not in src
    assert all(x in src for x in ("lit-loop", "lit-skip", "lit-helper"))


def _raw(v: object) -> bytes:
    return pickle.dumps(v, pickle.HIGHEST_PROTOCOL)


EXP = (Expected(3, literal_first=False), Expected([1, 2], literal_first=True))


def test_a_test_passes_only_when_every_comparison_is_reported_once_and_holds() -> None:
    assert _decide_test(EXP, [(0, _raw(3)), (1, _raw([1, 2]))], None, 0.1, 5.0).status == "pass"
    assert _decide_test(EXP, [(0, _raw(3.0)), (1, _raw([1, 2]))], None, 0.1, 5.0).status == "pass"  # 3.0 == 3
    assert _decide_test(EXP, [(0, _raw(3))], None, 0.1, 5.0).status == "error"  # one never reported
    assert _decide_test(EXP, [], None, 0.1, 5.0).status == "error"  # a forged "ok" with no values
    assert _decide_test(EXP, [(0, _raw(3)), (0, _raw(3))], None, 0.1, 5.0).status == "error"


def test_the_first_comparison_that_fails_decides_as_it_would_have_stopped_the_test() -> None:
    got = _decide_test(EXP, [(0, _raw(4)), (1, _raw([1, 2]))], None, 0.1, 5.0)
    assert (got.status, got.detail) == ("fail", "AssertionError")
    assert _decide_test(EXP, [(0, _raw(4))], ("error", "IndexError"), 0.1, 5.0).status == "fail"
    assert _decide_test(EXP, [(0, _raw(3))], ("timeout", "TimeoutException"), 0.1, 5.0).status == "timeout"
    assert _decide_test(EXP, [(0, None)], None, 0.1, 5.0).status == "fail"  # not picklable: equals no literal
    assert _decide_test(EXP, [(0, _raw(3))], ("stopped", ""), 0.1, 5.0) is None  # type: ignore[arg-type]


def test_a_comparison_that_raises_is_an_error_as_in_the_program() -> None:
    np = pytest.importorskip("numpy")
    exp = (Expected([1, 2], literal_first=False),)
    arr = pickle.dumps(
        np.array([1, 2], dtype=object), pickle.HIGHEST_PROTOCOL
    )  # elementwise ==, no truth value
    assert _decide_test(exp, [(0, arr)], None, 0.1, 5.0).status == "error"
