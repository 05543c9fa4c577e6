"""Adaptive allocation: spend tests in rounds and stop on problems whose pick is already settled.

Nothing here reads ground truth, and a problem is judged only from the cells it has paid for
(the first ``spent`` columns of its matrix). Two stopping rules:

- ``lead`` (no reranker needed): the candidates passing the most revealed tests agree on every
  revealed test and lead the next best by more than ``slack x remaining tests``. With
  ``slack = 1`` no remaining test can let another candidate overtake them on tests passed.
- ``stable``: the reranker's own pick on the revealed columns (its chosen set) has not changed
  for ``patience`` rounds. This follows any selection rule (CodeT's consensus sets, CodeRM's
  counts, MBR-exec), which the ``lead`` bound cannot.

Under both rules a problem whose candidates all behave identically on the revealed tests, with
at least one test passed, is settled at once (no revealed test separates any two candidates);
and a problem where no candidate has passed any test yet is never settled (nothing is known).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from rerankeval.core.rerank import PassMatrix
from rerankeval.core.select import coderm_select
from rerankeval.errors import InputError
from rerankeval.scaling.allocation import Allocation, _check

Rule = Literal["lead", "stable"]
#: A selection rule: the chosen candidate positions of a (revealed) pass matrix.
Select = Callable[[PassMatrix], Sequence[int]]


def _passed(matrix: PassMatrix) -> np.ndarray:
    if not matrix.rows or not matrix.test_ids:
        return np.zeros((len(matrix.rows), len(matrix.test_ids)), dtype=bool)
    cells = np.frombuffer("".join(matrix.rows).encode("ascii"), dtype=np.uint8)
    return cells.reshape(len(matrix.rows), len(matrix.test_ids)) == ord("p")


def coderm_choice(matrix: PassMatrix) -> tuple[int, ...]:
    """CodeRM's chosen set (most tests passed, most common pass pattern): the default ``select``."""
    return coderm_select(matrix.rows).chosen


def settle_state(revealed: np.ndarray, remaining: int, slack: float) -> tuple[bool, float]:
    """The ``lead`` rule: whether a problem's pick is settled, judged from the revealed cells alone.

    The candidates that pass the most revealed tests are the *leaders*. The pick is settled when
    some candidate passed a revealed test, the leaders all have the same outcomes on every revealed
    test (no tie left between different behaviours), and either every candidate has those outcomes
    or the leaders' lead over the best other candidate exceeds ``slack x remaining``.

    Args:
        revealed: Boolean (candidates x tests paid for) matrix: True where the candidate passed.
        remaining: Tests of this problem not yet paid for (up to its cap).
        slack: Fraction of the remaining tests the lead must exceed.

    Returns:
        (settled, urgency): urgency ranks unsettled problems (lower = more in need of tests).
    """
    n = revealed.shape[0]
    if n <= 1:
        return True, math.inf
    counts = revealed.sum(axis=1)
    top = counts.max()
    if top == 0:
        return False, -1.0
    leaders = revealed[counts == top]
    if not (leaders == leaders[0]).all():
        return False, -1.0
    outside = counts[counts != top]
    if outside.size == 0:
        return True, math.inf
    lead = float(top - outside.max())
    need = slack * remaining
    return lead > need, lead / max(need, 1.0)


class _Stable:
    """The ``stable`` rule's memory: each problem's chosen sets at its successive checks."""

    def __init__(self, select: Select, patience: int) -> None:
        self.select = select
        self.patience = patience
        self.history: dict[str, list[tuple[int, ...]]] = {}

    def judge(self, matrix: PassMatrix, revealed: np.ndarray) -> tuple[bool, float]:
        if revealed.shape[0] <= 1:
            return True, math.inf
        if not revealed.any():
            return False, -1.0
        if (revealed == revealed[0]).all():
            return True, math.inf
        chosen = tuple(sorted(self.select(matrix)))
        hist = self.history.setdefault(matrix.problem_id, [])
        hist.append(chosen)
        same = 0
        while same + 1 < len(hist) and hist[-2 - same] == chosen:
            same += 1
        decisive = bool(revealed[list(chosen)].any()) if chosen else False
        return (same >= self.patience and decisive), float(same)


#: Asks for more cells: problem_id -> (start, stop) column range; answers problem_id -> one string
#: of CELL characters per candidate (in candidate order) for exactly those columns.
Reveal = Callable[[Mapping[str, tuple[int, int]]], Mapping[str, Sequence[str]]]


def checked_reveal(
    reveal: Reveal, asked: Mapping[str, tuple[int, int]], n_candidates: Mapping[str, int]
) -> Mapping[str, Sequence[str]]:
    """Calls ``reveal`` and checks that it answered one row per candidate, one cell per asked column.

    Raises:
        InputError: An answer of the wrong shape.
    """
    answer = reveal(asked)
    for p, (a, b) in asked.items():
        rows = answer.get(p, ())
        if len(rows) != n_candidates[p] or any(len(r) != b - a for r in rows):
            raise InputError(
                f"reveal answered {p} with the wrong shape: expected {n_candidates[p]} rows "
                f"of {b - a} cells (columns {a}..{b - 1})"
            )
    return answer


def adaptive_online(
    tests: Mapping[str, Sequence[str]],
    n_candidates: Mapping[str, int],
    budget: float,
    reveal: Reveal,
    *,
    step: int = 5,
    first_batch: int | None = None,
    rule: Rule = "lead",
    slack: float = 0.5,
    patience: int = 2,
    select: Select | None = None,
    min_tests: int | None = None,
    max_tests: int | None = None,
) -> Allocation:
    """Adaptive allocation that executes as it goes: only the cells it pays for are ever produced.

    Every problem first gets ``first_batch`` tests. Then, round after round, each problem that
    is not settled and has tests left gets ``step`` more, the least settled first, until the
    budget runs out or every problem is settled or exhausted. Each round is one ``reveal`` call
    covering every problem that gets tests, so a caller can run that round's (candidate, test)
    pairs as one parallel batch. Settled problems leave their share to the others, so the
    allocation may end under budget.

    Args:
        tests: problem_id -> test ids in the artifact's order (tests are paid for in this order).
        n_candidates: problem_id -> number of candidates.
        budget: Average tests per problem (an upper bound on what is spent).
        reveal: Runs the requested columns and returns their cells (see :data:`Reveal`).
        step: Tests added per round to each open problem.
        first_batch: Tests every problem gets first (default ``step``); capped at ``int(budget)``.
        rule: ``lead`` (see :func:`settle_state`) or ``stable`` (the pick of ``select`` unchanged
            for ``patience`` rounds).
        slack: ``lead`` rule: fraction of the remaining tests the leaders' lead must exceed.
        patience: ``stable`` rule: rounds the chosen set must stay the same.
        select: ``stable`` rule: the selection rule (default CodeRM's, :func:`coderm_choice`);
            pass the reranker whose pick the tests feed.
        min_tests: No problem is judged before it has this many tests (default ``first_batch``).
        max_tests: Most tests any one problem may get (default: all it has).

    Raises:
        InputError: A negative budget, ``step < 1``, ``slack < 0``, ``patience < 0``, an unknown
            rule, or ``reveal`` answering with the wrong shape.
    """
    total = _check(tests, budget)
    if step < 1 or slack < 0 or patience < 0 or rule not in ("lead", "stable"):
        raise InputError(
            "adaptive allocation needs step >= 1, slack >= 0, patience >= 0 and rule 'lead' or 'stable' "
            f"(got step={step}, slack={slack}, patience={patience}, rule={rule!r})"
        )
    first = max(0, min(step if first_batch is None else first_batch, int(budget)))
    floor = first if min_tests is None else min_tests
    caps = {p: len(t) if max_tests is None else min(max_tests, len(t)) for p, t in tests.items()}
    cells = {p: [""] * n_candidates[p] for p in tests}
    spent = dict.fromkeys(tests, 0)
    stable = _Stable(select or coderm_choice, patience) if rule == "stable" else None

    def pay(gives: Mapping[str, int]) -> None:
        asked = {p: (spent[p], spent[p] + k) for p, k in gives.items() if k > 0}
        if not asked:
            return
        answer = checked_reveal(reveal, asked, n_candidates)
        for p, (_, b) in asked.items():
            cells[p] = [old + new for old, new in zip(cells[p], answer[p], strict=True)]
            spent[p] = b

    pay({p: min(first, caps[p]) for p in tests})
    used, rounds, settled = sum(spent.values()), 0, set()
    while used < total:
        open_: list[tuple[float, int, str]] = []
        for order, pid in enumerate(tests):
            if pid in settled or spent[pid] >= caps[pid]:
                continue
            urgency = -math.inf
            if spent[pid] >= floor:
                seen = PassMatrix(pid, tuple(tests[pid][: spent[pid]]), tuple(cells[pid]))
                revealed = _passed(seen)
                if stable is not None:
                    done, urgency = stable.judge(seen, revealed)
                else:
                    done, urgency = settle_state(revealed, caps[pid] - spent[pid], slack)
                if done:
                    settled.add(pid)
                    continue
            open_.append((urgency, order, pid))
        if not open_:
            break
        rounds += 1
        gives: dict[str, int] = {}
        for _, _, pid in sorted(open_):
            give = min(step, caps[pid] - spent[pid], total - used)
            if give <= 0:
                break
            gives[pid] = give
            used += give
        pay(gives)
    columns = {p: tuple(range(spent[p])) for p in tests}
    return Allocation("adaptive", budget, columns, dict(n_candidates), rounds, frozenset(settled))


def adaptive(matrices: Mapping[str, PassMatrix], budget: float, **options: Any) -> Allocation:
    """:func:`adaptive_online` over saved pass matrices (each round reads the next columns of them).

    The allocation sees a column only after paying for it, exactly as it would if the tests
    were run on demand; use it to replay an allocation on a saved run.

    Args:
        matrices: problem_id -> full pass matrix.
        budget: Average tests per problem.
        **options: :func:`adaptive_online`'s keyword options (``step``, ``rule``, ``slack``,
            ``patience``, ``select``, ``first_batch``, ``min_tests``, ``max_tests``).

    Raises:
        InputError: As :func:`adaptive_online`.
    """

    def reveal(asked: Mapping[str, tuple[int, int]]) -> dict[str, list[str]]:
        return {p: [r[a:b] for r in matrices[p].rows] for p, (a, b) in asked.items()}

    return adaptive_online(
        {p: m.test_ids for p, m in matrices.items()},
        {p: len(m.rows) for p, m in matrices.items()},
        budget,
        reveal,
        **options,
    )
