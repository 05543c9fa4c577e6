"""The pass matrix: every candidate of a problem against every generated test of that problem.

One sandbox job (:class:`~rerankeval.sandbox.TestsJob`) runs one distinct candidate program
against all the distinct tests of its problem, each test with its own time limit; identical
candidates (same code) and identical tests (same source) run once and are expanded back into
rows and columns. Results are cached on disk (:class:`rerankeval.cache.ResultCache`,
namespace ``passmatrix``, keyed by sha256 of the candidate's code, the tests' sources and the
limits), so a second run, another reranker or a subsampled scaling curve never re-executes
anything; and rows are handed to ``on_row`` as jobs finish, so a run can append
them to ``matrix.jsonl`` and resume after an interruption.

Any :class:`~rerankeval.sandbox.executor.Executor` works (a Ray executor,
say): it must yield ``(job_index, ProgramOutcome)`` pairs as jobs complete, and raise (e.g.
:class:`~rerankeval.errors.SandboxFaultError`) rather than yield an outcome when the sandbox itself
failed: rows finished before that stay written and cached, the failed ones are neither. A job
whose test hit its time limit while the machine kept the program off the CPU runs again alone after
the others (``MatrixOptions.confirm_starved``): a wall-clock limit on a busy machine measures the load.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rerankeval.cache import ResultCache
from rerankeval.core.rerank import CELL, PassMatrix
from rerankeval.core.types import Candidate, ProgramOutcome, content_hash
from rerankeval.sandbox.executor import Executor, run_confirming
from rerankeval.sandbox.jobs import Limits, TestsJob

log = logging.getLogger(__name__)

#: Default per-test time limit in seconds. CodeT used 0.1 s; see ``DEFAULT_TIME_LIMIT_NOTE``.
DEFAULT_TIME_LIMIT_S = 0.25
DEFAULT_TIME_LIMIT_NOTE = (
    "0.25 s per test. On CodeT's HumanEval data (20 tasks, 123k executions) every passing execution took "
    "under 0.04 s of wall time even on a machine with a load average of 11 (median 6 us), so 0.25 s leaves a "
    "6x margin for a wall-clock timer on a loaded machine; CodeT used 0.1 s (--time-limit 0.1 reproduces "
    "it). "
    "Hung candidates dominate the cost (each costs the limit per test), which grows linearly with the limit."
)
#: v2: a program's annotations are evaluated, as in plain Python; v3: running out of memory is reported;
#: v4: a fault of the sandbox is never a cell (earlier versions could cache it as a row of `e`), a
#: child killed by a stray signal runs again, the sandbox shows programs no host files, and a test's
#: comparisons with a literal are decided by the supervisor (see rerankeval.sandbox._outside).
CACHE_VERSION = "passmatrix-v4"


@dataclass(frozen=True, slots=True)
class MatrixTask:
    """One problem's candidates and generated tests.

    Attributes:
        problem_id: The problem.
        candidates: Its candidates (full programs), in sampling order.
        test_ids: One id per column.
        tests: One test source per column (sources may repeat; they run once).
        reference: The canonical solution (a full program) to run against the same tests, or
            None; its row is :attr:`PassMatrix.reference`, never one of the candidates' rows.
    """

    problem_id: str
    candidates: tuple[Candidate, ...]
    test_ids: tuple[str, ...]
    tests: tuple[str, ...]
    reference: str | None = None

    def __post_init__(self) -> None:
        if len(self.test_ids) != len(self.tests):
            raise ValueError(f"{self.problem_id}: {len(self.test_ids)} test ids for {len(self.tests)} tests")


@dataclass(frozen=True, slots=True)
class MatrixOptions:
    """How tests are executed.

    Attributes:
        time_limit_s: Per-test time limit (wall clock).
        limits: rlimits of each child.
        grace_s: Extra wall time before a test that ignores its time limit is killed.
        tests_per_job: Largest number of tests one sandbox job runs. A candidate with more tests
            is split into several jobs, so one that hangs on every test (each costing a full time
            limit) holds a worker for at most this many limits. Every extra job costs a fork and a
            reload of the program: on CodeT's HumanEval data (20 tasks, 8-299 tests per task) 32
            per job made the matrix 1.8x slower than one job per candidate, 128 per job 1.16x.
        confirm_starved: Run a job again, alone after the others, when one of its tests hit the time
            limit while the program got less than half of it on the CPU (a busy machine, not a slow
            program: :func:`~rerankeval.core.types.cpu_starved`); its cells come from that run.
    """

    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    limits: Limits = field(default_factory=Limits)
    grace_s: float = 1.0
    tests_per_job: int = 256
    confirm_starved: bool = True


def cache_key(code: str, tests: Sequence[str], options: MatrixOptions) -> str:
    """sha256 of the candidate code, the distinct tests' sources in order, and the limits."""
    return content_hash(
        CACHE_VERSION, code, repr(options.time_limit_s), repr(options.limits), repr(options.grace_s), *tests
    )


def outcome_cells(outcome: ProgramOutcome, n: int) -> str:
    """One CELL char per test; tests without a unit (a job that died) count as errors."""
    cells = [CELL[u.status] for u in outcome.units[:n]]
    return "".join(cells) + "e" * (n - len(cells))


@dataclass(slots=True)
class _Job:
    problem_id: str
    code: str
    indexes: list[int]
    key: str
    unique_tests: tuple[str, ...]


def _unique(tests: Sequence[str]) -> tuple[tuple[str, ...], list[int]]:
    """Distinct sources in first-seen order and, per column, its position among them."""
    pos: dict[str, int] = {}
    cols = [pos.setdefault(t, len(pos)) for t in tests]
    return tuple(pos), cols


RowCallback = Callable[[str, int, str, str], None]

#: The index the canonical solution's row carries in ``done`` and ``on_row`` (and in the run
#: directory's ``canonical.jsonl``); no candidate has a negative index.
REFERENCE_INDEX = -1


def _programs(task: MatrixTask) -> tuple[Candidate, ...]:
    """The task's candidates, then its reference solution (if any) under :data:`REFERENCE_INDEX`."""
    if task.reference is None:
        return task.candidates
    return (*task.candidates, Candidate(task.problem_id, REFERENCE_INDEX, task.reference))


def _plan(
    tasks: Sequence[MatrixTask], done: Mapping[tuple[str, int], str], options: MatrixOptions
) -> tuple[list[_Job], dict[str, list[int]]]:
    """One job per (task, distinct program) still to do, and each task's column -> distinct-test map."""
    col_maps: dict[str, list[int]] = {}
    jobs: list[_Job] = []
    for task in tasks:
        unique_tests, cols = _unique(task.tests)
        col_maps[task.problem_id] = cols
        by_code: dict[str, _Job] = {}
        for c in _programs(task):
            if (task.problem_id, c.index) in done:
                continue
            job = by_code.get(c.code)
            if job is None:
                key = cache_key(c.code, unique_tests, options)
                job = by_code[c.code] = _Job(task.problem_id, c.code, [], key, unique_tests)
                jobs.append(job)
            job.indexes.append(c.index)
    return jobs, col_maps


def build_matrices(
    tasks: Sequence[MatrixTask],
    executor: Executor,
    *,
    options: MatrixOptions | None = None,
    cache: ResultCache | None = None,
    done: Mapping[tuple[str, int], str] | None = None,
    on_row: RowCallback | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, PassMatrix]:
    """Builds one pass matrix per task.

    Args:
        tasks: The problems.
        executor: Runs the sandbox jobs (see :class:`Executor`).
        options: Time limit and rlimits.
        cache: Result cache (None: no caching).
        done: Rows already known, keyed by (problem_id, candidate index) (``--resume``; the
            reference solution's under :data:`REFERENCE_INDEX`); they are not run again.
        on_row: Called as ``on_row(problem_id, index, sha, cells)`` for every newly computed row
            (cache hits included; the reference's with :data:`REFERENCE_INDEX`), in completion order.
        progress: Called with the number of programs finished (candidates and references), as
            they finish.

    Returns:
        problem_id -> PassMatrix (rows in candidate order; ``reference`` set for the tasks that
        have one).
    """
    options = options or MatrixOptions()
    done = done or {}
    rows: dict[tuple[str, int], str] = dict(done)
    jobs, col_maps = _plan(tasks, done, options)

    def emit(job: _Job, unique_cells: str) -> None:
        cells = "".join(unique_cells[j] for j in col_maps[job.problem_id])
        sha = content_hash(job.code)
        for i in job.indexes:
            rows[(job.problem_id, i)] = cells
            if on_row is not None:
                on_row(job.problem_id, i, sha, cells)
        if progress is not None:
            progress(len(job.indexes))

    hits = cache.get_many(j.key for j in jobs) if cache is not None else {}
    to_run: list[_Job] = []
    for job in jobs:
        hit = hits.get(job.key)
        if _valid_row(hit, len(job.unique_tests)):
            assert isinstance(hit, dict)
            emit(job, hit["cells"])
        else:
            to_run.append(job)
    log.info(
        "pass matrix: %d distinct candidate programs, %d cached, %d to run (time limit %.2fs per test)",
        len(jobs),
        len(jobs) - len(to_run),
        len(to_run),
        options.time_limit_s,
    )
    _run_jobs(to_run, executor, options, cache, emit)
    return _assemble(tasks, rows)


_CELLS = frozenset(CELL.values())


def _valid_row(hit: Any, n: int) -> bool:
    """A cached row as :func:`_run_jobs` writes it: one known cell per distinct test."""
    cells = hit.get("cells") if isinstance(hit, dict) else None
    return isinstance(cells, str) and len(cells) == n and set(cells) <= _CELLS


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    """Splits range(n) into near-equal consecutive chunks of at most ``size``."""
    k = max(1, -(-n // max(1, size)))
    bounds = [round(i * n / k) for i in range(k + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(k) if bounds[i + 1] > bounds[i]] or [(0, 0)]


def _run_jobs(
    to_run: list[_Job],
    executor: Executor,
    options: MatrixOptions,
    cache: ResultCache | None,
    emit: Callable[[_Job, str], None],
) -> None:
    # Each candidate's tests are cut into chunks; the sandbox jobs run longest first (LPT): a
    # chunk's worst case is its number of tests times the time limit, so big chunks start first
    # and the tail of the run is at most one small chunk.
    parts: list[tuple[int, int, int]] = [
        (j, a, b)
        for j, job in enumerate(to_run)
        for a, b in _chunks(len(job.unique_tests), options.tests_per_job)
    ]
    parts.sort(key=lambda p: p[2] - p[1], reverse=True)
    sandbox_jobs = [
        TestsJob(
            code=to_run[j].code,
            tests=to_run[j].unique_tests[a:b],
            time_limit_s=options.time_limit_s,
            limits=options.limits,
            grace_s=options.grace_s,
        )
        for j, a, b in parts
    ]
    left = [0] * len(to_run)
    for j, _, _ in parts:
        left[j] += 1
    cells = [["e"] * len(job.unique_tests) for job in to_run]
    complete = [True] * len(to_run)
    duration = [0.0] * len(to_run)
    pending: dict[str, Any] = {}
    last_flush = time.monotonic()

    def take(i: int, outcome: ProgramOutcome) -> None:
        nonlocal pending, last_flush
        j, a, b = parts[i]
        cells[j][a:b] = outcome_cells(outcome, b - a)
        complete[j] = complete[j] and outcome.completed
        duration[j] += outcome.duration_s
        left[j] -= 1
        if left[j]:
            return
        row = "".join(cells[j])
        if complete[j]:
            pending[to_run[j].key] = {"cells": row, "duration_s": round(duration[j], 4)}
        emit(to_run[j], row)
        if cache is not None and (len(pending) >= 200 or time.monotonic() - last_flush > 5.0):
            cache.put_many(pending)
            pending, last_flush = {}, time.monotonic()

    try:
        runs = run_confirming(executor, sandbox_jobs, {}, None, confirm=options.confirm_starved, what="jobs")
        for i, outcome in runs:
            take(i, outcome)
    finally:
        if cache is not None:
            cache.put_many(pending)


def _assemble(tasks: Sequence[MatrixTask], rows: Mapping[tuple[str, int], str]) -> dict[str, PassMatrix]:
    out = {}
    for task in tasks:
        missing = [c.index for c in _programs(task) if (task.problem_id, c.index) not in rows]
        if missing:
            raise RuntimeError(f"{task.problem_id}: no pass-matrix row for candidates {missing[:5]}")
        out[task.problem_id] = PassMatrix(
            task.problem_id,
            task.test_ids,
            tuple(rows[(task.problem_id, c.index)] for c in task.candidates),
            None if task.reference is None else rows[(task.problem_id, REFERENCE_INDEX)],
        )
    return out
