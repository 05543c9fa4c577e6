"""The pass-matrix builder on the real local sandbox: dedupe, cache, resume, chunking, timeouts."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from rerankeval.cache import ResultCache
from rerankeval.core.types import Candidate, ExecOutcome, ProgramOutcome, cpu_starved
from rerankeval.sandbox import LocalExecutor
from rerankeval.unittests.matrix import MatrixOptions, MatrixTask, build_matrices

GOOD = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"
HANG = "def add(a, b):\n    while True:\n        pass\n"
BROKEN = "def add(a, b)\n    return a + b\n"
TESTS = (
    "assert add(1, 2) == 3",
    "assert add(2, 2) == 4",
    "assert add(0, 0) == 0",
    "assert add(1, 2) == 3",
    "raise ValueError('bad test')",
)
#: job counts are asserted below: a loaded machine must not add confirmation runs of HANG's timeouts
OPTIONS = MatrixOptions(time_limit_s=0.05, grace_s=0.5, confirm_starved=False)


class CountingExecutor:
    """Any object with LocalExecutor's ``run(jobs, assets, progress)`` works; this one counts the work."""

    def __init__(self, inner: LocalExecutor, stop_after: int | None = None) -> None:
        self.inner, self.stop_after = inner, stop_after
        self.jobs: list[Any] = []

    def run(
        self, jobs: Sequence[Any], assets: Mapping[str, Any], progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, ProgramOutcome]]:
        self.jobs.extend(jobs)
        for n, res in enumerate(self.inner.run(jobs, assets, progress)):
            if self.stop_after is not None and n >= self.stop_after:
                raise KeyboardInterrupt
            yield res


@pytest.fixture(scope="module")
def executor() -> Iterator[LocalExecutor]:
    with LocalExecutor(parallel=2) as ex:
        yield ex


def _tasks() -> list[MatrixTask]:
    codes = [GOOD, WRONG, GOOD, HANG, BROKEN]
    a = MatrixTask(
        "A", tuple(Candidate("A", i, c) for i, c in enumerate(codes)), tuple(f"a{j}" for j in range(5)), TESTS
    )
    b = MatrixTask(
        "B", (Candidate("B", 0, WRONG), Candidate("B", 1, GOOD)), ("b0",), ("assert add(5, 5) == 10",)
    )
    return [a, b]


EXPECTED_A = ("ppppe", "ffpfe", "ppppe", "tttte", "eeeee")  # last test raises: error for every program


def test_matrix_runs_each_distinct_program_once_and_expands_duplicates(executor: LocalExecutor) -> None:
    counting = CountingExecutor(executor)
    rows: list[tuple[str, int, str, str]] = []
    m = build_matrices(_tasks(), counting, options=OPTIONS, on_row=lambda *r: rows.append(r))
    assert m["A"].rows == EXPECTED_A
    assert m["B"].rows == ("f", "p")
    assert m["A"].test_ids == ("a0", "a1", "a2", "a3", "a4")
    # A: 4 distinct programs x 4 distinct tests; B: 2 programs x 1 test
    assert sorted(len(j.tests) for j in counting.jobs) == [1, 1, 4, 4, 4, 4]
    assert sorted((p, i) for p, i, _, _ in rows) == [("A", i) for i in range(5)] + [("B", 0), ("B", 1)]
    assert {r[2] for r in rows if r[0] == "A" and r[1] in (0, 2)} == {Candidate("A", 0, GOOD).sha}


def test_cached_rows_are_not_executed_again(executor: LocalExecutor, tmp_path: Path) -> None:
    cache = ResultCache("passmatrix", path=tmp_path / "c.sqlite")
    first = build_matrices(_tasks(), executor, options=OPTIONS, cache=cache)
    counting = CountingExecutor(executor)
    again = build_matrices(_tasks(), counting, options=OPTIONS, cache=cache)
    assert counting.jobs == [] and again == first
    other = build_matrices(
        _tasks()[1:], CountingExecutor(executor), options=MatrixOptions(time_limit_s=0.07), cache=cache
    )
    assert other["B"].rows == ("f", "p")  # another time limit is another key
    cache.close()


def test_resume_skips_rows_already_done(executor: LocalExecutor) -> None:
    done = {("A", 0): EXPECTED_A[0], ("A", 1): EXPECTED_A[1], ("A", 3): EXPECTED_A[3], ("B", 0): "f"}
    counting = CountingExecutor(executor)
    new: list[tuple[str, int]] = []
    m = build_matrices(
        _tasks(), counting, options=OPTIONS, done=done, on_row=lambda p, i, s, c: new.append((p, i))
    )
    assert sorted(new) == [("A", 2), ("A", 4), ("B", 1)]
    assert sorted(j.code for j in counting.jobs) == sorted([GOOD, BROKEN, GOOD])
    assert m["A"].rows == EXPECTED_A


def test_long_test_lists_are_split_into_chunks_and_reassembled(executor: LocalExecutor) -> None:
    tests = tuple(f"assert add({k}, 1) == {k + 1}" for k in range(7)) + ("assert add(0, 1) == 2",)
    task = MatrixTask(
        "C", (Candidate("C", 0, GOOD), Candidate("C", 1, HANG)), tuple(map(str, range(8))), tests
    )
    counting = CountingExecutor(executor)
    m = build_matrices(
        [task],
        counting,
        options=MatrixOptions(time_limit_s=0.05, grace_s=0.5, tests_per_job=3, confirm_starved=False),
    )
    assert m["C"].rows == ("p" * 7 + "f", "t" * 8)
    assert sorted(len(j.tests) for j in counting.jobs) == [2, 2, 3, 3, 3, 3]


def test_an_interrupted_build_keeps_the_rows_it_finished() -> None:
    # its own pool and only quick programs: no job is still running when the pool closes
    tasks = [
        MatrixTask(
            "A",
            tuple(Candidate("A", i, c) for i, c in enumerate([GOOD, WRONG, BROKEN])),
            ("a0",),
            (TESTS[0],),
        ),
        MatrixTask("B", (Candidate("B", 0, WRONG), Candidate("B", 1, GOOD)), ("b0",), (TESTS[0],)),
    ]
    rows: list[tuple[str, int]] = []
    with LocalExecutor(parallel=1) as ex:
        with pytest.raises(KeyboardInterrupt):
            build_matrices(
                tasks,
                CountingExecutor(ex, stop_after=2),
                options=OPTIONS,
                on_row=lambda p, i, s, c: rows.append((p, i)),
            )
    assert len(rows) == 2


def test_annotations_are_evaluated_as_in_plain_python(executor: LocalExecutor) -> None:
    # The sandbox's own modules use `from __future__ import annotations`; a program must not inherit
    # it: `List` without a typing import raises NameError where the annotation is evaluated (at load
    # for module-level code, at call time for a nested def), as under EvalPlus and plain Python.
    codes = [
        "def add(a: List[int], b):\n    return a + b\n",  # raises at load
        "def add(a, b):\n    def h(x: List[int]) -> int:\n        return x\n    return h(a) + b\n",  # at call
        "x: List[int] = []\ndef add(a, b):\n    return a + b\n",  # module-level variable annotation
        "from typing import List\ndef add(a: 'Nope', b: List[int]) -> int:\n    return a + b\n",  # resolvable
    ]
    task = MatrixTask("D", tuple(Candidate("D", i, c) for i, c in enumerate(codes)), ("d0",), (TESTS[0],))
    m = build_matrices([task], executor, options=OPTIONS)
    assert m["D"].rows == ("e", "e", "e", "p")


def test_the_reference_solution_is_a_field_with_its_own_row(executor: LocalExecutor) -> None:
    """The canonical solution runs on the same tests but is never one of the candidates' rows."""
    from rerankeval.unittests.matrix import REFERENCE_INDEX

    a, b = _tasks()
    ref_a = MatrixTask(a.problem_id, a.candidates, a.test_ids, a.tests, reference=GOOD)  # shares a job
    ref_b = MatrixTask(
        b.problem_id, b.candidates, b.test_ids, b.tests, reference="def add(a, b):\n    return 10\n"
    )
    counting = CountingExecutor(executor)
    rows: list[tuple[str, int, str, str]] = []
    finished: list[int] = []
    m = build_matrices(
        [ref_a, ref_b], counting, options=OPTIONS, on_row=lambda *r: rows.append(r), progress=finished.append
    )
    assert m["A"].rows == EXPECTED_A and m["A"].reference == "ppppe"
    assert m["B"].rows == ("f", "p") and m["B"].reference == "p"
    assert sorted(len(j.tests) for j in counting.jobs) == [1, 1, 1, 4, 4, 4, 4]  # GOOD ran once for A
    assert ("A", REFERENCE_INDEX, Candidate("A", 0, GOOD).sha, "ppppe") in rows
    assert sum(finished) == 5 + 1 + 2 + 1
    assert m["A"].subset(candidates=[1], tests=[4, 0]).reference == "ep"
    assert m["A"].subset(candidates=[1]).reference == "ppppe"
    # a resumed build reads the reference row from ``done`` and runs nothing for it
    done = {("B", 0): "f", ("B", 1): "p", ("B", REFERENCE_INDEX): "p"}
    again = CountingExecutor(executor)
    m2 = build_matrices([ref_b], again, options=OPTIONS, done=done)
    assert m2["B"] == m["B"] and again.jobs == []
    # without a reference, the field stays None
    assert build_matrices([b], executor, options=OPTIONS)["B"].reference is None


class StarvingExecutor(CountingExecutor):
    """The first run of a program marked ``# starve`` comes back as a busy machine makes it: every test
    hit the time limit with a tenth of it on the CPU."""

    def run(
        self, jobs: Sequence[Any], assets: Mapping[str, Any], progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, ProgramOutcome]]:
        seen = {j.code for j in self.jobs}
        fake = [i for i, j in enumerate(jobs) if "# starve" in j.code and j.code not in seen]
        self.jobs.extend(jobs)
        for i in fake:
            units = tuple(ExecOutcome("timeout", 1.0, "TimeoutException", cpu_s=0.1) for _ in jobs[i].tests)
            yield i, ProgramOutcome(units, True)
        real = [i for i in range(len(jobs)) if i not in fake]
        for k, out in self.inner.run([jobs[i] for i in real], assets, progress):
            yield real[k], out


def test_a_job_starved_of_cpu_is_run_again_and_its_cells_come_from_that_run(executor: LocalExecutor) -> None:
    starved = "# starve\n" + GOOD
    task = MatrixTask("A", (Candidate("A", 0, starved), Candidate("A", 1, WRONG)), ("a0", "a1"), TESTS[:2])
    ex = StarvingExecutor(executor)
    m = build_matrices([task], ex, options=MatrixOptions(time_limit_s=1.0))
    assert m["A"].rows == ("pp", "ff")
    assert [j.code for j in ex.jobs].count(starved) == 2 and len(ex.jobs) == 3
    off = StarvingExecutor(executor)
    m = build_matrices([task], off, options=MatrixOptions(time_limit_s=1.0, confirm_starved=False))
    assert m["A"].rows == ("tt", "ff") and len(off.jobs) == 2


def test_a_test_that_hits_its_limit_reports_the_cpu_time_it_got(executor: LocalExecutor) -> None:
    from rerankeval.sandbox import TestsJob

    tests = ("import time\ntime.sleep(5)", "while True:\n    pass")
    [(_, out)] = list(executor.run([TestsJob(code=GOOD, tests=tests, time_limit_s=0.5)], {}))
    sleep, spin = out.units
    assert sleep.status == spin.status == "timeout"
    assert sleep.cpu_s is not None and sleep.cpu_s < 0.05 and cpu_starved(ProgramOutcome((sleep,), True))
    assert spin.cpu_s is not None and spin.cpu_s > sleep.cpu_s
