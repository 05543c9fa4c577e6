"""The LiveCodeBench benchmark adapter (:class:`rerankeval.pipeline.Benchmark`).

One view, ``pass``: the candidate passes every public and private test under LiveCodeBench's
grader (:mod:`rerankeval_livecodebench.grader`). The grader's result list is kept in
``gold.jsonl`` (``lcb_results``), with the problem's difficulty and contest date so pass@1 can be
reported per difficulty and per date window. LiveCodeBench has no canonical solutions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rerankeval.core.types import Candidate, Problem
from rerankeval.errors import InputError
from rerankeval.pipeline.inputs import TestCase, Verdict
from rerankeval_livecodebench.data import LcbDataset
from rerankeval_livecodebench.grader import DEFAULT_TIMEOUT_S, grade, passed
from rerankeval_livecodebench.runtime import ENTRY, IMPORT_STRING, normalized_output, stdio_program

#: The name the stdin tests of the pass matrix compare through (see ``normalized_output``).
NORM = "__rerankeval_lcb_norm__"
_NORM_IMPORT = (
    f"{NORM} = __import__('rerankeval_livecodebench.runtime', fromlist=['normalized_output'])"
    ".normalized_output\n"
)

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
        self.problems = {pid: p.core() for pid, p in self.dataset.problems.items()}

    def groups(self, problem_id: str) -> dict[str, str]:
        """pass@1 is also reported per difficulty and per contest month (LiveCodeBench's windows)."""
        p = self.dataset.problems[problem_id]
        return {"difficulty": p.difficulty, "month": p.contest_date.strftime("%Y-%m")}

    def matrix_program(self, problem_id: str, code: str) -> str:
        """A candidate as the grader runs it, for the pass matrix: LiveCodeBench's imports before a
        functional program; a stdin program wrapped into the function its stdin tests call."""
        if self.dataset.problems[problem_id].is_stdin:
            return stdio_program(code) + _NORM_IMPORT
        return IMPORT_STRING + "\n\n" + code

    def matrix_test(self, problem_id: str, test: TestCase) -> str:
        """A generated test as the pass matrix runs it. A ``stdio`` case (input, expected output)
        becomes an assert on the printed output, compared as the grader compares; an ``assert`` or
        ``unittest`` test of a functional problem runs as written (it calls ``Solution()``)."""
        if test.style != "stdio":
            if self.dataset.problems[problem_id].is_stdin:
                raise InputError(
                    f"test {test.test_id} of {problem_id} is a {test.style} test, but the problem reads "
                    "stdin: give it input/output (stdio) tests"
                )
            return test.source
        case = json.loads(test.source)
        if not self.dataset.problems[problem_id].is_stdin:
            raise InputError(
                f"test {test.test_id} of {problem_id} is a stdin/stdout case, but the problem is "
                f"functional ({self.dataset.problems[problem_id].fn_name}): give it assert or unittest tests"
            )
        expected = normalized_output(case["output"])
        return f"assert {NORM}({ENTRY}({case['input']!r})) == {expected!r}\n"

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
            ok = passed(res) and len(res) == len(p.tests)
            out.append(
                Verdict(
                    c.problem_id,
                    c.index,
                    {"pass": ok},
                    # the grader stops at the first failure: the fraction is known only for a pass
                    {"pass": 1.0 if ok else None},
                    {
                        "lcb_results": list(res),
                        "difficulty": p.difficulty,
                        "contest_date": p.contest_date.date().isoformat(),
                        "platform": p.platform,
                    },
                )
            )
        return out
