"""Value types shared by the benchmarks, the sandbox, the rerankers and the host plugins."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

#: Outcome of one execution unit (one input, one test, one program).
#: ``error`` = raised or crashed; ``oom`` = MemoryError or the memory limit; ``timeout`` = a time limit.
Status = Literal["pass", "fail", "error", "timeout", "oom"]


def content_hash(*parts: str) -> str:
    """Stable sha256 hex digest of the given strings (used to dedupe candidates and key caches)."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Problem:
    """One benchmark problem.

    Attributes:
        problem_id: The benchmark's id, e.g. ``HumanEval/0`` or ``Mbpp/2``.
        prompt: What the policy model sees (for HumanEval: the function signature and docstring).
        entry_point: Name of the function under test ("" when not a function, e.g. SWE-bench).
        reference: A reference solution when the benchmark has one (canonical solution), else "".
        stub: The code interface to show a test writer when the prompt is a statement, not code
            (LiveCodeBench's starter code, e.g. ``class Solution:`` with the method's signature);
            "" when the prompt itself holds the signature (HumanEval) or there is none.
    """

    problem_id: str
    prompt: str
    entry_point: str = ""
    reference: str = ""
    stub: str = ""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One sampled program (or patch) for a problem.

    Attributes:
        problem_id: The problem it answers.
        index: Position in the original sampling order; breaks ties.
        code: A full program (or a patch for SWE-bench).
    """

    problem_id: str
    index: int
    code: str

    @property
    def sha(self) -> str:
        return content_hash(self.code)


@dataclass(frozen=True, slots=True)
class ExecOutcome:
    """Typed outcome of one execution unit.

    Attributes:
        status: What happened (see :data:`Status`).
        duration_s: Wall time of the unit.
        detail: Short reason (exception type, signal, limit hit), empty on pass.
        cpu_s: CPU time the program got during the unit, where the sandbox measured it (a unit that
            hit its time limit): far below ``duration_s``, the machine was busy, not the program
            slow (see :func:`cpu_starved`).
    """

    status: Status
    duration_s: float = 0.0
    detail: str = ""
    cpu_s: float | None = field(default=None, compare=False)

    @property
    def passed(self) -> bool:
        return self.status == "pass"


@dataclass(frozen=True, slots=True)
class ProgramOutcome:
    """Outcome of one sandboxed program run over several units (inputs or tests).

    Attributes:
        units: One outcome per unit that ran, in order; units that never ran are absent.
        completed: True when the program reported the end of its work (it did not die or hang).
        returncode: The child's exit code, or minus the signal that ended it.
        stdout_tail: Last bytes of what the program printed (truncated).
        stderr_tail: Last bytes of its error output (truncated).
        duration_s: Wall time of the whole run.
    """

    units: tuple[ExecOutcome, ...]
    completed: bool
    returncode: int | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    duration_s: float = 0.0
    killed_reason: str = ""
    extra: dict[str, object] = field(default_factory=dict, compare=False)


#: Below this share of its wall time on the CPU, a unit that hit its time limit was starved.
STARVED_CPU_SHARE = 0.5


def cpu_starved(outcome: ProgramOutcome, share: float = STARVED_CPU_SHARE) -> bool:
    """True when a unit of ``outcome`` hit its time limit while the program got less than ``share``
    of that time on the CPU: other work held the cores, so the limit measured the machine's load,
    not the program. A program that loops or computes uses the CPU all its time (close to 1.0 on an
    idle core); one that sleeps or blocks uses almost none, and times out again when run again.
    """
    return any(
        u.status == "timeout" and u.cpu_s is not None and u.cpu_s < share * u.duration_s
        for u in outcome.units
    )
