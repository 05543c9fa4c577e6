"""Prompts that ask a model for unit tests, and the sampling settings their papers used.

* ``unittest`` style: CodeRM-8B's released prompt (RUCKBReasoning/CodeRM, README and
  ``data/benchmark/input_*_ut.jsonl``): one user message that gives the question and a code
  answer and asks for a ``unittest`` test class. Sampled at T=0.8, top-p 0.95, up to 2,048 tokens.
* ``assert`` style: CodeT's prompt (microsoft/CodeT, ``*_for_test_case_generation.jsonl``): the
  function's signature and docstring with the examples removed, a ``pass`` body, then
  ``# check the correctness of <f>`` and ``assert ``; a plain completion. T=0.8, top-p 0.95,
  up to 300 tokens.

Where CodeRM put a model-written solution under "### code solution", the default here is the
function's stub (signature and docstring, body ``pass``): it shows the interface without handing
the test writer any candidate's bugs or the reference answer. ``code="canonical"`` uses the
benchmark's reference solution instead (it leaks the answer: for test-quality studies only).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Literal

from rerankeval.core.types import Problem
from rerankeval.generation.base import Prompt
from rerankeval.unittests.parse import TestStyle

CodeInPrompt = Literal["stub", "canonical"]

CODERM_TEMPLATE = (
    "Below is a question and it's corresponding code answer. Please write test cases to check the "
    "correctness of the code answer. You need to use the unittest library in Python and create a test "
    "class for testing."
    "\n\n### question\n{question}\n\n### code solution\n{code}\n\n"
    "Please add detailed comments to the test cases you write. You do not need to test the function's "
    "ability to throw exceptions.\n"
)


@dataclass(frozen=True, slots=True)
class SamplingDefaults:
    """The sampling settings a test-generation style was published with."""

    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...] = ()


DEFAULTS: dict[TestStyle, SamplingDefaults] = {
    "unittest": SamplingDefaults(temperature=0.8, top_p=0.95, max_tokens=2048),
    "assert": SamplingDefaults(temperature=0.8, top_p=0.95, max_tokens=300),
    "stdio": SamplingDefaults(temperature=0.8, top_p=0.95, max_tokens=2048),
}

#: The ``stdio`` prompt, for problems whose programs read standard input (LiveCodeBench's AtCoder and
#: Codeforces problems): CodeRM's wording, asking for input/output cases in a form that parses
#: without running anything (:func:`rerankeval.unittests.parse.split_io_cases`).
STDIO_TEMPLATE = (
    "Below is a question. Its answer is a program that reads standard input and writes standard "
    "output. Please write test cases to check the correctness of such a program. Write each test "
    "case as the complete standard input and the exact expected standard output, in this format:"
    "\n\n### Input\n<the standard input>\n### Output\n<the expected standard output>\n\n"
    "### question\n{question}\n"
)

_EXAMPLE_LINE = re.compile(r"^\s*(>>>|examples?\b|for example\b)", re.IGNORECASE)


def _def_line(source: str, name: str) -> int | None:
    """0-based line of the last top-level ``def name(`` in ``source``."""
    pattern = re.compile(rf"(async\s+)?def\s+{re.escape(name)}\s*\(")
    hits = [i for i, line in enumerate(source.split("\n")) if pattern.match(line)]
    return hits[-1] if hits else None


def strip_docstring_examples(prompt: str, entry_point: str) -> str:
    """Removes the examples from the entry point's docstring, as CodeT's test-generation prompts do.

    Lines from the first one that starts with ``>>>``, ``Example`` or ``For example`` up to the
    closing quotes are dropped, with the blank lines before them. (CodeT edited some prompts
    by hand; this rule reproduces 138 of its 164 HumanEval prompts exactly.)
    """
    lines = prompt.split("\n")
    start = _def_line(prompt, entry_point)
    closes = [i for i, line in enumerate(lines) if '"""' in line or "'''" in line]
    if start is None or not closes or closes[-1] <= start:
        return prompt
    close = closes[-1]
    cut = next((i for i in range(start + 1, close) if _EXAMPLE_LINE.match(lines[i])), None)
    if cut is None:
        return prompt
    quote = '"""' if '"""' in lines[close] else "'''"
    indent = lines[close][: lines[close].index(quote)]
    body = lines[:cut]
    while body and not body[-1].strip():
        body.pop()
    return "\n".join([*body, indent + quote, *lines[close + 1 :]])


def _docstring_text(prompt: str) -> str:
    """The text of the first string literal in ``prompt`` (MBPP+ prompts are one docstring)."""
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return prompt.strip().strip("\"'").strip()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value.strip()
    return prompt.strip()


def _signature_stub(problem: Problem) -> str:
    """Imports and ``def`` line of the entry point taken from the reference, with a docstring and ``pass``."""
    ref = problem.reference
    try:
        tree = ast.parse(ref)
    except SyntaxError:
        tree = ast.Module(body=[], type_ignores=[])
    imports = [
        ast.get_source_segment(ref, n) or "" for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    fn = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == problem.entry_point), None
    )
    if fn is not None:
        returns = f" -> {ast.unparse(fn.returns)}" if fn.returns is not None else ""
        sig = f"def {fn.name}({ast.unparse(fn.args)}){returns}:"
    else:
        sig = f"def {problem.entry_point}(*args):"
    description = "\n".join(
        line for line in _docstring_text(problem.prompt).split("\n") if not line.strip().startswith("assert ")
    )
    doc = "\n".join("    " + line if line.strip() else "" for line in description.strip().split("\n"))
    head = "\n".join(i for i in imports if i)
    return (head + "\n" if head else "") + f"{sig}\n    '''\n{doc}\n    '''\n    pass\n"


def _defines_entry_point(problem: Problem) -> bool:
    return _def_line(problem.prompt, problem.entry_point) is not None


def _stub_with_pass(stub: str) -> str:
    """A starter code (``class Solution:`` / ``def f(...):`` ending in an open body) with ``pass``."""
    lines = stub.rstrip().split("\n")
    indent = len(lines[-1]) - len(lines[-1].lstrip())
    return "\n".join(lines) + "\n" + " " * (indent + 4) + "pass\n"


def function_stub(problem: Problem, strip_examples: bool = False) -> str:
    """The function under test with its docstring and a ``pass`` body.

    HumanEval-style prompts (which define the function) keep their text; MBPP-style prompts
    (a docstring only) get the reference's imports and ``def`` line, the description as docstring;
    a problem with a ``stub`` (LiveCodeBench's starter code) gets it with a ``pass`` body.
    """
    if problem.stub:
        return _stub_with_pass(problem.stub)
    if _defines_entry_point(problem):
        text = problem.prompt
        if strip_examples:
            text = strip_docstring_examples(text, problem.entry_point)
        return text.rstrip("\n") + "\n    pass\n"
    return _signature_stub(problem)


def question_text(problem: Problem) -> str:
    """CodeRM's "### question" text.

    HumanEval-style: ``Write a function named `f`.`` then the description on one line and the
    docstring examples. MBPP-style: the docstring as it is (description and example assert). A
    problem stated in prose with a separate stub (LiveCodeBench): the statement as it is.
    """
    if problem.stub:
        return problem.prompt.strip()
    if not _defines_entry_point(problem):
        return _docstring_text(problem.prompt)
    start = _def_line(problem.prompt, problem.entry_point) or 0
    body = "\n".join(problem.prompt.split("\n")[start:])
    doc = _docstring_text(body + ("\n    pass\n" if not body.rstrip().endswith("pass") else ""))
    lines = doc.split("\n")
    cut = next((i for i, line in enumerate(lines) if line.strip().startswith(">>>")), len(lines))
    description = " ".join(line.strip() for line in lines[:cut] if line.strip())
    examples = "\n".join(line.strip() for line in lines[cut:] if line.strip())
    text = f"Write a function named `{problem.entry_point}`. {description}"
    return f"{text}\n{examples}" if examples else text


def coderm_messages(problem: Problem, code: CodeInPrompt | str = "stub") -> list[dict[str, str]]:
    """CodeRM-8B's unit-test prompt as one chat message.

    Args:
        problem: The problem.
        code: What goes under "### code solution": ``"stub"`` (signature, docstring, ``pass``),
            ``"canonical"`` (the reference solution: leaks the answer), or any code text.
    """
    if code == "stub":
        body = function_stub(problem)
    elif code == "canonical":
        body = (
            (problem.prompt + problem.reference)
            if _defines_entry_point(problem) and _def_line(problem.reference, problem.entry_point) is None
            else problem.reference
        )
    else:
        body = code
    content = CODERM_TEMPLATE.format(question=question_text(problem), code=body.strip("\n"))
    return [{"role": "user", "content": content}]


def codet_prompt(problem: Problem) -> str:
    """CodeT's test-generation prompt: the stub without examples, a check comment, and ``assert ``."""
    stub = function_stub(problem, strip_examples=True)
    return f"{stub}\n# check the correctness of {problem.entry_point}\nassert "


def build_prompt(problem: Problem, style: TestStyle, code: CodeInPrompt | str = "stub") -> Prompt:
    """The prompt for ``style``: chat messages for ``unittest`` and ``stdio``, plain text for ``assert``."""
    if style == "unittest":
        return coderm_messages(problem, code)
    if style == "assert":
        return codet_prompt(problem)
    if style == "stdio":
        return [{"role": "user", "content": STDIO_TEMPLATE.format(question=problem.prompt.strip())}]
    raise ValueError(f"unknown test style {style!r}")
