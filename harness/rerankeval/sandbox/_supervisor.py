"""The supervisor: a trusted, warm interpreter that runs jobs through its zygote and judges them.

One supervisor runs per worker slot (``--parallel``). It is started once as a fresh interpreter
(``python -m rerankeval.sandbox._supervisor``), never inside the harness's own process. At start it
warms the imports a child needs, sets up the operating-system isolation this machine allows
(:mod:`rerankeval.sandbox._isolation`) and forks the *zygote* (:mod:`rerankeval.sandbox._zygote`),
which forks one child per job, so a job costs a ``fork`` (a few ms) instead of a new interpreter.
It reads requests from stdin and answers on stdout, both length-prefixed pickles:

* ``("asset", key, value)``: keep ``value`` (a task's inputs, expected outputs) for later jobs;
* ``("import", modules)``: import them here and in the zygote (checkers, a prelude's module);
* ``("job", job_id, CallJob | TestsJob)``: run it, answer ``("result", job_id, ProgramOutcome)``, or
  ``("fault", job_id, cause, {"exiting": bool})`` when the sandbox itself failed (its zygote died, a
  checker raised): that is never the program's verdict, and the harness retries or stops;
* ``("features",)``: answer ``("features", dict)``, the isolation layers in force;
* ``("exit",)``.

Started as ``python -m rerankeval.sandbox._supervisor --preload MOD,MOD``, it imports those modules
(the checkers) before any job, and answers ``("failed", message)`` instead of ``("ready", ...)``
when one cannot be imported inside the sandbox's view.

Verdicts are decided here, from plain values that the child sends through a pipe, sealed with a
per-job key and unpickled with a restricted unpickler: a child that exits early, prints a success
marker, writes forged frames, returns an object with a rigged ``__eq__`` or dies, is never counted
as passing. Expected outputs never reach the zygote, hence never a child.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import importlib
import os
import select
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, Literal

from rerankeval.core.types import ExecOutcome, ProgramOutcome, Status
from rerankeval.sandbox import _isolation
from rerankeval.sandbox._cgroup import JobCgroup
from rerankeval.sandbox._outside import Expected
from rerankeval.sandbox._outside import split as split_test
from rerankeval.sandbox._protocol import FrameReader, UnsafeValue, read_frame, safe_loads, unseal, write_frame
from rerankeval.sandbox._zygote import Zygote, ZygoteDied
from rerankeval.sandbox.jobs import CallJob, Limits, TestsJob

# Modules that generated programs commonly import: loaded once here, shared by every forked child.
_WARM = (
    "math",
    "re",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "string",
    "typing",
    "hashlib",
    "random",
    "statistics",
    "fractions",
    "decimal",
    "copy",
    "operator",
    "unittest",
    "numpy",
    "datetime",
    "json",
    "array",
    "cmath",
)
_MB = 1024 * 1024
_FRAME_FIELDS = frozenset({str, int, float, bytes, type(None)})


#: Longest time the supervisor spends decoding and checking one returned value (at least; a
#: unit's own time limit raises it): a value that takes longer is the program's failure.
CHECK_TIME_S = 10.0


class HarnessGone(Exception):  # noqa: N818
    """The harness closed its end of the protocol pipe: stop the job and exit."""


class CheckTimeout(Exception):  # noqa: N818
    """Decoding or checking a returned value took longer than its limit."""


def _on_check_alarm(signum: int, frame: Any) -> None:
    raise CheckTimeout


class SandboxFault(Exception):  # noqa: N818
    """The sandbox (not the program) failed during a job; never turned into a verdict."""


def _decode_compare(raw: Any, compare: Callable[[Any], bool], limit_s: float) -> tuple[str, str]:
    """Decodes a returned value and compares it, under a time limit.

    Returns ``("pass", "")``, ``("fail", why)`` (wrong, not plain data, too costly) or
    ``("raised", exception name)`` when the comparison itself raised.
    """
    if raw is None:
        return "fail", "value could not be sent (not picklable)"
    if type(raw) is not bytes:
        return "fail", "malformed result frame"
    old = signal.signal(signal.SIGALRM, _on_check_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        value = safe_loads(raw)
        return ("pass", "") if compare(value) else ("fail", "wrong output")
    except UnsafeValue as e:
        return "fail", f"output is not plain data ({e})"
    except CheckTimeout:
        return "fail", f"output took over {limit_s:.0f}s to decode and check"
    except MemoryError:
        return "fail", "output too large to check"
    except Exception as e:  # noqa: BLE001 - the comparison raised
        return "raised", type(e).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _judge_value(
    raw: Any, i: int, check: Callable[[int, Any], bool] | None, limit_s: float
) -> tuple[bool, str]:
    """A checker's verdict on one returned value: (passed, detail); a checker that raises is a mismatch."""
    st, detail = _decode_compare(raw, (lambda v: True) if check is None else (lambda v: check(i, v)), limit_s)
    if st == "raised":
        return False, f"output mismatch ({detail})"
    return st == "pass", detail


def _decide_test(
    expected: tuple[Expected, ...],
    reports: list[tuple[Any, Any]],
    ended: tuple[Status | Literal["stopped"], str] | None,
    duration: float,
    limit_s: float,
) -> ExecOutcome | None:
    """A test's outcome from its comparisons decided here and how the child says it ended.

    ``ended`` is None when the child says the test ran to its end, else (status, detail). The
    first reported comparison that does not hold decides (it is where the test would have
    stopped); with none, the child's account stands, but a test that ran to its end must have
    reported each comparison exactly once. Returns None when nothing is decided yet (a child that
    stopped with every reported comparison holding: the caller records the stop).
    """
    seen: set[int] = set()
    for k, raw in reports:
        if type(k) is not int or not 0 <= k < len(expected) or k in seen:
            return ExecOutcome("error", duration, "comparison reported twice or out of range")
        seen.add(k)
        st, detail = _decode_compare(raw, expected[k].matches, limit_s)
        if st == "fail":
            return ExecOutcome("fail", duration, "AssertionError" if detail == "wrong output" else detail)
        if st == "raised":
            return ExecOutcome("error", duration, detail)
    if ended is None:
        if len(seen) != len(expected):
            return ExecOutcome("error", duration, "a comparison was not reported")
        return ExecOutcome("pass", duration)
    status = ended[0]
    if status == "stopped":
        return None
    return ExecOutcome(status, duration, ended[1])


class _Run:
    """One child, started by the zygote, and the frames it has sent."""

    def __init__(self, sup: Supervisor, limits: Limits, spec: tuple[Any, ...]) -> None:
        self.sup, self.limits = sup, limits
        self.workdir = tempfile.mkdtemp(prefix="rerankeval-")
        if sup.cgroup is not None:
            sup.cgroup.set_limits(limits.memory_mb * _MB, limits.max_processes)
        r, w = os.pipe()
        self.start = time.monotonic()
        try:
            self.pid, self.key, self.pidfd = sup.zygote.spawn(spec + (self.workdir, limits), w)
        finally:
            os.close(w)
        self.fd = r
        self.reader = FrameReader()
        self.eof = False

    def _decode(self, chunk: bytes) -> list[tuple[Any, ...]]:
        out = []
        for raw in self.reader.feed(chunk):
            payload = unseal(self.key, raw)
            if payload is None:
                continue  # forged: not sealed with this job's key
            try:
                msg = safe_loads(payload)
            except UnsafeValue:
                continue
            # a child's frames hold only scalars and the pickled values (anything else is forged)
            plain = type(msg) is tuple and all(type(x) in _FRAME_FIELDS for x in msg)
            if plain and msg and type(msg[0]) is str:
                out.append(msg)
        if self.reader.overflow:
            self.eof = True
        return out

    def _drain(self) -> list[tuple[Any, ...]]:
        """The child has exited: read what is left without waiting for writers it left behind."""
        fcntl.fcntl(self.fd, fcntl.F_SETFL, fcntl.fcntl(self.fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        out = []
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self.fd, 1 << 20):
                out += self._decode(chunk)
        self.eof = True
        return out

    def frames(self, deadline: float) -> list[tuple[Any, ...]] | None:
        """Frames received before ``deadline``; [] on EOF; None when the deadline passed first."""
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            return None
        watch = [self.fd] if self.pidfd is None else [self.fd, self.pidfd]
        if self.sup.harness_fd is not None:
            watch.append(self.sup.harness_fd)
        ready, _, _ = select.select(watch, [], [], timeout)
        if not ready:
            return None
        if self.sup.harness_fd in ready:
            # the harness sends nothing while a job runs: readable means it closed the pipe (it died)
            raise HarnessGone
        if self.fd not in ready:
            return self._drain()
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            self.eof = True
            return []
        return self._decode(chunk)

    def finish(self, killed_reason: str = "") -> dict[str, Any]:
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        if killed_reason and self.sup.cgroup is not None:
            # A runaway job (a fork bomb) can starve the zygote of CPU: kill all of it from here first.
            self.sup.cgroup.kill_all()
        try:
            rc = self.sup.zygote.wait_exited()
        finally:
            if self.sup.cgroup is not None:
                self.sup.cgroup.kill_all()
            for fd in (self.fd, self.pidfd):
                if fd is not None:
                    os.close(fd)
        tails = {
            name: _tail(os.path.join(self.workdir, f".{name}"), self.limits.max_output_bytes)
            for name in ("stdout", "stderr")
        }
        shutil.rmtree(self.workdir, ignore_errors=True)
        _isolation.wipe_private_tmp(self.sup.features)
        return {
            "returncode": rc,
            "stdout_tail": tails["stdout"],
            "stderr_tail": tails["stderr"],
            "duration_s": time.monotonic() - self.start,
            "killed_reason": killed_reason,
        }


def _tail(path: str, n: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - n))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _unit_index(msg: tuple[Any, ...]) -> int | None:
    return msg[1] if len(msg) > 1 and type(msg[1]) is int else None


def _seconds(x: object) -> float:
    return float(x) if type(x) in (int, float) else 0.0  # type: ignore[arg-type]


class Supervisor:
    """Holds the assets and checkers (never shared with the zygote) and runs jobs."""

    def __init__(self, features: _isolation.Features, zygote: Zygote, cgroup: JobCgroup | None) -> None:
        self.assets: dict[str, Any] = {}
        self._factories: dict[str, Callable[[Any], Callable[[int, Any], bool]]] = {}
        self.features, self.zygote, self.cgroup = features, zygote, cgroup
        self._zygote_has: set[str] = set()
        self._splits: dict[str, tuple[str, tuple[Expected, ...]]] = {}
        self.harness_fd: int | None = None

    def _inputs(self, key: str) -> Any:
        """A job's inputs, also handed to the zygote (inputs are not secret; expected outputs are)."""
        if key not in self._zygote_has:
            self.zygote.send(("asset", key, self.assets[key]))
            self._zygote_has.add(key)
        return self.assets[key]

    def _factory(self, ref: str) -> Callable[[Any], Callable[[int, Any], bool]]:
        if ref not in self._factories:
            mod, _, attr = ref.partition(":")
            self._factories[ref] = getattr(importlib.import_module(mod), attr)
        return self._factories[ref]

    def run_call(self, job: CallJob) -> ProgramOutcome:
        out = self._run_call_once(job)
        if _killed_by_unsent_signal(out):
            # Killed by a signal the supervisor did not send (the kernel's OOM killer, a stray kill):
            # run it once more before the death counts as the program's doing.
            out = self._run_call_once(job)
        return out

    def _checker(self, job: CallJob) -> Callable[[int, Any], bool] | None:
        if job.checker is None:
            return None
        try:
            return self._factory(job.checker.factory)(self.assets[job.checker.asset_key])
        except Exception as e:  # noqa: BLE001 - the harness's checker, not the program
            raise SandboxFault(f"checker {job.checker.factory} could not be built: {e!r}") from None

    def _run_call_once(self, job: CallJob) -> ProgramOutcome:
        inputs = self._inputs(job.inputs_key)
        check = self._checker(job)
        run = _Run(
            self,
            job.limits,
            (
                "call",
                job.code,
                job.entry_point,
                job.inputs_key,
                job.time_limits,
                job.stop_on_fail,
                job.prelude,
            ),
        )
        units: list[ExecOutcome] = []
        state = {"completed": False, "killed": ""}
        try:
            self._collect_call(run, job, len(inputs), check, units, state)
        finally:
            info = run.finish(str(state["killed"]))
        return ProgramOutcome(units=tuple(units), completed=bool(state["completed"]), **info)

    @staticmethod
    def _collect_call(
        run: _Run,
        job: CallJob,
        n_inputs: int,
        check: Callable[[int, Any], bool] | None,
        units: list[ExecOutcome],
        state: dict[str, object],
    ) -> None:
        deadline = run.start + job.overall_timeout_s
        while not state["completed"] and not run.eof:
            frames = run.frames(deadline)
            if frames is None:
                state["killed"] = f"overall time limit {job.overall_timeout_s:.1f}s"
                return
            for msg in frames:
                kind, i = msg[0], _unit_index(msg)
                if kind == "done":
                    state["completed"] = True
                    return
                if i == -1 and kind == "exc":  # the program itself failed to load
                    continue
                if i != len(units) or i >= n_inputs or len(msg) < 4:
                    continue  # out-of-order or malformed frame
                if kind == "ok":
                    limit = max(CHECK_TIME_S, 2 * job.time_limits[i])
                    ok, detail = _judge_value(msg[3], i, check, limit)
                    units.append(ExecOutcome("pass" if ok else "fail", _seconds(msg[2]), detail))
                    if not ok and job.stop_on_fail:
                        state["completed"] = True  # decided: the first failure ends the job, as in fast_check
                        return
                elif kind == "exc" and len(msg) >= 5:
                    status: Status = msg[3] if msg[3] in ("timeout", "oom") else "error"
                    cpu = _seconds(msg[5]) if len(msg) >= 6 and status == "timeout" else None
                    units.append(ExecOutcome(status, _seconds(msg[2]), str(msg[4])[:200], cpu))

    def run_tests(self, job: TestsJob) -> ProgramOutcome:
        n = len(job.tests)
        results: list[ExecOutcome | None] = [None] * n
        start, total_t = 0, time.monotonic()
        reasons: list[str] = []
        retried: set[int] = set()
        splits = [self._split(t) for t in job.tests]
        child_tests = tuple(src for src, _ in splits)
        expected = [exp for _, exp in splits]
        while start < n:
            run = _Run(self, job.limits, ("tests", job.code, child_tests, start, job.time_limit_s))
            stopped: tuple[int, bool] | None = None
            try:
                start, stopped = self._collect_tests(run, job, start, results, expected)
            finally:
                info = run.finish(f"test {stopped[0]}: hung" if stopped and stopped[1] else "")
            if stopped is None:
                continue
            cur, hung = stopped
            rc = info["returncode"]
            if not hung and isinstance(rc, int) and rc < 0 and cur not in retried:
                retried.add(cur)  # killed by a signal the supervisor did not send: run it once more
                start = cur
                continue
            results[cur] = ExecOutcome(
                "timeout" if hung else "error",
                job.time_limit_s if hung else 0.0,
                "killed: time limit ignored" if hung else "child died",
            )
            reasons.append(f"test {cur}: {'hung' if hung else 'died'}")
            start = cur + 1
        units = tuple(r if r is not None else ExecOutcome("error", 0.0, "not run") for r in results)
        return ProgramOutcome(
            units=units,
            completed=True,
            duration_s=time.monotonic() - total_t,
            killed_reason="; ".join(reasons),
        )

    def _split(self, source: str) -> tuple[str, tuple[Expected, ...]]:
        got = self._splits.get(source)
        if got is None:
            if len(self._splits) > 20_000:
                self._splits.clear()
            got = self._splits[source] = split_test(source)
        return got

    @staticmethod
    def _collect_tests(
        run: _Run,
        job: TestsJob,
        start: int,
        results: list[ExecOutcome | None],
        expected: list[tuple[Expected, ...]],
    ) -> tuple[int, tuple[int, bool] | None]:
        """Records one child's test results: (next start, (test it stopped on, hung) or None)."""
        n, cur = len(job.tests), start
        reports: list[tuple[Any, Any]] = []
        limit = max(CHECK_TIME_S, 2 * job.time_limit_s)
        deadline = run.start + max(job.time_limit_s, 1.0) + job.time_limit_s + job.grace_s
        while not run.eof:
            frames = run.frames(deadline)
            if frames is None:
                break
            for msg in frames:
                kind, i = msg[0], _unit_index(msg)
                if kind == "done":
                    return n, None
                if kind == "val":
                    if i == cur and cur < n and len(msg) >= 4 and len(reports) <= len(expected[cur]):
                        reports.append((msg[2], msg[3]))
                    continue
                if len(msg) < 3 or (kind == "exc" and len(msg) < 5):
                    continue
                if kind == "exc" and i == -1:
                    detail = f"program failed: {str(msg[4])[:200]}"
                    st: Status = msg[3] if msg[3] in ("timeout", "oom") else "error"
                    for j in range(cur, n):
                        results[j] = ExecOutcome(st, 0.0, detail)
                    return n, None
                if i != cur or cur >= n:
                    continue
                ended: tuple[Status, str] | None = None
                if kind != "ok":
                    st = msg[3] if msg[3] in ("timeout", "oom") else "error"
                    ended = ("fail" if msg[4] == "AssertionError" else st, str(msg[4])[:200])
                results[i] = got = _decide_test(expected[i], reports, ended, _seconds(msg[2]), limit)
                if got is not None and got.status == "timeout" and len(msg) >= 6:
                    results[i] = dataclasses.replace(got, cpu_s=_seconds(msg[5]))
                reports = []
                cur += 1
                deadline = time.monotonic() + job.time_limit_s + job.grace_s
        if cur < n:
            decided = _decide_test(expected[cur], reports, ("stopped", ""), 0.0, limit)
            if decided is not None:  # a comparison had already failed: the test fails there
                results[cur] = decided
                return cur + 1, None
            # the child hung past its limit, or died, on test `cur`: the caller records it (or runs
            # it again) and goes on in a fresh child
            return cur, (cur, not run.eof)
        return cur, None


def _killed_by_unsent_signal(out: ProgramOutcome) -> bool:
    rc = out.returncode
    return not out.completed and not out.killed_reason and isinstance(rc, int) and rc < 0


def _warm() -> None:
    for mod in _WARM:
        try:
            importlib.import_module(mod)
        except ImportError:
            pass


def _preload_arg(argv: list[str]) -> tuple[str, ...]:
    if len(argv) >= 2 and argv[0] == "--preload":
        return tuple(m for m in argv[1].split(",") if m)
    return ()


def _import_all(modules: tuple[str, ...]) -> str:
    """Imports the checkers' modules; the first failure, as a message ('' when all imported)."""
    for m in modules:
        try:
            importlib.import_module(m)
        except BaseException as e:  # noqa: BLE001 - reported to the harness, which stops
            return f"cannot import '{m}' inside the sandbox ({type(e).__name__}: {e})"
    return ""


def main() -> None:
    preload = _preload_arg(sys.argv[1:])
    # Protocol channels move off fds 0/1 so nothing printed by mistake can corrupt them.
    inp = os.fdopen(os.dup(0), "rb")
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness decides when we stop
    keep = _isolation.code_paths(preload)  # while the host's file system is still visible
    features, cgroup = _isolation.setup_supervisor(keep)
    _warm()
    failed = _import_all(preload)  # the self-check: every checker imports here, before any job
    if failed:
        write_frame(out, ("failed", failed, features.to_dict()))
        if cgroup is not None:
            cgroup.close()
        return
    _isolation.enter_pid_namespace(features)
    zygote = Zygote(features, cgroup.join_fds if cgroup else [])
    features = _isolation.Features(**zygote.features)
    sup = Supervisor(features, zygote, cgroup)
    sup.harness_fd = inp.fileno()
    write_frame(out, ("ready", os.getpid(), features.to_dict()))
    try:
        _serve(sup, inp, out)
    finally:
        zygote.close()
        if cgroup is not None:
            cgroup.kill_all()
            cgroup.close()


def _serve(sup: Supervisor, inp: Any, out: Any) -> None:
    broken = ""  # a module the harness asked for that cannot be imported: every job is a fault
    while True:
        try:
            msg = read_frame(inp)
        except EOFError:
            return
        if msg[0] == "exit":
            return
        if msg[0] == "asset":
            sup.assets[msg[1]] = msg[2]
            continue
        if msg[0] == "import":
            broken = broken or _import_all(tuple(msg[1]))
            with contextlib.suppress(ZygoteDied):
                sup.zygote.send(("import", tuple(msg[1])))
            continue
        if msg[0] == "features":
            write_frame(out, ("features", sup.features.to_dict()))
            continue
        job_id, job = msg[1], msg[2]
        fault, exiting = broken, False
        res: ProgramOutcome | None = None
        if not fault:
            try:
                res = sup.run_call(job) if isinstance(job, CallJob) else sup.run_tests(job)
            except HarnessGone:
                return
            except ZygoteDied as e:
                fault, exiting = f"the sandbox's zygote died ({e or 'connection lost'})", True
            except SandboxFault as e:
                fault = str(e)
            except Exception as e:  # noqa: BLE001 - the supervisor's own failure, never a verdict
                fault, exiting = f"supervisor error: {e!r}", True
        try:
            if res is not None:
                write_frame(out, ("result", job_id, res))
            else:
                write_frame(out, ("fault", job_id, fault, {"exiting": exiting}))
        except (BrokenPipeError, OSError):
            return  # the harness is gone
        if exiting:
            return  # the harness starts a fresh supervisor


if __name__ == "__main__":
    main()
