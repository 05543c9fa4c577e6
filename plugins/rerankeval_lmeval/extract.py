"""Turns a model's raw response into the full program that is judged and reranked.

The tasks prompt every model the same way (see ``tasks/lmeval``): an instruction with the
problem in a code block, then an answer prefix that opens a ```` ```python ```` block (with
``prompt_style=complete``, HumanEval+'s prefix also repeats the function signature and docstring,
so that the model only writes the body). What comes back depends on the model and backend:

* a base model, or a chat model whose answer prefix was pre-filled, *continues* the open block
  with the whole function, or only its body: ``"    return sorted(x)\\n```\\n..."`` (the program
  is the prefix's code, or the prompt's imports, plus the text up to the closing fence);
* a chat model behind an API that does not pre-fill starts a fresh answer, usually prose and
  one or more fenced blocks that hold the whole function (or only its body);
* some models write the whole function again inside the continuation.

:func:`extract_program` tries these readings in a fixed order and keeps the first that parses
and defines the entry point; :func:`clean_program` then keeps only imports, definitions and
simple assignments (like EvalPlus's ``sanitize``, it drops top-level prints, asserts and
``if __name__ == "__main__"`` blocks that would run at import), using :mod:`ast` instead of
EvalPlus's tree-sitter search, which is quadratic in the number of lines (about 0.5 s for a
150-line answer; this is linear for code that parses).
"""

from __future__ import annotations

import ast
import re

__all__ = ["clean_program", "extract_program", "fenced_blocks"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S)
_CODE_LANGS = {"", "python", "py", "python3", "Python"}
_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def fenced_blocks(text: str) -> list[str]:
    """Contents of the Markdown code blocks of ``text`` (Python or untagged), in order.

    An unclosed last block runs to the end of the text.
    """
    return [m.group(2) for m in _FENCE.finditer(text) if m.group(1) in _CODE_LANGS]


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _defines(tree: ast.Module, name: str) -> bool:
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name for n in tree.body)


def _is_stub(stmt: ast.stmt) -> bool:
    """A docstring, ``pass`` or ``...``: what a prompt's signature holds before the answer."""
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str | type(Ellipsis))
    )


def _implements(tree: ast.Module, name: str) -> bool:
    """Defines ``name`` with a body that is more than a docstring or ``pass``."""
    return any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        and n.name == name
        and not all(_is_stub(s) for s in n.body)
        for n in tree.body
    )


def _longest_valid_prefix(code: str, entry_point: str) -> str | None:
    """The longest prefix (whole lines) that parses and defines ``entry_point``."""
    lines = code.split("\n")
    for end in range(len(lines), 0, -1):
        chunk = "\n".join(lines[:end])
        tree = _parse(chunk)
        if tree is not None and _defines(tree, entry_point):
            return chunk
    return None


def _prompt_imports(prompt: str) -> str:
    tree = _parse(prompt)
    if tree is None:
        return ""
    return "\n".join(
        ast.get_source_segment(prompt, n) or ""
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom))
    )


def _readings(response: str, code_prefix: str, prompt: str) -> list[str]:
    """Candidate programs, most likely reading first: the text up to the closing fence (after the
    prefix's code), each fenced block (with the prompt's imports), the raw response, and, for an
    answer that holds only a function body, the same pieces after the prompt."""
    head = response.split("```", 1)[0]
    blocks = fenced_blocks(response)
    imports = _prompt_imports(prompt or code_prefix)

    def fresh(code: str) -> str:  # a whole answer: the prompt's imports first (harmless when repeated)
        return f"{imports}\n{code}" if imports else code

    out = [code_prefix + head if code_prefix else fresh(head)]
    out += [fresh(b) for b in blocks]
    out += [code_prefix + b for b in blocks if code_prefix]
    out.append(code_prefix + response if code_prefix else fresh(response))
    if code_prefix:
        out.append(response)
    if prompt and prompt != code_prefix:
        out += [prompt + head] + [prompt + b for b in blocks]
    return out


def clean_program(code: str, entry_point: str = "") -> str:
    """Keeps imports, function and class definitions and top-level assignments of ``code``.

    Drops every other top-level statement (calls, prints, asserts, loops, ``if __name__`` blocks),
    which would run when the program is imported. Code that does not parse is first cut to its
    longest prefix that parses (and defines ``entry_point`` when given); code with no such prefix
    comes back unchanged, so that the judge reports the failure.
    """
    tree = _parse(code)
    if tree is None:
        prefix = _longest_valid_prefix(code, entry_point) if entry_point else None
        if prefix is None:
            return code
        code, tree = prefix, _parse(prefix)
        assert tree is not None
    kept = []
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        simple_assign = bool(targets) and all(isinstance(t, ast.Name) for t in targets)
        if isinstance(node, _KEEP) or simple_assign:
            kept.append(ast.get_source_segment(code, node, padded=True) or "")
    return "\n".join(kept)


def extract_program(response: str, entry_point: str, code_prefix: str = "", prompt: str = "") -> str:
    """The program a response stands for, cleaned with :func:`clean_program`.

    Args:
        response: The raw generated text (what lm-eval logs under ``resps``).
        entry_point: Name of the function under test.
        code_prefix: Code the answer prefix already holds (HumanEval+: the prompt; MBPP+: "").
        prompt: The problem's prompt; its imports are added to a fenced answer that omits them.

    Returns:
        A full program. When no reading defines ``entry_point``, the continuation reading is
        returned cleaned as far as possible, and fails the tests as it should.
    """
    readings = _readings(response, code_prefix, prompt)
    for accept in (_implements, _defines):
        for code in readings:
            tree = _parse(code)
            if tree is not None and accept(tree, entry_point):
                return clean_program(code, entry_point)
    for code in readings:
        prefix = _longest_valid_prefix(code, entry_point)
        if prefix is not None:
            return clean_program(prefix, entry_point)
    return clean_program(readings[0], entry_point)
