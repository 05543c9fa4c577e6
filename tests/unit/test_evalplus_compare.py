"""The supervisor-side comparison reproduces evalplus.eval.unsafe_execute decision by decision."""

import math

import numpy as np
import pytest

from rerankeval.core.types import ExecOutcome, ProgramOutcome
from rerankeval_evalplus.compare import make_checker
from rerankeval_evalplus.judge import status_from_outcome


def _check(expected, atol=0, dataset="humaneval", entry_point="f", inputs=None):
    inputs = inputs if inputs is not None else [[i] for i in range(len(expected))]
    return make_checker(
        {"dataset": dataset, "entry_point": entry_point, "inputs": inputs, "expected": expected, "atol": atol}
    )


def test_exact_match_and_types() -> None:
    check = _check([3, [1, 2], "a"])
    assert check(0, 3)
    assert check(1, [1, 2])
    assert not check(1, (1, 2))  # a tuple is not equal to a list
    assert not check(2, "b")


def test_float_tolerance_is_switched_on_by_the_first_float_and_stays_on() -> None:
    # EvalPlus sets atol = 1e-6 the first time it meets a float expected output and keeps it.
    check = _check([1.0, 5, 2.0])
    assert check(0, 1.0 + 1e-7)
    assert not check(
        1, 5.0000001
    )  # int expected: exact_match False, atol now 1e-6, but type(out) != type(exp)
    assert check(2, 2.0 + 5e-7)


def test_float_tolerance_requires_same_type_and_length() -> None:
    check = _check([[1.0, 2.0], [1.0, 2.0]])
    assert check(0, [1.0, 2.0 + 1e-9])
    assert not check(1, (1.0, 2.0 + 1e-9))


def test_nan_expected_never_matches() -> None:
    check = _check([math.nan])
    assert not check(0, math.nan)


def test_numpy_array_output_is_a_mismatch_not_a_crash() -> None:
    check = _check([[1, 2]])
    with pytest.raises(ValueError):  # the supervisor turns this into a failed unit
        check(0, np.array([1, 2]))


def test_find_zero_uses_the_polynomial_oracle() -> None:
    check = _check([0.0], atol=1e-6, entry_point="find_zero", inputs=[[[-6.0, 11.0, -6.0, 1.0]]])
    assert check(0, 1.0)
    assert check(0, 3.0)
    assert not check(0, 1.5)


def test_mbpp_set_equality_task() -> None:
    from evalplus.eval._special_oracle import MBPP_OUTPUT_SET_EQ_TASKS

    ep = sorted(MBPP_OUTPUT_SET_EQ_TASKS)[0]
    check = _check([[1, 2, 3]], dataset="mbpp", entry_point=ep)
    assert check(0, [3, 2, 1])


def _outcome(statuses, completed=True):
    return ProgramOutcome(units=tuple(ExecOutcome(s) for s in statuses), completed=completed)


@pytest.mark.parametrize(
    ("statuses", "completed", "n", "expected"),
    [
        (["pass"] * 3, True, 3, ("pass", [True] * 3)),
        (["pass", "fail"], True, 3, ("fail", [True, False])),
        (["pass", "timeout"], True, 3, ("fail", [True, False])),  # a per-input timeout is a fail in EvalPlus
        ([], True, 3, ("fail", [])),  # the program did not load
        (["pass"], False, 3, ("timeout", [True])),  # killed or died without reporting: EvalPlus's timeout
        (["pass"] * 3, False, 3, ("timeout", [True] * 3)),
    ],
)
def test_status_rules_of_untrusted_check(statuses, completed, n, expected) -> None:
    assert status_from_outcome(_outcome(statuses, completed), n, quirk_find_zero=False) == expected


def test_find_zero_quirk_reports_a_passing_run_as_fail() -> None:
    assert status_from_outcome(_outcome(["pass"] * 4), 4, quirk_find_zero=True) == ("fail", [])
    assert status_from_outcome(_outcome(["pass", "fail"]), 4, quirk_find_zero=True) == ("fail", [False])
    assert status_from_outcome(_outcome(["pass"] * 4), 4, quirk_find_zero=False) == ("pass", [True] * 4)
