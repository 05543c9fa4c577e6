"""The LiveCodeBench benchmark adapter (:class:`rerankeval.pipeline.Benchmark`).

One view, ``pass``: the candidate passes every public and private test under LiveCodeBench's
grader (:mod:`rerankeval_livecodebench.grader`). The grader's result list is kept in
``gold.jsonl`` (``lcb_results``), with the problem's difficulty and contest date so pass@1 can be
reported per difficulty and per date window. LiveCodeBench has no canonical solutions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rerankeval.core.types import Candidate, Problem
from rerankeval.pipeline.inputs import Verdict
from rerankeval_livecodebench.data import LcbDataset
from rerankeval_livecodebench.grader import DEFAULT_TIMEOUT_S, grade, passed

if TYPE_CHECKING:
    from rerankeval.sandbox.executor import Executor


@dataclass
class LiveCodeBenchBenchmark:
    """LiveCodeBench as a benchmark adapter of the engine.

    Attributes:
        dataset: The loaded problems (:func:`rerankeval_livecodebench.load_dataset`).
        parallel: Sandbox workers (None: the executor's default).
        cache: Reuse cached verdicts.
        executor: The sandbox executor (None: one per call).
        timeout_s: Per-test time limit in whole seconds (LiveCodeBench's default 6).
    """

    dataset: LcbDataset
    parallel: int | None = None
    cache: bool = True
    executor: Executor | None = None
    timeout_s: int = DEFAULT_TIMEOUT_S
    name: str = field(init=False, default="livecodebench")
    hash: str = field(init=False)
    views: dict[str, str] = field(init=False)
    problems: dict[str, Problem] = field(init=False)

    def __post_init__(self) -> None:
        self.hash = self.dataset.hash
        self.views = {"pass": "LiveCodeBench"}
        self.problems = {
            pid: Problem(pid, p.content, p.fn_name or "") for pid, p in self.dataset.problems.items()
        }

    def judge_total(self, candidates: Sequence[Candidate]) -> int:
        return len(candidates)

    def judge(
        self, candidates: Sequence[Candidate], progress: Callable[[int], None] | None = None
    ) -> list[Verdict]:
        results = grade(
            self.dataset.problems,
            [(c.problem_id, c.code) for c in candidates],
            dataset_hash=self.dataset.hash,
            timeout_s=self.timeout_s,
            executor=self.executor,
            parallel=self.parallel,
            cache=self.cache,
            progress=progress,
        )
        out = []
        for c, res in zip(candidates, results, strict=True):
            p = self.dataset.problems[c.problem_id]
            n = len(p.tests)
            ok = passed(res) and len(res) == n
            frac = sum(1 for r in res if r is True) / n if n else 1.0
            out.append(
                Verdict(
                    c.problem_id,
                    c.index,
                    {"pass": ok},
                    # the grader stops at the first failure: the fraction is known only for a pass
                    {"pass": 1.0 if ok else None if frac < 1.0 else frac},
                    {
                        "lcb_results": list(res),
                        "difficulty": p.difficulty,
                        "contest_date": p.contest_date.date().isoformat(),
                        "platform": p.platform,
                    },
                )
            )
        return out
