"""The EvalPlus benchmark adapter: HumanEval+ / MBPP+ problems and their ground truth for the engine.

Implements :class:`rerankeval.pipeline.Benchmark`. Two views: ``plus`` (correct on the base and
the extended inputs: what HumanEval+ / MBPP+ report) and ``base`` (the original inputs only),
judged by :func:`rerankeval_evalplus.judge` (verdicts identical to ``evalplus.evaluate``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rerankeval.core.types import Candidate, Problem
from rerankeval.pipeline.inputs import Verdict
from rerankeval_evalplus.dataset import EvalPlusDataset
from rerankeval_evalplus.judge import JudgeConfig, count_runs, first_failing_input, judge
from rerankeval_evalplus.judge import Verdict as JudgeVerdict
from rerankeval_evalplus.samples import Sample

if TYPE_CHECKING:
    from rerankeval.sandbox.executor import Executor

#: view key -> display name per dataset; ``plus`` is the primary view.
VIEWS = {
    "humaneval": {"plus": "HumanEval+", "base": "HumanEval (base tests)"},
    "mbpp": {"plus": "MBPP+", "base": "MBPP (base tests)"},
}


@dataclass
class EvalPlusBenchmark:
    """HumanEval+ or MBPP+ as a benchmark adapter of the engine.

    Attributes:
        dataset: The loaded dataset (:func:`rerankeval_evalplus.load_dataset`).
        parallel: Sandbox workers of the judge (None: the executor's default).
        cache: Reuse cached verdicts of programs judged before.
        executor: The sandbox executor to judge in (None: a LocalExecutor per call).
        test_details: Run every input (EvalPlus ``--test-details``) so each candidate's fraction
            of inputs passed is known; otherwise the judge stops at the first failure.
    """

    dataset: EvalPlusDataset
    parallel: int | None
    cache: bool
    executor: Executor | None = None
    test_details: bool = False
    name: str = field(init=False)
    hash: str = field(init=False)
    views: dict[str, str] = field(init=False)
    problems: dict[str, Problem] = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.dataset.name
        self.hash = self.dataset.hash
        self.views = VIEWS[self.name]
        self.problems = {
            pid: Problem(pid, p["prompt"], p["entry_point"], p["prompt"] + p["canonical_solution"])
            for pid, p in self.dataset.problems.items()
        }

    @staticmethod
    def _samples(candidates: Sequence[Candidate]) -> list[Sample]:
        return [Sample(c.problem_id, c.index, c.code) for c in candidates]

    def judge_total(self, candidates: Sequence[Candidate]) -> int:
        return int(count_runs(self._samples(candidates)))

    def judge(
        self, candidates: Sequence[Candidate], progress: Callable[[int], None] | None = None
    ) -> list[Verdict]:
        verdicts = judge(
            self.dataset,
            self._samples(candidates),
            parallel=self.parallel,
            cache=self.cache,
            config=JudgeConfig(fast_check=not self.test_details),
            progress=progress,
            executor=self.executor,
        )
        return [self._verdict(v) for v in verdicts]

    def _verdict(self, v: JudgeVerdict) -> Verdict:
        problem = self.dataset.problems[v.task_id]
        quirk = problem["entry_point"] == "find_zero"  # EvalPlus's quirk rewrites its details
        nb, npl = len(problem["base_input"]), len(problem["plus_input"])
        base_fail = None if quirk else first_failing_input(v.base_status, v.base_details, nb)
        plus_fail = None if quirk else first_failing_input(v.plus_status, v.plus_details, npl)
        base = plus = None
        if not quirk:
            base = self._inputs_passed(v.base_status, v.base_details, nb)
            if base is not None and v.plus_status is not None:
                plus = self._inputs_passed(v.plus_status, v.plus_details, npl)
        base_frac = None if base is None else base / nb if nb else 1.0
        both = None if base is None or plus is None else (base + plus) / (nb + npl) if nb + npl else 1.0
        return Verdict(
            v.task_id,
            v.index,
            {"plus": bool(v.passed), "base": bool(v.base_passed)},
            {"plus": both, "base": base_frac},
            {
                "base_status": v.base_status,
                "plus_status": v.plus_status,
                "base_fail_at": base_fail,
                "plus_fail_at": plus_fail,
            },
        )

    def _inputs_passed(self, status: str | None, details: Sequence[bool], n: int) -> float | None:
        """Inputs passed, when known: all of them for a pass; with --test-details every input ran
        unless the run died (a timeout or a crash), and the inputs it did not reach did not pass;
        stopping at the first failure leaves the rest unknown."""
        if status == "pass":
            return float(n)
        if self.test_details or len(details) == n:
            return float(sum(details))
        return None
