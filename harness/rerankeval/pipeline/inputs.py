"""A run's inputs: the generated tests artifact (engine) and the benchmark host's contract.

The samples file and the benchmark's ground truth belong to the host plugin (EvalPlus); the CLI
passes them in through :class:`Benchmark`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rerankeval.core.types import Candidate, Problem
from rerankeval.errors import InputError
from rerankeval.unittests import artifact


@dataclass(frozen=True, slots=True)
class GoldRow:
    """Ground truth of one candidate, from the benchmark's own harness.

    Attributes:
        problem_id: The problem.
        index: The candidate's index.
        base_status: Verdict on the original tests (HumanEval / MBPP).
        plus_status: Verdict on the extended tests (HumanEval+ / MBPP+), None if not run.
        passed: Correct on base and plus.
        base_passed: Correct on base.
        base_fail_at: Position in the benchmark's base inputs of the first input the candidate
            failed (or timed out) on; None when it passed or the host does not say.
        plus_fail_at: The same among the plus inputs.
        base_frac: Fraction of the base inputs passed, when the harness ran them all (EvalPlus
            ``--test-details``); None when it stopped at the first failure.
        plus_frac: The same over the base and plus inputs together.
    """

    problem_id: str
    index: int
    base_status: str
    plus_status: str | None
    passed: bool
    base_passed: bool
    base_fail_at: int | None = None
    plus_fail_at: int | None = None
    base_frac: float | None = None
    plus_frac: float | None = None


class Benchmark(Protocol):
    """What a rerank run needs from a benchmark host (implemented by the CLI over EvalPlus).

    Attributes:
        name: Dataset name (``humaneval``).
        hash: Content hash of the dataset file.
        problems: problem_id -> Problem (``reference`` = the canonical solution as a full program).
        views: Names of the two ground-truth views, e.g. ``{"plus": "HumanEval+", "base": "HumanEval"}``.
    """

    @property
    def name(self) -> str: ...

    @property
    def hash(self) -> str: ...

    @property
    def problems(self) -> Mapping[str, Problem]: ...

    @property
    def views(self) -> Mapping[str, str]: ...

    def judge(
        self, candidates: Sequence[Candidate], progress: Callable[[int], None] | None = None
    ) -> list[GoldRow]: ...

    def judge_total(self, candidates: Sequence[Candidate]) -> int: ...


@dataclass(frozen=True, slots=True)
class TestCase:
    """One generated test: a column of the pass matrix."""

    __test__ = False  # not a pytest class

    problem_id: str
    test_id: str
    source: str


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_tests(
    path: Path,
    generator: str | None = None,
    dedupe: bool = False,
    known: Collection[str] | None = None,
    dataset: str = "the dataset",
) -> dict[str, list[TestCase]]:
    """Reads a tests artifact (see :mod:`rerankeval.unittests.artifact`) into matrix columns per problem.

    A test that several generations produced (``count`` > 1) becomes ``count`` columns, so every
    generated test counts as in the released CodeT and CodeRM code; execution still runs it once.

    Args:
        path: The ``tests.jsonl`` file.
        generator: Keep this generator's tests (needed when the file holds several).
        dedupe: One column per distinct test instead.
        known: The benchmark's problem ids. Tests of another dataset (ids with another prefix,
            e.g. ``Mbpp/2`` next to ``HumanEval/0``: one artifact may serve several datasets) are
            skipped; an unknown id of this dataset (``HumanEval/777``) is an error. None: no check.
        dataset: The benchmark's name, for that error.

    Raises:
        InputError: Missing or malformed file, several generators and none chosen, or a test
            for a problem outside ``known`` (naming the first such line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError.at(
            path,
            None,
            "tests file not found",
            "Pass a tests.jsonl (from `rerankeval tests generate` or `rerankeval tests import`)",
        )
    out: dict[str, list[TestCase]] = {}
    for row in artifact.read_tests(path, generator):
        cols = out.setdefault(row.task_id, [])
        n = 1 if dedupe else row.count
        cols.extend(
            TestCase(row.task_id, row.test_id if k == 0 else f"{row.test_id}/{k + 1}", row.test)
            for k in range(n)
        )
    if not out:
        raise InputError.at(path, None, "the tests file holds no tests", "Generate or import tests first")
    if known is not None:
        prefixes = {_prefix(k) for k in known}
        if any(t not in known and _prefix(t) in prefixes for t in out):
            _unknown_task(path, generator, known, prefixes, dataset)
        other = sorted(out)
        out = {t: cols for t, cols in out.items() if t in known}
        if not out:
            raise InputError.at(
                path,
                None,
                f"no test for {dataset}'s problems (the file's tasks are e.g. {other[0]})",
                f"Use a tests file written for {dataset}",
            )
    return out


def _prefix(task_id: str) -> str:
    return task_id.partition("/")[0]


def _unknown_task(
    path: Path, generator: str | None, known: Collection[str], prefixes: set[str], dataset: str
) -> None:
    """Raises the error for the first line whose task id looks like the dataset's but is not one of it."""
    for line, row in artifact.iter_tests(path):
        mine = generator is None or row.generator == generator
        if mine and row.task_id not in known and _prefix(row.task_id) in prefixes:
            raise InputError.at(
                path,
                line,
                f"test for task '{row.task_id}', which {dataset} does not have",
                f"Use a tests file written for {dataset}'s problems",
            )
