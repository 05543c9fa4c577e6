"""The local executor: a pool of supervisors, one per core, fed by the harness's threads."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from rerankeval.core.types import ProgramOutcome
from rerankeval.errors import SandboxFaultError, SandboxUnavailableError
from rerankeval.sandbox._protocol import read_frame, write_frame
from rerankeval.sandbox.executor import Executor, Job, job_assets
from rerankeval.sandbox.jobs import lost_job

log = logging.getLogger(__name__)


def _code_path(preload: Sequence[str]) -> list[str]:
    """This interpreter's ``sys.path`` for the supervisor, without the current folder when it is there
    only because of ``python -m``/``-c`` (the sandbox shows every code path to programs, and the
    current folder is often the one holding runs and data)."""
    paths = [p for p in sys.path if p]
    cwd = os.getcwd()
    if sys.path and sys.path[0] in ("", cwd):
        tops = {m.partition(".")[0] for m in (*preload, "rerankeval")}
        here = [os.path.join(cwd, t) for t in tops]
        if not any(os.path.exists(h) or os.path.exists(h + ".py") for h in here):
            paths = [p for p in paths if os.path.realpath(p) != os.path.realpath(cwd)]
    return paths


#: What a user can do when the sandbox fails under a job (the cause comes first in the message).
_FAULT_FIX = (
    "This is a fault of the sandbox, not of the program: no verdict was recorded for the job and "
    "results already finished are kept. Check that the machine has free memory and processes "
    "(nothing is killing rerankeval's processes), then run the same command again (a rerank run: "
    "add --resume)."
)
#: Start-up output lines of a supervisor kept for an error message.
_LOG_TAIL = 4000


class Slot:
    """One supervisor process and the assets it already holds.

    A supervisor that dies, or whose zygote dies, under a job is replaced and the job runs again
    (:meth:`run`); a second failure is a :class:`SandboxFaultError`, never a verdict, except where
    the job could reach its own sandbox's processes (no PID namespace), where a job that brings its
    sandbox down twice is judged as having crashed.
    """

    def __init__(self, preload: Sequence[str]) -> None:
        self.preload = tuple(preload)
        self.proc: subprocess.Popen[bytes] | None = None
        self.has: set[str] = set()
        self.features: dict[str, Any] = {}
        self.extra_env: dict[str, str] = {}  # set before start (tests: RERANKEVAL_SANDBOX_DISABLE)
        self.faults: list[str] = []  # every sandbox fault seen (retried or not), for reports and tests
        self.log = tempfile.TemporaryFile()  # the supervisor's and zygote's own stderr (library noise)
        # One job at a time: a run abandoned mid-job (Ctrl-C, an error in the caller) leaves its thread
        # finishing that job while the next run already uses this slot.
        self.lock = threading.Lock()

    def _command(self) -> list[str]:
        cmd = [sys.executable]
        if sys.version_info >= (3, 11):
            cmd.append("-P")  # not the current folder: the sandbox shows only code paths
        cmd += ["-m", "rerankeval.sandbox._supervisor"]
        return cmd + (["--preload", ",".join(self.preload)] if self.preload else [])

    def start(self) -> None:
        if self.proc is not None:
            self.close(kill=True)  # a supervisor that exited on its own (its zygote died)
        env = {**os.environ, **self.extra_env}
        env["PYTHONPATH"] = os.pathsep.join(_code_path(self.preload))
        env.pop("PYTHONSTARTUP", None)
        try:
            self.proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.log,
                env=env,
                start_new_session=True,
            )
            assert self.proc.stdin is not None and self.proc.stdout is not None
            hello = read_frame(self.proc.stdout)
        except (OSError, EOFError) as e:
            self.close(kill=True)
            raise SandboxUnavailableError(
                f"cannot start the sandbox supervisor ({sys.executable} -m rerankeval.sandbox._supervisor): "
                f"{e}. Check that rerankeval is installed in this interpreter. Its last output: "
                f"{self.log_tail()!r}"
            ) from None
        if hello[0] == "failed":
            self.close(kill=True)
            seen = ", ".join(dict(hello[2]).get("visible") or []) if len(hello) > 2 else ""
            raise SandboxUnavailableError(
                f"the sandbox cannot start: it {hello[1]}. A program in the sandbox sees only the system "
                f"folders and this interpreter's code paths ({seen or 'the whole file system'}). "
                "Fix: install "
                "the package into this interpreter (pip install PACKAGE, or pip install -e CHECKOUT), or put "
                "its folder on PYTHONPATH, and run again"
            )
        if hello[0] != "ready":
            self.close(kill=True)
            raise SandboxUnavailableError(f"sandbox supervisor answered {hello!r}")
        self.features = dict(hello[2]) if len(hello) > 2 else {}
        self.has = set()

    def log_tail(self) -> str:
        """The last lines the supervisor (or its zygote) printed."""
        with contextlib.suppress(OSError, ValueError):
            self.log.seek(0, os.SEEK_END)
            size = self.log.tell()
            self.log.seek(max(0, size - _LOG_TAIL))
            return self.log.read().decode("utf-8", "replace").strip()
        return ""

    def log_lines(self) -> list[str]:
        """Everything the supervisor and its zygote printed (library noise such as jemalloc's)."""
        with contextlib.suppress(OSError, ValueError):
            self.log.seek(0)
            return [ln for ln in self.log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return []

    def _attempt(self, job_id: int, job: Job, assets: Mapping[str, Any]) -> ProgramOutcome | str:
        """Runs the job once; its outcome, or the cause of a sandbox fault."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        try:
            for key in job_assets(job):
                if key not in self.has:
                    write_frame(self.proc.stdin, ("asset", key, assets[key]))
                    self.has.add(key)
            write_frame(self.proc.stdin, ("job", job_id, job))
            msg = read_frame(self.proc.stdout)
        except (EOFError, BrokenPipeError, OSError):
            rc = self.proc.poll()
            self.close(kill=True)
            return f"the sandbox supervisor died (exit status {rc})"
        except Exception as e:  # noqa: BLE001 - an undecodable frame from our own supervisor
            self.close(kill=True)
            return f"the sandbox supervisor's answer could not be decoded ({e!r})"
        if msg[0] == "fault":
            if len(msg) > 3 and msg[3].get("exiting"):
                self.close()
            return str(msg[2])
        if msg[0] != "result" or msg[1] != job_id or not isinstance(msg[2], ProgramOutcome):
            self.close(kill=True)
            return f"the sandbox supervisor answered out of turn ({str(msg[:2])[:80]})"
        outcome: ProgramOutcome = msg[2]
        return outcome

    def run(self, job_id: int, job: Job, assets: Mapping[str, Any]) -> ProgramOutcome:
        """The job's outcome; a sandbox fault is retried once in a fresh supervisor.

        Raises:
            SandboxFaultError: The sandbox failed twice under this job.
            SandboxUnavailableError: A fresh supervisor cannot start.
        """
        with self.lock:
            return self._run(job_id, job, assets)

    def _run(self, job_id: int, job: Job, assets: Mapping[str, Any]) -> ProgramOutcome:
        causes: list[str] = []
        for _ in range(2):
            res = self._attempt(job_id, job, assets)
            if isinstance(res, ProgramOutcome):
                return res
            causes.append(res)
            self.faults.append(res)
            log.warning("sandbox fault (%s); running the job again in a fresh sandbox", res)
            self.close(kill=True)
        if not self.features.get("pid_namespace") and all("died" in c for c in causes):
            # Without a PID namespace a program can reach its zygote and supervisor: a job that
            # brings them down every time is judged as having crashed (never a pass).
            return lost_job(job, f"{causes[-1]}, twice: the program brought its sandbox down")
        tail = self.log_tail()
        raise SandboxFaultError(
            f"the sandbox failed twice under one job: {causes[-1]}. {_FAULT_FIX}"
            + (f" The supervisor's last output: {tail[-600:]!r}" if tail else "")
        )

    def close(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        try:
            if not kill and self.proc.poll() is None:
                assert self.proc.stdin is not None
                write_frame(self.proc.stdin, ("exit",))
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self.proc = None


def summarize_library_output(slots: Sequence[Slot]) -> None:
    """Logs once what libraries printed inside the sandbox (e.g. jemalloc's warnings), not line by line."""
    counts: dict[str, int] = {}
    for slot in slots:
        for line in slot.log_lines():
            counts[line] = counts.get(line, 0) + 1
    if not counts:
        return
    common = sorted(counts.items(), key=lambda kv: -kv[1])
    log.info(
        "sandbox: libraries printed %d lines inside the sandbox (%d distinct; most common: %r x%d); "
        "harmless to verdicts; RERANKEVAL_LOG_LEVEL=DEBUG lists them",
        sum(counts.values()),
        len(counts),
        common[0][0][:160],
        common[0][1],
    )
    for line, n in common:
        log.debug("sandbox output x%d: %s", n, line)


class LocalExecutor:
    """Runs sandbox jobs on this machine, ``parallel`` at a time.

    Args:
        parallel: Worker slots (default: all cores).
        preload: Modules each supervisor imports once (e.g. a checker's module).

    Use as a context manager; :meth:`run` yields ``(job_index, ProgramOutcome)`` as jobs finish.
    """

    name = "local"

    def __init__(self, parallel: int | None = None, preload: Sequence[str] = ()) -> None:
        self.parallel = max(1, parallel or os.cpu_count() or 1)
        self._slots = [Slot(preload) for _ in range(self.parallel)]

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for s in self._slots:
            s.close()
        summarize_library_output(self._slots)
        for s in self._slots:
            s.log.close()
            s.log = tempfile.TemporaryFile()

    @property
    def faults(self) -> list[str]:
        """Every sandbox fault seen so far (each was retried or stopped the run; none is a verdict)."""
        return [f for s in self._slots for f in s.faults]

    def guarantees(self) -> dict[str, bool | str]:
        """The isolation guarantees in force for this executor's jobs (see ``sandbox.guarantees``)."""
        from rerankeval.sandbox.guarantees import describe

        slot = self._slots[0]
        if slot.proc is None or slot.proc.poll() is not None:
            slot.start()
        return describe(slot.features)

    def run(
        self, jobs: Sequence[Job], assets: Mapping[str, Any], progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, ProgramOutcome]]:
        """Runs ``jobs`` (in the given order of priority) and yields results as they complete."""
        todo: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        for i in range(len(jobs)):
            todo.put(i)
        n_threads = min(self.parallel, len(jobs))
        for _ in range(n_threads):
            todo.put(None)
        done: queue.SimpleQueue[tuple[int, ProgramOutcome] | BaseException] = queue.SimpleQueue()
        stop = threading.Event()

        def work(slot: Slot) -> None:
            try:
                while not stop.is_set():
                    i = todo.get()
                    if i is None:
                        return
                    done.put((i, slot.run(i, jobs[i], assets)))
            except BaseException as e:  # noqa: BLE001 - surfaced in the caller's thread
                done.put(e)

        threads = [
            threading.Thread(target=work, args=(self._slots[t],), daemon=True) for t in range(n_threads)
        ]
        for t in threads:
            t.start()
        try:
            for _ in range(len(jobs)):
                item = done.get()
                if isinstance(item, BaseException):
                    raise item
                if progress is not None:
                    progress(1)
                yield item
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=0.1)


def run_all(
    executor: Executor,
    jobs: Sequence[Job],
    assets: Mapping[str, Any],
    progress: Callable[[int], None] | None = None,
) -> list[ProgramOutcome]:
    """Runs every job and returns the outcomes in job order."""
    out: list[ProgramOutcome | None] = [None] * len(jobs)
    for i, res in executor.run(jobs, assets, progress):
        out[i] = res
    return [o for o in out if o is not None]
