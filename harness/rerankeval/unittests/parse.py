"""Turning raw generations into runnable tests.

Two styles, each faithful to the paper that defined it:

* ``unittest`` (CodeRM-8B): the generation's fenced code holds ``unittest.TestCase`` classes.
  One class is one test, and it passes only when every one of its methods passes. Each class
  becomes a stand-alone source: the generation's imports and helpers, the class, and a runner
  that raises ``AssertionError`` when any method fails or errors (see :mod:`.runner`).
  Redefinitions of the function under test are dropped (they would shadow the candidate), as
  are imports of it from a placeholder module (``from solution import f``).
* ``assert`` (CodeT): the generation continues a prompt that ends with ``assert ``. As CodeT's
  released code does: prefix ``assert ``, split on ``assert ``, keep the parts that name the
  entry point, cut each at the first stop word, drop those that do not compile, and keep the
  first five per generation.

Tests are deduplicated per problem by normalized source (:func:`normalize_source`), counting
how many generations produced each one.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rerankeval.core.types import content_hash
from rerankeval.unittests.runner import wrap_unittest

TestStyle = Literal["unittest", "assert", "stdio"]
Dedupe = Literal["text", "ast"]

#: CodeT's stop words for generated asserts (and for generated solutions).
CODET_STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
#: CodeT keeps the first five asserts of each generation.
CODET_LIMIT = 5

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)
_CODE_LANGS = {"", "python", "py", "python3", "Python", "Python3"}


@dataclass(frozen=True, slots=True)
class ParsedTest:
    """One unique test of a problem.

    Attributes:
        source: Stand-alone test source (runs after the candidate program, in a copy of its globals).
        style: ``unittest`` or ``assert``.
        sample_index: The first generation (0-based) that produced it.
        count: How many times it was produced (CodeT weighs agreement by it).
    """

    source: str
    style: TestStyle
    sample_index: int
    count: int = 1

    @property
    def test_id(self) -> str:
        """Stable short id: the first 12 hex digits of the normalized source's sha256."""
        return test_id(self.source)


def test_id(source: str) -> str:
    """The id of a test source (12 hex digits of the sha256 of its normalized text)."""
    return content_hash(normalize_source(source, "text"))[:12]


def normalize_source(source: str, how: Dedupe = "text") -> str:
    """The form two tests are compared in.

    ``text``: line endings unified, trailing spaces and surrounding blank lines removed (what
    CodeT and CodeRM deduplicate on). ``ast``: additionally ignores comments and formatting
    (``ast.unparse``); falls back to ``text`` for a source that does not parse.
    """
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text = "\n".join(line.rstrip() for line in lines).strip("\n")
    if how == "ast":
        try:
            return ast.unparse(ast.parse(text))
        except (SyntaxError, ValueError, RecursionError):
            return text
    return text


def compiles(source: str) -> bool:
    """True when ``source`` compiles as a module."""
    try:
        compile(source, "<test>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
        return False
    return True


def extract_code(text: str) -> str:
    """The Python code of a generation: its fenced blocks joined, or the text itself when unfenced.

    A final fence that was never closed (a generation cut by ``max_tokens``) counts as a block.
    """
    blocks = [m.group(2) for m in _FENCE.finditer(text) if m.group(1) in _CODE_LANGS]
    if blocks:
        return "\n\n".join(blocks)
    return "" if "```" in text else text


# ----------------------------------------------------------------------------- asserts (CodeT)


def split_asserts(completion: str, entry_point: str, limit: int | None = CODET_LIMIT) -> list[str]:
    """CodeT's extraction of assert statements from one generation that continues ``assert ``.

    Args:
        completion: The generated continuation (the prompt ends with ``assert ``).
        entry_point: Name of the function under test; parts that do not mention it are dropped.
        limit: Keep the first ``limit`` asserts (CodeT: 5); None keeps all.

    Returns:
        Assert statements, each compiling on its own, in generation order (duplicates kept).
    """
    name = entry_point.strip()
    parts = [
        f"assert {part}".strip()
        for part in f"assert {completion}".split("assert ")
        if name in part and part.strip()
    ]
    kept = []
    for part in parts:
        for stop in CODET_STOP:
            part = part.split(stop)[0]
        part = part.strip()
        if part and _codet_valid(part) and compiles(part):
            kept.append(part)
    return kept if limit is None else kept[:limit]


def _codet_valid(test: str) -> bool:
    """CodeT's check: the assert compiles inside a try block."""
    if "assert" not in test:
        return False
    indented = test.replace("\n", "\n    ")
    return compiles(f"try:\n    {indented}\nexcept:\n    pass\n")


# ----------------------------------------------------------------------------- unittest (CodeRM)


def _base_names(node: ast.ClassDef) -> list[str]:
    return [
        b.attr if isinstance(b, ast.Attribute) else b.id if isinstance(b, ast.Name) else ""
        for b in node.bases
    ]


def _testcase_classes(tree: ast.Module) -> dict[str, ast.ClassDef]:
    """Top-level classes that derive from ``*TestCase``, directly or through other classes of the module."""
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    found: dict[str, ast.ClassDef] = {}
    changed = True
    while changed:
        changed = False
        for name, node in classes.items():
            if name not in found and any(b.endswith("TestCase") or b in found for b in _base_names(node)):
                found[name] = node
                changed = True
    return found


def _ancestors(node: ast.ClassDef, cases: dict[str, ast.ClassDef]) -> set[str]:
    out: set[str] = set()
    todo = [b for b in _base_names(node) if b in cases]
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(b for b in _base_names(cases[name]) if b in cases)
    return out


def _has_test_methods(node: ast.ClassDef) -> bool:
    return any(
        isinstance(b, ast.FunctionDef | ast.AsyncFunctionDef) and b.name.startswith("test") for b in node.body
    )


def _keep_in_prelude(node: ast.stmt, entry_point: str | None) -> bool:
    """Imports, helpers and constants a test class may need; never the function under test."""
    if isinstance(node, ast.Import):
        return True
    if isinstance(node, ast.ImportFrom):
        return entry_point is None or all(a.name != entry_point for a in node.names)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name != entry_point
    return isinstance(node, ast.Assign | ast.AnnAssign)


def split_unittest_classes(code: str, entry_point: str | None) -> list[str]:
    """Stand-alone test sources, one per ``TestCase`` class with at least one ``test*`` method.

    Each source is: the code's imports, helper functions/classes and constants (the function
    under test removed), the module's TestCase classes it inherits from, the class, then the
    runner. Code that does not parse yields none.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    cases = _testcase_classes(tree)
    prelude = [
        n
        for n in tree.body
        if not (isinstance(n, ast.ClassDef) and n.name in cases) and _keep_in_prelude(n, entry_point)
    ]
    out = []
    for case in cases.values():
        bases = _ancestors(case, cases)  # the module's TestCase classes it inherits from
        if not (_has_test_methods(case) or any(_has_test_methods(cases[b]) for b in bases)):
            continue
        head = "\n".join(
            _segment(code, n)
            for n in tree.body
            if n in prelude or (isinstance(n, ast.ClassDef) and n.name in bases)
        )
        source = wrap_unittest(head, _segment(code, case), case.name)
        if compiles(source):
            out.append(source)
    return out


def _segment(code: str, node: ast.stmt) -> str:
    """The node's source text, decorators included."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    lines = code.splitlines()
    end = node.end_lineno or node.lineno
    return "\n".join(lines[first - 1 : end])


# ----------------------------------------------------------------------------- per problem


_IO_CASE = re.compile(
    r"^#+\s*Input\s*:?\s*\n(?P<input>.*?)^#+\s*(?:Expected\s+)?Output\s*:?\s*\n(?P<output>.*?)(?=^#+\s*Input\b|\Z)",
    re.MULTILINE | re.DOTALL | re.IGNORECASE,
)
_IO_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)


def stdio_test(input_text: str, output_text: str) -> str:
    """The source of a ``stdio`` test: the JSON ``{"input": ..., "output": ...}``."""
    return json.dumps({"input": input_text, "output": output_text})


def _unfence(block: str) -> str:
    m = _IO_FENCE.match(block.strip("\n"))
    return m.group(1) if m else block.strip("\n")


def split_io_cases(text: str) -> list[str]:
    """``stdio`` tests from a generation that lists cases as ``### Input`` / ``### Output`` blocks
    (code fences around a block are removed; the input keeps a final newline, as stdin has)."""
    out = []
    for m in _IO_CASE.finditer(text.replace("\r\n", "\n")):
        inp, exp = _unfence(m.group("input")), _unfence(m.group("output"))
        if inp.strip() and exp.strip():
            out.append(stdio_test(inp.rstrip("\n") + "\n", exp.strip("\n") + "\n"))
    return out


def parse_generation(
    text: str, entry_point: str, style: TestStyle, limit: int | None = CODET_LIMIT
) -> list[str]:
    """The tests in one raw generation (duplicates within it kept, in order).

    Args:
        text: The generated text (for ``assert``: the continuation of a prompt ending in ``assert ``).
        entry_point: Name of the function under test.
        style: ``unittest``, ``assert`` or ``stdio`` (input/output cases of a stdin program).
        limit: For ``assert``: first asserts kept per generation (CodeT: 5).
    """
    if style == "assert":
        return split_asserts(text, entry_point, limit)
    if style == "stdio":
        return split_io_cases(text)
    if style == "unittest":
        return split_unittest_classes(extract_code(text), entry_point)
    raise ValueError(f"unknown test style {style!r}")


def parse_generations(
    samples: Sequence[str],
    entry_point: str,
    style: TestStyle,
    limit: int | None = CODET_LIMIT,
    dedupe: Dedupe = "text",
) -> list[ParsedTest]:
    """Unique tests of one problem from all its generations, in order of first appearance.

    Args:
        samples: The raw generations, in sampling order.
        entry_point: Name of the function under test.
        style: ``unittest`` or ``assert``.
        limit: For ``assert``: first asserts kept per generation.
        dedupe: ``text`` (CodeT's and CodeRM's exact-source dedupe) or ``ast`` (also ignores comments).
    """
    found: dict[str, ParsedTest] = {}
    for index, sample in enumerate(samples):
        for source in parse_generation(sample, entry_point, style, limit):
            key = normalize_source(source, dedupe)
            prev = found.get(key)
            found[key] = (
                ParsedTest(normalize_source(source), style, index)
                if prev is None
                else ParsedTest(prev.source, style, prev.sample_index, prev.count + 1)
            )
    return list(found.values())
