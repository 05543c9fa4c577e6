"""One entry point for every allocation, over saved matrices or executing as it goes.

:func:`allocate_tests` replays an allocation over full pass matrices (``rerankeval report``);
:func:`allocate_online` runs one while the tests are executed (``rerankeval rerank --budget``),
asking a ``reveal`` callback for exactly the columns the allocation pays for.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from rerankeval.core.rerank import PassMatrix
from rerankeval.errors import InputError
from rerankeval.scaling.adaptive import Reveal, adaptive, adaptive_online, checked_reveal
from rerankeval.scaling.allocation import Allocation, _check, greedy, greedy_first_batch, uniform
from rerankeval.scaling.difficulty import ESTIMATORS, estimate_difficulty

Method = Literal["uniform", "greedy", "adaptive"]
METHODS: tuple[Method, ...] = ("uniform", "greedy", "adaptive")


def allocate_tests(
    matrices: Mapping[str, PassMatrix],
    budget: float,
    method: Method,
    difficulty: Mapping[str, float] | None = None,
    **options: Any,
) -> Allocation:
    """Dispatches to :func:`uniform`, :func:`greedy` or :func:`adaptive`.

    Raises:
        InputError: An unknown method or an option it does not take.
    """
    check_options(method, options)
    if method == "greedy":
        return greedy(matrices, budget, difficulty, **options)
    fn = uniform if method == "uniform" else adaptive
    return fn(matrices, budget, **options)


#: Options that must be numbers (whole numbers for ``int``), whatever allocation takes them.
_NUMERIC: Mapping[str, type] = {
    "step": int,
    "first_batch": int,
    "patience": int,
    "min_tests": int,
    "max_tests": int,
    "slack": float,
}


def check_options(method: str, options: Mapping[str, Any]) -> None:
    """Validates an allocation's name and options before anything is spent.

    Raises:
        InputError: An unknown method, an option it does not take, or a non-numeric value for a
            numeric option.
    """
    if method not in METHODS:
        raise InputError(f"unknown allocation {method!r}. Use one of: {', '.join(METHODS)}")
    fns: dict[str, Callable[..., Any]] = {"uniform": uniform, "greedy": greedy, "adaptive": adaptive_online}
    fn = fns[method]
    positional = {"matrices", "budget", "difficulty", "tests", "n_candidates", "reveal"}
    accepted = set(inspect.signature(fn).parameters) - positional
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise InputError(
            f"allocation '{method}' does not take {', '.join(unknown)}. "
            f"It takes: {', '.join(sorted(accepted))}"
        )
    for key, kind in _NUMERIC.items():
        value = options.get(key)
        if value is None:
            continue
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or (kind is int and float(value) != int(value)):
            raise InputError(
                f"allocation option {key}={value!r} must be a {'whole ' if kind is int else ''}number"
            )


def allocate(
    matrices: Mapping[str, PassMatrix],
    budget: float,
    allocation: Method = "uniform",
    difficulty: Mapping[str, float] | None = None,
    **options: Any,
) -> dict[str, list[int]]:
    """The test columns each problem may use under a budget: what ``rerank --budget`` calls.

    Args:
        matrices: problem_id -> full pass matrix (adaptive reads only the cells it pays for).
        budget: Average tests per problem.
        allocation: ``uniform``, ``greedy`` or ``adaptive``.
        difficulty: Estimated pass rate per problem (``greedy``; optional).
        **options: Passed to the allocation function (e.g. ``first_batch`` for greedy; ``step``,
            ``rule``, ``slack``, ``patience`` and ``select`` -- the reranker's selection rule on a
            revealed matrix -- for adaptive).

    Returns:
        problem_id -> column positions to keep, in the artifact's order.

    Raises:
        InputError: An unknown allocation, a bad option or budget.
    """
    result = allocate_tests(matrices, budget, allocation, difficulty, **options)
    return {p: list(c) for p, c in result.columns.items()}


def _shapes(tests: Mapping[str, Sequence[str]], n_candidates: Mapping[str, int]) -> dict[str, PassMatrix]:
    """Cell-less matrices: uniform and greedy read only their test ids and number of rows."""
    return {p: PassMatrix(p, tuple(t), ("",) * n_candidates[p]) for p, t in tests.items()}


def allocate_online(
    tests: Mapping[str, Sequence[str]],
    n_candidates: Mapping[str, int],
    budget: float,
    method: Method,
    reveal: Reveal,
    difficulty: Mapping[str, float] | None = None,
    keys: Mapping[str, Sequence[str]] | None = None,
    **options: Any,
) -> tuple[Allocation, dict[str, list[str]]]:
    """Allocates a test budget while executing: only the cells the allocation pays for are run.

    - ``uniform``: one ``reveal`` of each problem's first tests.
    - ``greedy``: without ``difficulty``, a first ``reveal`` of every problem's first batch
      (``first_batch``, default 5, capped at ``int(budget)``), difficulty estimated from it
      (``estimator``: ``consensus`` by default, or ``pass-rate``; ``agreement`` reads ``keys``
      and runs nothing), CodeRM's greedy over the estimates, then one ``reveal`` of the
      remaining allocated columns. With ``difficulty`` (a probe's predictions) there is no first
      batch unless ``first_batch`` asks for one.
    - ``adaptive``: :func:`~rerankeval.scaling.adaptive.adaptive_online` with this ``reveal``.

    Args:
        tests: problem_id -> test ids in the artifact's order (tests are paid for in this order).
        n_candidates: problem_id -> number of candidates.
        budget: Average tests per problem.
        method: ``uniform``, ``greedy`` or ``adaptive``.
        reveal: Runs the requested column ranges (see :data:`~rerankeval.scaling.adaptive.Reveal`).
        difficulty: problem_id -> predicted pass rate (``greedy`` only).
        keys: problem_id -> per-candidate code hash (``greedy`` with ``estimator=agreement``).
        **options: The allocation's options (as :func:`allocate_tests`).

    Returns:
        The allocation, and problem_id -> one string of cells per candidate for exactly the
        columns spent (``allocation.columns``). Every column is revealed once.

    Raises:
        InputError: A bad method, option, budget or difficulty; or ``difficulty`` given to
            another method than ``greedy``.
    """
    check_options(method, options)
    _check(tests, budget)
    if difficulty is not None and method != "greedy":
        raise InputError(f"difficulty estimates are read by the greedy allocation only, not by {method!r}")
    cells: dict[str, list[str]] = {p: [""] * n_candidates[p] for p in tests}
    width = dict.fromkeys(tests, 0)

    def paid(asked: Mapping[str, tuple[int, int]]) -> Mapping[str, Sequence[str]]:
        asked = {p: ab for p, ab in asked.items() if ab[1] > ab[0]}
        if not asked:
            return {}
        assert all(a == width[p] for p, (a, _) in asked.items()), "columns are paid for in order, once"
        answer = checked_reveal(reveal, asked, n_candidates)
        for p, (_, b) in asked.items():
            cells[p] = [old + new for old, new in zip(cells[p], answer[p], strict=True)]
            width[p] = b
        return answer

    if method == "adaptive":
        alloc = adaptive_online(tests, n_candidates, budget, paid, **options)
    else:
        shapes = _shapes(tests, n_candidates)
        if method == "greedy":
            alloc = _greedy_online(shapes, budget, paid, cells, difficulty, keys, options)
        else:
            alloc = uniform(shapes, budget)
        paid({p: (width[p], len(cols)) for p, cols in alloc.columns.items()})
    assert all(width[p] == len(c) for p, c in alloc.columns.items()), "revealed = spent"
    return alloc, cells


def _greedy_online(
    shapes: Mapping[str, PassMatrix],
    budget: float,
    paid: Reveal,
    cells: Mapping[str, Sequence[str]],
    difficulty: Mapping[str, float] | None,
    keys: Mapping[str, Sequence[str]] | None,
    options: Mapping[str, Any],
) -> Allocation:
    """Greedy's first batch (paid for here), its difficulty estimate, then :func:`greedy`."""
    opts = dict(options)
    estimator = opts.pop("estimator", "consensus")
    if estimator not in ESTIMATORS:
        raise InputError(f"unknown difficulty estimator {estimator!r}. Use one of: {', '.join(ESTIMATORS)}")
    if difficulty is None and estimator == "agreement":
        difficulty = estimate_difficulty(shapes, "agreement", keys=keys)
    if difficulty is not None:
        return greedy(shapes, budget, difficulty, **opts)  # the caller pays for any first_batch
    first = greedy_first_batch(budget, opts.get("first_batch"), has_difficulty=False)
    if first == 0:  # greedy says why it cannot estimate anything
        return greedy(shapes, budget, None, first_batch=0)
    paid({p: (0, min(first, len(m.test_ids))) for p, m in shapes.items()})
    batch = {p: PassMatrix(p, m.test_ids[:first], tuple(cells[p])) for p, m in shapes.items()}
    return greedy(shapes, budget, estimate_difficulty(batch, estimator, first), first_batch=first)
