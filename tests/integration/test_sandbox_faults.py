"""Fault injection: a failure of the sandbox or of the result cache is never a verdict.

Each scenario injects one fault of the harness (not of the program) while real jobs run, then
compares what was recorded (verdicts, pass-matrix rows, the result cache) with a fault-free run:

* SIGKILL of a supervisor, of its zygote, or of a job's child, mid-job (call jobs judged by a
  checker, and generated-test jobs);
* a supervisor killed every time one job runs (a persistent fault): the run stops with
  :class:`SandboxFaultError` naming the cause and the fix, rows finished before stay, nothing wrong
  is cached;
* a corrupted cache entry, a truncated cache database, two runs sharing one cache at once.

Figures (printed by ``test_fault_injection_figures``): faults injected, faults survived (the run
completed with every result right, or stopped with a clear error), results lost, wrong verdicts
recorded; the goal for the last two is 0.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from rerankeval.cache import ResultCache
from rerankeval.core.types import Candidate
from rerankeval.errors import SandboxFaultError
from rerankeval.sandbox import CallJob, CheckerRef, LocalExecutor
from rerankeval.sandbox import TestsJob as TJob  # (a name pytest does not try to collect)
from rerankeval.sandbox.local import Slot
from rerankeval.unittests.matrix import MatrixOptions, MatrixTask, build_matrices

SLOW = "import time\ndef f(x):\n    time.sleep(0.4)\n    return x + 1\n"
WRONG = "def f(x):\n    return x - 1\n"
TESTS = ("assert f(1) == 2", "assert f(2) == 3", "assert f(3) == 5", "assert f(0) == 1")
ASSETS = {"in": [[1], [2], [3]], "chk": {"expected": [2, 3, 4]}}
OPTIONS = MatrixOptions(time_limit_s=3.0)
FIGURES: dict[str, dict[str, int]] = {}


def _call(code: str) -> CallJob:
    return CallJob(
        code=code,
        entry_point="f",
        inputs_key="in",
        time_limits=(3.0,) * 3,
        overall_timeout_s=12.0,
        checker=CheckerRef("sandbox_checkers:expect", "chk"),
    )


FAST = "def f(x):\n    return x + 1\n"


def _tasks(slow: bool = True) -> list[MatrixTask]:
    good = (SLOW, SLOW.replace("0.4", "0.3")) if slow else (FAST, FAST + "\n")
    cands = tuple(Candidate("p", i, code) for i, code in enumerate((good[0], WRONG, good[1])))
    return [MatrixTask("p", cands, tuple(f"t{i}" for i in range(len(TESTS))), TESTS)]


EXPECTED_ROWS = ("ppfp", "ffff", "ppfp")


def _record(name: str, injected: int, survived: int, lost: int, wrong: int) -> None:
    FIGURES[name] = {"injected": injected, "survived": survived, "lost": lost, "wrong": wrong}


def _target(slot: Slot, which: str) -> int | None:
    """The pid of the slot's supervisor, its zygote, or the job's child (None until it exists)."""
    if slot.proc is None:
        return None
    if which == "supervisor":
        return slot.proc.pid
    try:
        kids = psutil.Process(slot.proc.pid).children()
        if which == "zygote":
            return kids[0].pid if kids else None
        grand = [c for k in kids for c in k.children()]
        return grand[0].pid if grand else None
    except psutil.Error:
        return None


def _kill_during(slot: Slot, which: str, times: int = 1, after_s: float = 0.2) -> threading.Thread:
    """Kills ``which`` with SIGKILL ``times`` times, each ``after_s`` into a run of the slot."""

    def go() -> None:
        done, seen = 0, set()
        deadline = time.monotonic() + 30
        while done < times and time.monotonic() < deadline:
            pid = _target(slot, which)
            sup = slot.proc.pid if slot.proc else None
            if pid is None or sup in seen or _target(slot, "child") is None:  # a job is running
                time.sleep(0.01)
                continue
            time.sleep(after_s)
            if _target(slot, which) == pid:
                psutil.Process(pid).send_signal(signal.SIGKILL)
                seen.add(sup)
                done += 1

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("which", ["supervisor", "zygote", "child"])
def test_a_killed_sandbox_process_is_rerun_not_judged(which: str) -> None:
    with LocalExecutor(1, preload=("sandbox_checkers",)) as ex:
        ex._slots[0].start()
        if not ex._slots[0].features.get("pid_namespace"):
            pytest.skip("needs a PID namespace (a job's child is then found under the zygote)")
        t = _kill_during(ex._slots[0], which)
        [(_, call)] = list(ex.run([_call(SLOW)], ASSETS))
        t.join()
        t = _kill_during(ex._slots[0], which)
        [(_, tests)] = list(ex.run([TJob(code=SLOW, tests=TESTS, time_limit_s=3.0)], {}))
        t.join()
        faults = list(ex.faults)
    calls_ok = [u.status for u in call.units] == ["pass"] * 3
    tests_ok = [u.status for u in tests.units] == ["pass", "pass", "fail", "pass"]
    # a killed child is the sandbox's own retry (no fault reaches the executor); the others are retried there
    assert len(faults) == (0 if which == "child" else 2), faults
    _record(f"kill {which} (call + tests job)", 2, int(calls_ok) + int(tests_ok), 0, 2 - calls_ok - tests_ok)
    assert calls_ok, call
    assert tests_ok, tests


def test_a_persistent_fault_stops_the_run_and_records_nothing_wrong(tmp_path: Path) -> None:
    cache = ResultCache("passmatrix", path=tmp_path / "c.sqlite")
    rows: dict[int, str] = {}
    with LocalExecutor(1) as ex:
        ex._slots[0].start()
        if not ex._slots[0].features.get("pid_namespace"):
            pytest.skip("needs a PID namespace (a job's child is then found under the zygote)")
        first = _tasks()[0]
        done_first = build_matrices(
            [MatrixTask("p", first.candidates[1:2], first.test_ids, first.tests)],
            ex,
            options=OPTIONS,
            cache=cache,
        )  # a row finished before the fault
        rows[1] = done_first["p"].rows[0]
        t = _kill_during(ex._slots[0], "supervisor", times=2)
        with pytest.raises(SandboxFaultError) as err:
            build_matrices(
                [MatrixTask("p", first.candidates[:1], first.test_ids, first.tests)],
                ex,
                options=OPTIONS,
                cache=cache,
                on_row=lambda p, i, sha, cells: rows.__setitem__(i, cells),
            )
        t.join()
    msg = str(err.value)
    assert "supervisor died" in msg and "run the same command again" in msg, msg
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        stored = {k: json.loads(v) for k, v in db.execute("SELECT k, v FROM passmatrix")}
    cache.close()
    wrong = sum(1 for v in stored.values() if v["cells"] not in EXPECTED_ROWS) + sum(
        1 for i, r in rows.items() if r != EXPECTED_ROWS[i]
    )
    lost = int(rows.get(1) != EXPECTED_ROWS[1])
    _record(
        "supervisor killed on every try (stops with an error)",
        2,
        2 if not wrong and not lost else 0,
        lost,
        wrong,
    )
    assert list(rows) == [1] and len(stored) == 1 and wrong == 0


def _build(ex: LocalExecutor, cache: ResultCache) -> tuple[str, ...]:
    return build_matrices(_tasks(slow=False), ex, options=OPTIONS, cache=cache)["p"].rows


@pytest.mark.parametrize("damage", ["bad json", "truncated row", "unknown cells", "truncated database"])
def test_a_damaged_cache_is_recomputed_never_trusted(damage: str, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with LocalExecutor(1) as ex:
        cache = ResultCache("passmatrix", path=path)
        assert _build(ex, cache) == EXPECTED_ROWS
        cache.close()
        if damage == "truncated database":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 3] or b"garbage")
            for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                extra.unlink(missing_ok=True)
        else:
            with sqlite3.connect(path) as db:
                value = {
                    "bad json": '{"cells": "pp',
                    "truncated row": json.dumps({"cells": "pp"}),
                    "unknown cells": json.dumps({"cells": "p?x\u0000"}),
                }[damage]
                db.execute("UPDATE passmatrix SET v = ?", (value,))
        cache = ResultCache("passmatrix", path=path)
        rows = _build(ex, cache)
        cache.close()
        again = ResultCache("passmatrix", path=path)
        rows2 = _build(ex, again)
        again.close()
    wrong = sum(r != e for r, e in zip(rows, EXPECTED_ROWS, strict=True)) + sum(
        r != e for r, e in zip(rows2, EXPECTED_ROWS, strict=True)
    )
    _record(f"cache: {damage}", 1, int(wrong == 0), 0, wrong)
    assert rows == EXPECTED_ROWS and rows2 == EXPECTED_ROWS


def test_two_runs_sharing_one_cache_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    results: list[Any] = []

    def run() -> None:
        with LocalExecutor(1) as ex:
            cache = ResultCache("passmatrix", path=path)
            try:
                results.append(_build(ex, cache))
            except Exception as e:  # noqa: BLE001 - counted below
                results.append(e)
            finally:
                cache.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with sqlite3.connect(path) as db:
        stored = [json.loads(v)["cells"] for (v,) in db.execute("SELECT v FROM passmatrix")]
    wrong = sum(r != EXPECTED_ROWS for r in results) + sum(c not in EXPECTED_ROWS for c in stored)
    _record("two runs sharing one cache", 1, int(wrong == 0), 0, wrong)
    assert results == [EXPECTED_ROWS, EXPECTED_ROWS] and sorted(set(stored)) == sorted(set(EXPECTED_ROWS))


def test_fault_injection_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the figures of the scenarios above (run in the same session, e.g. this whole file)."""
    if not FIGURES:
        pytest.skip("run the whole file to collect figures")
    total = {k: sum(f[k] for f in FIGURES.values()) for k in ("injected", "survived", "lost", "wrong")}
    with capsys.disabled():
        print("\nfault injection (sandbox, executor, cache):")
        for name, f in FIGURES.items():
            print(
                f"  {name:<55} injected {f['injected']}  survived {f['survived']}  lost {f['lost']}  "
                f"wrong {f['wrong']}"
            )
        print(
            f"  {'TOTAL':<55} injected {total['injected']}  survived {total['survived']}  "
            f"lost {total['lost']}  wrong {total['wrong']}"
        )
    assert total["lost"] == 0 and total["wrong"] == 0 and total["survived"] == total["injected"]
