"""The executor contract: what every caller of the sandbox types against.

An executor runs sandbox jobs (:class:`~rerankeval.sandbox.jobs.CallJob`,
:class:`~rerankeval.sandbox.jobs.TestsJob`) in isolated supervisors and yields each job's
:class:`~rerankeval.core.types.ProgramOutcome` as it completes. :class:`~rerankeval.sandbox.local.
LocalExecutor` runs the supervisors on this machine, :class:`~rerankeval.sandbox.ray_executor.
RayExecutor` on Ray workers; a third implementation needs only this protocol. A fault of the
executor (a supervisor that dies, a worker that is lost) is retried or raised as
:class:`~rerankeval.errors.SandboxFaultError`, never yielded as an outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from typing import Any, Protocol, runtime_checkable

from rerankeval.core.types import ProgramOutcome, cpu_starved
from rerankeval.sandbox.jobs import CallJob, TestsJob

Job = CallJob | TestsJob

log = logging.getLogger(__name__)


@runtime_checkable
class Executor(Protocol):
    """Runs sandbox jobs; a context manager (``close`` on exit).

    Attributes:
        name: ``local``, ``ray``, ... (recorded in runs).
        parallel: Jobs it runs at once.
    """

    name: str
    parallel: int

    def run(
        self, jobs: Sequence[Job], assets: Mapping[str, Any], progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, ProgramOutcome]]:
        """Runs ``jobs`` (in the given order of priority); yields ``(job index, outcome)`` as they finish."""
        ...

    def close(self) -> None:
        """Stops the supervisors (or workers) this executor started."""
        ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


def job_assets(job: Job) -> list[str]:
    """The asset keys a job reads (its inputs and its checker), for executors that ship assets."""
    if isinstance(job, CallJob):
        keys = [job.inputs_key]
        if job.checker is not None:
            keys.append(job.checker.asset_key)
        return keys
    return []


def executor_or_local(
    executor: Executor | None, stack: ExitStack, parallel: int | None = None, preload: Sequence[str] = ()
) -> Executor:
    """``executor``, or a :class:`~rerankeval.sandbox.local.LocalExecutor` closed with ``stack``.

    The one place where "no executor given" becomes a local one.
    """
    if executor is not None:
        return executor
    from rerankeval.sandbox.local import LocalExecutor

    return stack.enter_context(LocalExecutor(parallel, preload=preload))


def run_confirming(
    executor: Executor,
    jobs: Sequence[Job],
    assets: Mapping[str, Any],
    progress: Callable[[int], None] | None = None,
    *,
    confirm: bool = True,
    what: str = "runs",
    attempts: int = 2,
) -> Iterator[tuple[int, ProgramOutcome]]:
    """``executor.run``, but a job whose outcome is CPU-starved runs again, alone, after the others.

    Time limits are wall-clock: on a busy machine a program can hit one while it got little of the
    CPU (:func:`~rerankeval.core.types.cpu_starved`), and the limit then measures the load, not the
    program. Such an outcome is held back; once every other job is done, the job runs again with
    nothing else of this executor running beside it (up to ``attempts`` times, while it is still
    starved), and the last outcome is yielded in its place, whatever it is: a program that sleeps is
    starved every time and times out every time. One warning says how many jobs ran again, how many
    came out differently, and how many were still starved (the machine stayed busy). ``progress``
    counts the first runs only. With ``confirm=False``: ``executor.run``.
    """
    held: dict[int, ProgramOutcome] = {}
    for i, outcome in executor.run(jobs, assets, progress):
        if confirm and cpu_starved(outcome):
            held[i] = outcome
        else:
            yield i, outcome
    if not held:
        return
    changed = still = 0
    for i, first in held.items():
        outcome = first
        for _attempt in range(max(1, attempts)):
            # one job at a time: the other workers' load is what starved it
            [(_, outcome)] = executor.run([jobs[i]], assets, None)
            if not cpu_starved(outcome):
                break
        still += cpu_starved(outcome)
        changed += [u.status for u in outcome.units] != [u.status for u in first.units] or (
            outcome.completed != first.completed
        )
        yield i, outcome
    log.warning(
        "%d of %d %s hit a time limit while the program got less than half of it on the CPU (the "
        "machine was busy): each ran again alone after the others and is judged on that run (%d came "
        "out differently, %d were starved again). Run on an idle machine for results that do not "
        "depend on load.",
        len(held),
        len(jobs),
        what,
        changed,
        still,
    )
