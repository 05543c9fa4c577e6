"""Unit-test generation prompts: CodeRM-8B's released prompt and CodeT's assert prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rerankeval.core.types import Problem
from rerankeval.unittests.prompts import DEFAULTS, build_prompt, coderm_messages, codet_prompt, question_text

HE0 = Problem(
    "HumanEval/0",
    "from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
    '    """ Check if in given list of numbers, are any two numbers closer to each other than\n'
    "    given threshold.\n    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n"
    '    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)\n    True\n    """\n',
    "has_close_elements",
    "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n",
)
MBPP2 = Problem(
    "Mbpp/2",
    '"""\nWrite a function to find the shared elements from the given two lists.\n'
    'assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n"""\n',
    "similar_elements",
    "import math\ndef similar_elements(test_tup1, test_tup2):\n"
    "  return tuple(set(test_tup1) & set(test_tup2))\n",
)


def test_coderm_prompt_is_the_released_text_with_question_and_stub() -> None:
    [msg] = coderm_messages(HE0)
    assert msg["role"] == "user"
    text = msg["content"]
    assert text.startswith(
        "Below is a question and it's corresponding code answer. Please write test "
        "cases to check the correctness of the code answer. You need to use the "
        "unittest library in Python and create a test class for testing."
        "\n\n### question\n"
    )
    assert text.endswith(
        "Please add detailed comments to the test cases you write. You do not need to test "
        "the function's ability to throw exceptions.\n"
    )
    assert "\n\n### code solution\nfrom typing import List" in text
    assert "    pass\n\nPlease add detailed comments" in text
    assert "abs(a - b)" not in text  # the stub never shows the reference answer


def test_coderm_question_matches_the_released_humaneval_input() -> None:
    # RUCKBReasoning/CodeRM data/benchmark/input_humaneval+_ut.jsonl, HumanEval/0
    assert question_text(HE0) == (
        "Write a function named `has_close_elements`. Check if in given list of numbers, are any two numbers "
        "closer to each other than given threshold.\n>>> has_close_elements([1.0, 2.0, 3.0], 0.5)\nFalse\n"
        ">>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)\nTrue"
    )


def test_mbpp_question_is_the_docstring_and_the_stub_comes_from_the_reference() -> None:
    text = coderm_messages(MBPP2)[0]["content"]
    assert (
        "### question\nWrite a function to find the shared elements from the given two lists.\n"
        "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n\n"
    ) in text
    assert "import math\ndef similar_elements(test_tup1, test_tup2):\n    '''" in text
    assert "return tuple" not in text


def test_canonical_code_in_prompt_shows_the_reference() -> None:
    assert "abs(a - b)" in coderm_messages(HE0, code="canonical")[0]["content"]


def test_codet_prompt_drops_examples_and_ends_with_assert() -> None:
    p = codet_prompt(HE0)
    assert ">>>" not in p
    assert p.endswith(
        '    given threshold.\n    """\n    pass\n\n# check the correctness of has_close_elements\nassert '
    )
    assert codet_prompt(MBPP2).startswith(
        "import math\ndef similar_elements(test_tup1, test_tup2):\n"
        "    '''\n    Write a function to find the shared elements"
    )


def test_styles_pick_prompt_kind_and_published_sampling() -> None:
    assert isinstance(build_prompt(HE0, "unittest"), list)
    assert isinstance(build_prompt(HE0, "assert"), str)
    assert (DEFAULTS["unittest"].temperature, DEFAULTS["unittest"].top_p) == (0.8, 0.95)
    assert DEFAULTS["assert"].max_tokens == 300


@pytest.mark.realdata
def test_codet_prompts_reproduce_most_of_codets_released_prompts(shared_data: Path) -> None:
    import gzip

    released = {}
    with open(shared_data / "codet" / "HumanEval_for_test_case_generation.jsonl") as f:
        for line in f:
            row = json.loads(line)
            released[row["task_id"]] = row["prompt"]
    same = 0
    with gzip.open(shared_data / "humaneval" / "HumanEval.jsonl.gz", "rt") as f:
        for line in f:
            t = json.loads(line)
            mine = codet_prompt(Problem(t["task_id"], t["prompt"], t["entry_point"]))
            same += mine == released[t["task_id"]]
    assert same == 138  # the other 26 were edited by hand in CodeT's release


def test_a_stated_problem_with_a_stub_gets_its_statement_and_starter_code() -> None:
    from rerankeval.core.types import Problem
    from rerankeval.unittests.prompts import build_prompt, function_stub, question_text

    p = Problem(
        "lc1",
        "Given nums, return their sum.",
        "total",
        "",
        "class Solution:\n    def total(self, nums):\n        ",
    )
    assert function_stub(p) == "class Solution:\n    def total(self, nums):\n        pass\n"
    assert question_text(p) == "Given nums, return their sum."
    msg = build_prompt(p, "unittest")[0]["content"]  # type: ignore[index]
    assert "### question\nGiven nums, return their sum.\n\n### code solution\nclass Solution:" in msg
    stdin = Problem("abc1", "Read N and print N+1.")
    content = build_prompt(stdin, "stdio")[0]["content"]  # type: ignore[index]
    assert content.endswith("### question\nRead N and print N+1.\n") and "### Input\n" in content
