"""The value types' own rules."""

from __future__ import annotations

from rerankeval.core.types import ExecOutcome, ProgramOutcome, cpu_starved


def _run(*units: ExecOutcome) -> ProgramOutcome:
    return ProgramOutcome(units, True)


def test_a_time_limit_hit_with_little_cpu_is_starvation() -> None:
    assert cpu_starved(_run(ExecOutcome("pass", 0.1), ExecOutcome("timeout", 1.0, "TimeoutException", 0.2)))
    assert cpu_starved(_run(ExecOutcome("timeout", 1.0, cpu_s=0.49)))


def test_a_time_limit_spent_computing_is_not() -> None:
    assert not cpu_starved(_run(ExecOutcome("timeout", 1.0, cpu_s=0.98)))
    assert not cpu_starved(_run(ExecOutcome("timeout", 1.0, cpu_s=0.5)))


def test_nothing_else_is_starvation() -> None:
    assert not cpu_starved(_run(ExecOutcome("fail", 1.0, cpu_s=0.0)))  # only a time limit
    assert not cpu_starved(_run(ExecOutcome("timeout", 1.0)))  # not measured (the whole run was killed)
    assert not cpu_starved(_run())
    assert cpu_starved(_run(ExecOutcome("timeout", 1.0, cpu_s=0.7)), share=0.8)


def test_the_cpu_time_is_not_part_of_an_outcomes_identity() -> None:
    assert ExecOutcome("timeout", 1.0, "x", 0.1) == ExecOutcome("timeout", 1.0, "x", 0.9)
