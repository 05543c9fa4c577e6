"""Allocation of a unit-test budget across problems: the result type, uniform and greedy (CodeRM).

Every allocation is a pure function of pass matrices. Tests are spent in the artifact's order
(the order of the matrix columns), so an allocation decides how many of each problem's tests to
pay for; it returns their column positions. Running ``k`` tests on a problem with ``n``
candidates costs ``n x k`` executions, and that is what the budget buys.

``budget`` is the average number of tests per problem: the whole allocation may spend at most
``round(budget x number of problems)`` tests. No allocation reads ground truth, and ``adaptive``
decides only from cells it has already paid for.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from rerankeval.core.rerank import PassMatrix
from rerankeval.errors import InputError
from rerankeval.scaling.difficulty import Estimator, estimate_difficulty


@dataclass(frozen=True, slots=True)
class Allocation:
    """Which tests each problem pays for.

    Attributes:
        method: ``uniform``, ``greedy`` or ``adaptive``.
        budget: The requested average number of tests per problem.
        columns: problem_id -> spent test columns, in the artifact's order.
        n_candidates: problem_id -> number of candidates (rows) of its matrix.
        rounds: Rounds of spending (``adaptive`` only; 0 otherwise).
        settled: Problems that ``adaptive`` stopped because their pick was settled.
    """

    method: str
    budget: float
    columns: Mapping[str, tuple[int, ...]]
    n_candidates: Mapping[str, int]
    rounds: int = 0
    settled: frozenset[str] = field(default_factory=frozenset)

    def executions_of(self, problem_id: str) -> int:
        """Executions spent on one problem: candidates x tests spent."""
        return self.n_candidates[problem_id] * len(self.columns[problem_id])

    @property
    def executions(self) -> int:
        """Total (candidate, test) executions."""
        return sum(self.executions_of(p) for p in self.columns)

    @property
    def tests(self) -> int:
        """Total tests spent over all problems."""
        return sum(len(c) for c in self.columns.values())

    @property
    def mean_tests(self) -> float:
        """Average number of tests spent per problem."""
        return self.tests / len(self.columns) if self.columns else 0.0


def _check(matrices: Mapping[str, object], budget: float) -> int:
    if not math.isfinite(budget) or budget < 0:
        raise InputError(f"test budget must be a number >= 0 (tests per problem on average), got {budget}")
    return int(round(budget * len(matrices)))


def _result(
    method: str,
    budget: float,
    matrices: Mapping[str, PassMatrix],
    spent: Mapping[str, int],
    rounds: int = 0,
    settled: frozenset[str] = frozenset(),
) -> Allocation:
    return Allocation(
        method,
        budget,
        {p: tuple(range(spent[p])) for p in matrices},
        {p: len(m.rows) for p, m in matrices.items()},
        rounds,
        settled,
    )


def uniform(matrices: Mapping[str, PassMatrix], budget: float) -> Allocation:
    """The same number of tests for every problem (the first ones in the artifact's order).

    A fractional budget gives one extra test to the first problems (in mapping order) that have
    one, so that the total is ``round(budget x problems)``. A problem never gets more tests than it
    has.

    Raises:
        InputError: A negative or non-finite budget.
    """
    total = _check(matrices, budget)
    base = int(budget)
    extra = total - base * len(matrices)
    spent = {p: min(len(m.test_ids), base) for p, m in matrices.items()}
    for p, m in matrices.items():
        if extra <= 0:
            break
        if len(m.test_ids) > base:
            spent[p] += 1
            extra -= 1
    return _result("uniform", budget, matrices, spent)


def marginal_gain(p: float, b: int) -> float:
    """CodeRM's gain of a ``(b+1)``-th test: ``q(p, b+1) - q(p, b) = p (1-p)^b`` with ``q = 1-(1-p)^b``."""
    return p * (1.0 - p) ** b


def greedy_first_batch(budget: float, first_batch: int | None, has_difficulty: bool) -> int:
    """Tests every problem gets before greedy's marginal-gain phase.

    Default 0 when difficulty estimates are given, else 5 (the batch they are estimated from);
    never more than ``int(budget)``.
    """
    first = (0 if has_difficulty else 5) if first_batch is None else first_batch
    return max(0, min(int(first), int(budget)))


def greedy(
    matrices: Mapping[str, PassMatrix],
    budget: float,
    difficulty: Mapping[str, float] | None = None,
    *,
    first_batch: int | None = None,
    estimator: Estimator = "consensus",
) -> Allocation:
    """CodeRM's dynamic scaling: each next test goes to the problem with the largest marginal gain.

    With an estimated pass rate ``p`` per problem, the gain of a problem's ``(b+1)``-th test is
    ``p (1-p)^b`` (:func:`marginal_gain`), so problems that look hard keep receiving tests while
    easy ones stop after a few. Estimates are smoothed to ``(p n + 1) / (n + 2)`` (``n`` =
    candidates) so that no problem's gain is exactly zero. Ties go to the problem with fewer tests,
    then to mapping order.

    Args:
        matrices: problem_id -> pass matrix.
        budget: Average tests per problem.
        difficulty: problem_id -> estimated pass rate (a probe's predictions, or sample agreement).
            When None, it is estimated with ``estimator`` from a first batch of tests.
        first_batch: Tests every problem gets before the greedy phase (counted in the budget).
            Default: 0 with ``difficulty``, else 5. Capped at ``int(budget)``.
        estimator: How to estimate difficulty from the first batch (``consensus`` or ``pass-rate``).

    Raises:
        InputError: A negative budget, or difficulty missing for a problem.
    """
    total = _check(matrices, budget)
    first = greedy_first_batch(budget, first_batch, difficulty is not None)
    spent = {p: min(first, len(m.test_ids)) for p, m in matrices.items()}
    if difficulty is None:
        if first == 0:
            raise InputError(
                "greedy allocation without difficulty estimates needs a first batch of tests "
                f"(budget {budget} leaves none). Raise the budget or pass difficulty estimates"
            )
        difficulty = estimate_difficulty(matrices, estimator, first)
    missing = [p for p in matrices if p not in difficulty]
    if missing:
        raise InputError(
            f"no difficulty estimate for {len(missing)} problem(s), e.g. {missing[0]}. "
            "Give one predicted pass rate per problem"
        )
    ps = {
        pid: (min(max(float(difficulty[pid]), 0.0), 1.0) * len(m.rows) + 1.0) / (len(m.rows) + 2.0)
        for pid, m in matrices.items()
    }
    order_of = {pid: i for i, pid in enumerate(matrices)}
    heap = [
        (-marginal_gain(ps[pid], spent[pid]), spent[pid], order_of[pid], pid)
        for pid, m in matrices.items()
        if spent[pid] < len(m.test_ids)
    ]
    heapq.heapify(heap)
    used = sum(spent.values())
    while used < total and heap:
        _, _, _, pid = heapq.heappop(heap)
        spent[pid] += 1
        used += 1
        if spent[pid] < len(matrices[pid].test_ids):
            heapq.heappush(heap, (-marginal_gain(ps[pid], spent[pid]), spent[pid], order_of[pid], pid))
    return _result("greedy", budget, matrices, spent)
