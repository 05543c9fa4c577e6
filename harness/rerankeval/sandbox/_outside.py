"""Generated-test comparisons decided outside the candidate's process.

A generated test runs in the candidate's own process, so a program written to attack the runner
(reaching its objects through ``sys.modules`` or the frame stack) can report a test it fails as
passed. For the common forms, the supervisor takes the verdict out of the child's hands:

* ``assert E == L`` and ``assert L == E`` at the top level of a test, and
* ``self.assertEqual(E, L)`` / ``assertEqual(L, E)`` (or ``assertEquals``, no message argument) at the
  top level of an undecorated ``test*`` method of a class defined at the top level of a test,

where ``L`` is a literal (``ast.literal_eval`` accepts it) and ``E`` is not. :func:`split` removes the
literal from the source the child runs: each such statement becomes ``__rerankeval_report__(k, E)``,
which sends ``E``'s value (pickled) to the supervisor; the supervisor keeps ``L`` and compares. A
test with such comparisons passes only when every one of them was reported once and equals its
literal, and the child reports the test as having run to its end.

What stays forgeable from inside the process: a program that reaches the runner can report any
value it likes for a comparison, so it can pass one whose expected value it guesses (``True``, say),
but it never sees the literal (the child only has the stripped source); and every other form
(comparisons of two computed values, ``assertTrue``, ``assertAlmostEqual``, asserts inside loops,
branches, ``with`` blocks or helper functions) is still decided in its process.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

REPORT = "__rerankeval_report__"
_ASSERT_EQUAL = ("assertEqual", "assertEquals")
_MAX_SOURCE = 200_000


@dataclass(frozen=True, slots=True)
class Expected:
    """One comparison the supervisor decides: the literal, and on which side of ``==`` it stood."""

    value: Any
    literal_first: bool

    def matches(self, got: Any) -> bool:
        """``L == E`` or ``E == L`` exactly as the test wrote it (assertEqual: ``first == second``)."""
        return bool(self.value == got) if self.literal_first else bool(got == self.value)


def _literal(node: ast.expr) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _pair(left: ast.expr, right: ast.expr) -> tuple[ast.expr, Expected] | None:
    lit_l, val_l = _literal(left)
    lit_r, val_r = _literal(right)
    if lit_r and not lit_l:
        return left, Expected(val_r, literal_first=False)
    if lit_l and not lit_r:
        return right, Expected(val_l, literal_first=True)
    return None


def _report(k: int, expr: ast.expr, like: ast.stmt) -> ast.stmt:
    call = ast.Call(func=ast.Name(id=REPORT, ctx=ast.Load()), args=[ast.Constant(k), expr], keywords=[])
    return ast.copy_location(ast.Expr(value=call), like)


def _from_assert(stmt: ast.stmt) -> tuple[ast.expr, Expected] | None:
    if not isinstance(stmt, ast.Assert) or stmt.msg is not None:
        return None
    t = stmt.test
    if isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq):
        return _pair(t.left, t.comparators[0])
    return None


def _from_assert_equal(stmt: ast.stmt) -> tuple[ast.expr, Expected] | None:
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    f = call.func
    if not (isinstance(f, ast.Attribute) and f.attr in _ASSERT_EQUAL and isinstance(f.value, ast.Name)):
        return None
    if f.value.id != "self" or len(call.args) != 2 or call.keywords:
        return None
    return _pair(call.args[0], call.args[1])


def _rewrite(body: list[ast.stmt], find: Any, expected: list[Expected]) -> None:
    for j, stmt in enumerate(body):
        found = find(stmt)
        if found is not None:
            expr, exp = found
            body[j] = _report(len(expected), expr, stmt)
            expected.append(exp)


def split(source: str) -> tuple[str, tuple[Expected, ...]]:
    """The source the child runs, and the comparisons the supervisor decides (none: run as written)."""
    if len(source) > _MAX_SOURCE or REPORT in source:
        return source, ()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return source, ()
    expected: list[Expected] = []
    _rewrite(tree.body, _from_assert, expected)
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and fn.name.startswith("test") and not fn.decorator_list:
                    _rewrite(fn.body, _from_assert_equal, expected)
    if not expected:
        return source, ()
    try:
        out = ast.unparse(ast.fix_missing_locations(tree))
        if ast.dump(ast.parse(out)) != ast.dump(tree):
            return source, ()
    except (ValueError, SyntaxError, RecursionError):
        return source, ()
    return out, tuple(expected)
