"""run_confirming: a CPU-starved job runs again alone after the others, and that run's outcome stands."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest

from rerankeval.core.types import ExecOutcome, ProgramOutcome
from rerankeval.sandbox import run_confirming

STARVED = ProgramOutcome((ExecOutcome("timeout", 1.0, "TimeoutException", cpu_s=0.1),), True)
SPUN = ProgramOutcome((ExecOutcome("timeout", 1.0, "TimeoutException", cpu_s=0.97),), True)
PASSED = ProgramOutcome((ExecOutcome("pass", 0.2),), True)


class Scripted:
    """Each job is a name; a job's n-th run returns the n-th outcome of its script."""

    parallel, name = 1, "scripted"

    def __init__(self, scripts: dict[str, list[ProgramOutcome]]) -> None:
        self.scripts = scripts
        self.calls: list[list[str]] = []

    def run(
        self, jobs: Sequence[Any], assets: Mapping[str, Any], progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, ProgramOutcome]]:
        self.calls.append(list(jobs))
        for i, job in enumerate(jobs):
            if progress is not None:
                progress(1)
            yield i, self.scripts[job].pop(0)


def test_a_starved_job_runs_again_after_the_others_and_its_second_outcome_stands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scripts = {"slow": [STARVED, PASSED], "loops": [SPUN], "ok": [PASSED], "sleeps": [STARVED] * 3}
    ex = Scripted(scripts)
    ticks: list[int] = []
    with caplog.at_level(logging.WARNING):
        got = list(run_confirming(ex, ["slow", "loops", "ok", "sleeps"], {}, ticks.append))  # type: ignore[arg-type]
    assert got == [(1, SPUN), (2, PASSED), (0, PASSED), (3, STARVED)]
    # each alone; one still starved runs once more (two attempts), then its outcome stands
    assert ex.calls == [["slow", "loops", "ok", "sleeps"], ["slow"], ["sleeps"], ["sleeps"]]
    assert len(ticks) == 4  # the first runs only
    assert "2 of 4 runs hit a time limit" in caplog.text
    assert "(1 came out differently, 1 were starved again)" in caplog.text


def test_nothing_runs_again_when_nothing_is_starved_or_when_confirming_is_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ex = Scripted({"loops": [SPUN], "ok": [PASSED]})
    with caplog.at_level(logging.WARNING):
        assert list(run_confirming(ex, ["loops", "ok"], {})) == [(0, SPUN), (1, PASSED)]  # type: ignore[arg-type]
    off = Scripted({"slow": [STARVED, PASSED]})
    assert list(run_confirming(off, ["slow"], {}, confirm=False)) == [(0, STARVED)]  # type: ignore[arg-type]
    assert len(ex.calls) == len(off.calls) == 1 and not caplog.text
