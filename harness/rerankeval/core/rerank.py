"""Contracts of reranking: what a reranker sees, what it returns, and how a pick is scored.

A reranker *ranks*; it never sees ground truth (except the ``oracle`` bound, which says so).
Its answer for a problem is a :class:`Ranking`: a score per candidate (higher is better; used
for ROC-AUC, calibration and best-of-k curves) and the set of candidates tied for the pick.
Reranked pass@1 of a problem is the expected accuracy of a uniform pick among that tied set,
as CodeRM's released evaluator computes it; the samples file written for EvalPlus takes the
lowest sampling index among them, so every reranker is reproducible in the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from rerankeval.core.types import Candidate

#: One character per (candidate, test) cell of a pass matrix.
CELL = {"pass": "p", "fail": "f", "error": "e", "timeout": "t", "oom": "m"}
CELL_STATUS = {v: k for k, v in CELL.items()}


@dataclass(frozen=True, slots=True)
class PassMatrix:
    """Every candidate of one problem against every generated test of that problem.

    Attributes:
        problem_id: The problem.
        test_ids: One id per column (stable ids from the tests artifact).
        rows: One string per candidate (in candidate order), one :data:`CELL` char per test.
        reference: The benchmark's canonical solution against the same tests (what measures the
            tests' accuracy), or None when the benchmark has none or it did not run.
    """

    problem_id: str
    test_ids: tuple[str, ...]
    rows: tuple[str, ...]
    reference: str | None = None

    def passed(self, i: int) -> tuple[bool, ...]:
        return tuple(c == "p" for c in self.rows[i])

    def n_passed(self, i: int) -> int:
        return self.rows[i].count("p")

    def subset(
        self, candidates: Sequence[int] | None = None, tests: Sequence[int] | None = None
    ) -> PassMatrix:
        """The matrix restricted to some candidates (rows) and tests (columns), in the given order
        (the reference row keeps the same columns)."""
        rows = self.rows if candidates is None else tuple(self.rows[i] for i in candidates)
        if tests is None:
            return PassMatrix(self.problem_id, self.test_ids, rows, self.reference)
        ref = self.reference
        return PassMatrix(
            self.problem_id,
            tuple(self.test_ids[j] for j in tests),
            tuple("".join(r[j] for j in tests) for r in rows),
            None if ref is None else "".join(ref[j] for j in tests),
        )


@dataclass(frozen=True, slots=True)
class RerankItem:
    """What a reranker may look at for one problem.

    Attributes:
        problem_id: The problem.
        prompt: The problem statement shown to the policy.
        candidates: The sampled candidates, in sampling order.
        matrix: Pass matrix against generated tests (unit-test rerankers), or None.
        rm_scores: Scores from an execution-free reward model, one per candidate, or None.
        gold: Ground-truth correctness per candidate. Only the ``oracle`` bound may read it.
        fields: Per candidate, the benchmark's own fields for a reward model's prompt template
            beyond ``problem`` and ``candidate`` (SWE-bench: ``repo``, ``trajectory``), or None.
    """

    problem_id: str
    prompt: str
    candidates: tuple[Candidate, ...]
    matrix: PassMatrix | None = None
    rm_scores: tuple[float, ...] | None = None
    gold: tuple[bool, ...] | None = field(default=None, repr=False)
    fields: tuple[Mapping[str, str], ...] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Ranking:
    """A reranker's answer for one problem.

    Attributes:
        scores: One score per candidate (higher is better; NaN = no opinion).
        chosen: Positions tied for the pick (non-empty when there are candidates).
    """

    scores: tuple[float, ...]
    chosen: tuple[int, ...]

    @property
    def pick(self) -> int:
        """The single candidate written out: the lowest position among the tied ones."""
        return min(self.chosen)

    def expected_accuracy(self, gold: Sequence[bool]) -> float:
        """Probability that a uniform pick among the tied candidates is correct."""
        if not self.chosen:
            return 0.0
        return sum(bool(gold[i]) for i in self.chosen) / len(self.chosen)


@runtime_checkable
class Reranker(Protocol):
    """Ranks every candidate of every problem. Never mutates its inputs.

    Attributes:
        name: Registered name (kebab-case).
        needs: What each :class:`RerankItem` must carry: a subset of {"matrix", "rm_scores", "gold"}.
    """

    name: str
    needs: frozenset[str]

    def rank(self, items: Sequence[RerankItem]) -> list[Ranking]: ...


def argmax_ties(scores: Sequence[float], tol: float = 0.0) -> tuple[int, ...]:
    """Positions whose score equals the maximum (NaN ranks last; all-NaN ties everything)."""
    finite = [s for s in scores if not math.isnan(s)]
    if not finite:
        return tuple(range(len(scores)))
    best = max(finite)
    return tuple(i for i, s in enumerate(scores) if not math.isnan(s) and s >= best - tol)
