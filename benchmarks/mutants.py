"""Deterministic mutants of a reference solution: candidates whose verdicts mix pass, fail, timeout and error.

Used by ``evaluate_vs_evalplus.py --dataset mbpp`` to check that rerankeval and EvalPlus agree on
programs that fail in every way a model's programs do, not only on correct ones. Each mutant is
one AST edit of the reference program (the same seed and program always give the same mutants):

* ``cmp``: one comparison operator flipped (``<`` -> ``>=``, ``==`` -> ``!=``, ``in`` -> ``not in`` ...);
* ``const``: one integer constant off by one;
* ``arith``: one arithmetic operator swapped (``+`` <-> ``-``, ``*`` -> ``+``, ``//`` <-> ``/`` ...);
* ``negate``: one ``if``/``while``/conditional-expression test negated;
* ``return_none``: every ``return`` of the entry point returns None;
* ``raise``: the entry point raises ValueError;
* ``loop``: the entry point loops forever (each input runs into its time limit: ``fail``);
* ``hang``: the program loops forever when loaded, ignoring alarms (the whole run times out: ``timeout``);
* ``memory``: the entry point first reserves a large ``bytes`` object (1, 2 or 3 GiB of address
  space, untouched): it passes or fails depending on the address-space limit and on how much
  address space the judging process already holds.

``loop``, ``hang`` and ``memory`` are drawn for a few problems only (they are slow or heavy).
"""

from __future__ import annotations

import ast
import copy
import random
from collections.abc import Callable
from dataclasses import dataclass

KINDS = ("cmp", "const", "arith", "negate", "return_none", "raise", "loop", "hang", "memory")
#: Share of problems that get each of the rare kinds (when K leaves room for them).
RARE = {"loop": 0.10, "hang": 0.01, "memory": 0.10}

_CMP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_ARITH: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Add,
    ast.FloorDiv: ast.Div,
    ast.Div: ast.FloorDiv,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
}


@dataclass(frozen=True, slots=True)
class Mutant:
    """One mutant program.

    Attributes:
        kind: One of :data:`KINDS`.
        site: Which occurrence was edited (0 for whole-function edits).
        code: The full mutated program.
    """

    kind: str
    site: int
    code: str


def _entry(tree: ast.Module, entry_point: str) -> ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            return node
    return None


def _sites(tree: ast.AST, kind: str) -> list[ast.AST]:
    """The nodes of ``tree`` a point mutation of ``kind`` may edit, in a fixed (walk) order."""
    out: list[ast.AST] = []
    for node in ast.walk(tree):
        if kind == "cmp" and isinstance(node, ast.Compare) and type(node.ops[0]) in _CMP:
            out.append(node)
        elif kind == "const" and isinstance(node, ast.Constant) and type(node.value) is int:
            out.append(node)
        elif kind == "arith" and isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _ARITH:
            out.append(node)
        elif kind == "negate" and isinstance(node, (ast.If, ast.While, ast.IfExp)):
            out.append(node)
    return out


def _edit_site(node: ast.AST, kind: str) -> None:
    if kind == "cmp":
        assert isinstance(node, ast.Compare)
        node.ops[0] = _CMP[type(node.ops[0])]()
    elif kind == "const":
        assert isinstance(node, ast.Constant) and isinstance(node.value, int)
        node.value = node.value + 1
    elif kind == "arith":
        assert isinstance(node, (ast.BinOp, ast.AugAssign))
        node.op = _ARITH[type(node.op)]()
    else:
        assert isinstance(node, (ast.If, ast.While, ast.IfExp))
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)


def _prepend(fn: ast.FunctionDef, source: str) -> None:
    body = ast.parse(source).body
    doc = (
        fn.body[:1]
        if (
            fn.body
            and isinstance(fn.body[0], ast.Expr)
            and isinstance(fn.body[0].value, ast.Constant)
            and isinstance(fn.body[0].value.value, str)
        )
        else []
    )
    fn.body = doc + body + fn.body[len(doc) :]


def _whole(kind: str, rng: random.Random) -> Callable[[ast.Module, ast.FunctionDef], None]:
    def edit(tree: ast.Module, fn: ast.FunctionDef) -> None:
        if kind == "return_none":
            for node in ast.walk(fn):
                if isinstance(node, ast.Return):
                    node.value = ast.Constant(None)
        elif kind == "raise":
            _prepend(fn, "raise ValueError('mutant')")
        elif kind == "loop":
            _prepend(fn, "while True:\n    pass")
        elif kind == "memory":
            _prepend(fn, f"_reserved = bytes({rng.choice((1, 2, 3))} * 1024 ** 3)")
        elif kind == "hang":
            tree.body.append(
                ast.parse(
                    "while True:\n    try:\n        while True:\n            pass\n"
                    "    except BaseException:\n        pass"
                ).body[0]
            )

    return edit


def mutants(code: str, entry_point: str, k: int, seed: int | str = 0) -> list[Mutant]:
    """Up to ``k`` distinct mutants of ``code``, a program defining ``entry_point``; the same for a seed.

    Each rare kind (:data:`RARE`) is drawn with its probability and comes first; then the point
    kinds in a shuffled order, one site each, chosen at random; then ``return_none`` and ``raise``
    (which fit every program) fill what is left. Mutants whose source equals the original or an
    earlier mutant are skipped. Raises SyntaxError when ``code`` does not parse.
    """
    tree = ast.parse(code)
    if _entry(tree, entry_point) is None:
        return []
    rng = random.Random(f"{seed}:{entry_point}:{code}")
    rare = [kind for kind, p in RARE.items() if rng.random() < p]
    points = ["cmp", "const", "arith", "negate"]
    whole = ["return_none", "raise"]
    rng.shuffle(points)
    rng.shuffle(whole)
    plan = rare + points + whole
    original = ast.unparse(tree)
    seen = {original}
    out: list[Mutant] = []
    for kind in plan:
        if len(out) >= k:
            break
        new = copy.deepcopy(tree)
        fn = _entry(new, entry_point)
        assert fn is not None
        site = 0
        if kind in ("cmp", "const", "arith", "negate"):
            sites = _sites(fn, kind)
            if not sites:
                continue
            site = rng.randrange(len(sites))
            _edit_site(sites[site], kind)
        else:
            _whole(kind, rng)(new, fn)
        src = ast.unparse(ast.fix_missing_locations(new))
        if src in seen:
            continue
        seen.add(src)
        out.append(Mutant(kind, site, src + "\n"))
    return out
