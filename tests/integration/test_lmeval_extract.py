"""Answer extraction of the *_rm tasks: base-model continuations, chat answers in code fences,
restated functions, and junk that must not run at import."""

from __future__ import annotations

import ast

import pytest

from rerankeval_lmeval.data import doc_fields
from rerankeval_lmeval.extract import clean_program, extract_program, fenced_blocks

PROMPT = (
    'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """Sum of xs.\n'
    '    >>> total([1, 2])\n    3\n    """\n'
)


def run(program: str, call: str) -> object:
    env: dict[str, object] = {}
    exec(compile(program, "<candidate>", "exec"), env)  # noqa: S102 - trusted test strings
    return eval(call, env)  # noqa: S307


def test_continuation_of_the_prefilled_prompt_is_the_body() -> None:
    program = extract_program("    return sum(xs)\n```\n\nThis sums the list.", "total", PROMPT, PROMPT)
    assert run(program, "total([1, 2, 3])") == 6
    assert program.startswith("from typing import List")


def test_chat_answer_with_a_fenced_function_keeps_the_prompts_imports() -> None:
    response = (
        "Sure! Here it is:\n```python\ndef total(xs: List[int]) -> int:\n    return sum(xs)\n```\nDone."
    )
    program = extract_program(response, "total", PROMPT, PROMPT)
    assert run(program, "total([4])") == 4


def test_chat_answer_with_only_the_body_in_a_fence_is_joined_to_the_prompt() -> None:
    program = extract_program("Here:\n```python\n    return sum(xs) * 1\n```", "total", PROMPT, PROMPT)
    assert run(program, "total([2, 2])") == 4


def test_an_empty_continuation_does_not_count_as_an_answer() -> None:
    # The prompt alone defines the function (docstring only); the fenced answer must win.
    program = extract_program("```python\ndef total(xs):\n    return 7\n```", "total", PROMPT, PROMPT)
    assert run(program, "total([])") == 7


def test_mbpp_answers_are_whole_functions_and_junk_after_them_is_dropped() -> None:
    response = "def sq(x):\n    return x * x\n\nprint(sq(3))\nassert sq(2) == 4\nwhile True:\n    pass\n```"
    program = extract_program(response, "sq")
    tree = ast.parse(program)
    assert [type(n).__name__ for n in tree.body] == ["FunctionDef"]
    assert run(program, "sq(5)") == 25


def test_helpers_imports_and_constants_survive_cleaning() -> None:
    code = (
        "import math\nK = 2\ndef helper(x):\n    return x * K\n"
        "def f(x):\n    return helper(math.floor(x))\nf(1)\n"
    )
    cleaned = clean_program(code, "f")
    assert "f(1)\n" not in cleaned + "\n" and run(cleaned, "f(2.5)") == 4


def test_code_that_breaks_off_mid_line_is_cut_to_its_last_valid_line() -> None:
    response = "def f(x):\n    return x + 1\n\ndef g(:\n    broken"
    assert run(extract_program(response, "f"), "f(1)") == 2


def test_garbage_yields_a_program_that_fails_rather_than_an_error() -> None:
    program = extract_program("\x00\x01 ((( not code", "total", PROMPT, PROMPT)
    assert "def total" in program
    assert run(program, "total([1])") is None


@pytest.mark.parametrize("lang", ["python", "py", ""])
def test_fenced_blocks_reads_python_and_untagged_blocks(lang: str) -> None:
    assert fenced_blocks(f"a\n```{lang}\nx = 1\n```\nb\n```bash\nls\n```") == ["x = 1"]


def test_a_body_only_answer_to_the_instruct_prompt_is_joined_to_the_prompt() -> None:
    program = extract_program("    return sum(xs) + 1\n```\nDone.", "total", "", PROMPT)
    assert run(program, "total([1])") == 2


def test_instruct_documents_open_a_code_block_and_complete_ones_prefill_the_signature() -> None:
    he = doc_fields("humaneval", "HumanEval/0", PROMPT, "total")
    assert he["answer_prefix"].endswith("```python\n") and he["code_prefix"] == ""
    assert PROMPT.strip() in he["instruction"]
    done = doc_fields("humaneval", "HumanEval/0", PROMPT, "total", "complete")
    assert done["answer_prefix"].endswith("```python\n" + PROMPT) and done["code_prefix"] == PROMPT
    mb = doc_fields("mbpp", "Mbpp/2", '"""\nWrite sq.\nassert sq(2) == 4\n"""\n', "sq", "complete")
    assert mb["answer_prefix"].endswith("```python\n") and mb["code_prefix"] == ""
    assert "assert sq(2) == 4" in mb["instruction"]


def test_a_whole_function_continuing_the_instruct_prefix_gets_the_prompts_imports() -> None:
    program = extract_program(
        "def total(xs: List[int]) -> int:\n    return len(xs)\n```\nok", "total", "", PROMPT
    )
    assert program.startswith("from typing import List") and run(program, "total([5, 6])") == 2
