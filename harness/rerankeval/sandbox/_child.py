"""Code that runs inside the forked, untrusted child. It reports through a pipe, never stdout.

Everything here runs after the child has joined its job's cgroup, dropped its privileges, set its
rlimits and left the zygote's process group. The child sends frames sealed with the job's key
(see :func:`~rerankeval.sandbox._protocol.mac`): ``("ok", i, duration, pickled_output)``,
``("exc", i, duration, kind, detail)``, for a test's comparisons decided outside its process
``("val", i, k, pickled_value)``, and finally ``("done",)``. A child that dies or exits early
without ``done`` is judged by the supervisor as crashed: never as a pass.

The functions a program could monkeypatch to fake a result (``exec``, ``compile``, ``pickle.dumps``,
``os.write``, the timers, this module's own helpers) are bound when this module is imported, in
the trusted supervisor, and each test runs with a pristine copy of the builtins and no trace or
profile hook.
"""

from __future__ import annotations

import builtins
import gc
import os
import pickle
import resource
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from rerankeval.sandbox import _testguard
from rerankeval.sandbox._outside import REPORT as _REPORT
from rerankeval.sandbox._protocol import HEADER, mac
from rerankeval.sandbox.jobs import Limits

_PRISTINE_BUILTINS = dict(builtins.__dict__)
_CodeType = type(compile("", "", "exec"))
_STREAMS: list[Any] = []  # the child's own stdout/stderr, flushed before it reports "done"


def _flush(_streams: list[Any] = _STREAMS) -> None:
    for s in _streams:
        try:
            s.flush()
        except BaseException:  # noqa: BLE001, S110 - a full disk or closed stream loses output only
            pass


class TimeoutException(Exception):  # noqa: N818 - the name EvalPlus uses; an Exception, as there
    """Raised by SIGALRM when a unit exceeds its time limit."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise TimeoutException("Timed out!")


def apply_limits(limits: Limits) -> None:
    """Sets rlimits on the current (child) process."""
    mem = limits.memory_mb * 1024 * 1024
    for res, val in (
        (resource.RLIMIT_AS, mem),
        (resource.RLIMIT_DATA, mem),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * 1024 * 1024),
        (resource.RLIMIT_STACK, limits.stack_mb * 1024 * 1024),
        (resource.RLIMIT_CORE, 0),
    ):
        try:
            resource.setrlimit(res, (val, val))
        except (ValueError, OSError):
            pass
    if os.geteuid() != 0:  # root ignores RLIMIT_NPROC
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))
        except (ValueError, OSError):
            pass


Sender = Callable[[tuple[Any, ...]], None]


def _write_all(fd: int, data: bytes, _write: Callable[[int, memoryview], int] = os.write) -> None:
    buf = memoryview(data)
    while buf:
        buf = buf[_write(fd, buf) :]


def make_sender(
    fd: int,
    key: bytes,
    _getpid: Callable[[], int] = os.getpid,
    _exit: Callable[[int], Any] = os._exit,
    _dumps: Callable[..., bytes] = pickle.dumps,
    _mac: Callable[[bytes, bytes], bytes] = mac,
    _pack: Callable[[int], bytes] = HEADER.pack,
    _write: Callable[[int, bytes], None] = _write_all,
) -> Sender:
    """The child's frame writer: seals each message with the job's key.

    Only the child itself reports: a copy of it forked by the program (which could otherwise
    return normally from a failing test and report it as passed) is ended when it tries.
    """
    pid = _getpid()

    def send(msg: tuple[Any, ...]) -> None:
        if _getpid() != pid:
            _exit(0)
        payload = _dumps(msg, pickle.HIGHEST_PROTOCOL)
        sealed = _mac(key, payload) + payload
        _write(fd, _pack(len(sealed)) + sealed)

    return send


def _kind(e: BaseException, _isinstance: Callable[..., bool] = isinstance) -> str:
    if _isinstance(e, TimeoutException):
        return "timeout"
    if _isinstance(e, MemoryError):
        return "oom"
    return "error"


def _exec_program(
    code: str, _exec: Callable[..., None] = exec, _compile: Callable[..., Any] = compile
) -> dict[str, Any]:
    exec_globals: dict[str, Any] = {}  # as EvalPlus: no __name__, so `if __name__ == "__main__":` is skipped
    # dont_inherit: compile() would otherwise take this module's `from __future__ import annotations`,
    # and the program's annotations would never be evaluated (a `def f(x: List[int])` with no typing
    # import would load here but raise NameError under EvalPlus and plain Python).
    _exec(_compile(code, "<candidate>", "exec", dont_inherit=True), exec_globals)
    return exec_globals


def _call_prelude(prelude: str | None) -> None:
    if prelude:
        import importlib

        mod, _, attr = prelude.partition(":")
        getattr(importlib.import_module(mod), attr)()


def run_call_job(
    send: Sender,
    code: str,
    entry_point: str,
    inputs: list[Any],
    time_limits: tuple[float, ...],
    stop_on_fail: bool,
    prelude: str | None = None,
    _perf: Callable[[], float] = time.perf_counter,
    _cpu: Callable[[], float] = time.process_time,
    _timer: Callable[..., Any] = signal.setitimer,
    _dumps: Callable[..., bytes] = pickle.dumps,
    _exec_program: Callable[[str], dict[str, Any]] = _exec_program,
    _kind: Callable[[BaseException], str] = _kind,
) -> None:
    """Calls ``entry_point`` on each input; streams each output (pickled) or exception (with the CPU
    time the input took, which tells a program that was slow from one that was starved of CPU)."""
    signal.signal(signal.SIGALRM, _on_alarm)
    t0 = _perf()
    # A failure is reported after its handler ends: until then the traceback keeps the program's
    # frames (and, after a MemoryError, the memory it exhausted) alive, and sending could fail.
    failed: tuple[str, str] | None = None
    try:
        _call_prelude(prelude)
        fn = _exec_program(code)[entry_point]
    except BaseException as e:  # noqa: BLE001 - whatever the program does, it is a failure
        failed = (_kind(e), type(e).__name__)
    if failed is not None:
        send(("exc", -1, _perf() - t0, *failed))
        _flush()
        send(("done",))
        return
    for i, inp in enumerate(inputs):
        t, c = _perf(), _cpu()
        failed = None
        try:
            _timer(signal.ITIMER_REAL, time_limits[i])
            try:
                out = fn(*inp)
            finally:
                _timer(signal.ITIMER_REAL, 0)
            # Encoding the output is the harness's work, not the program's: like EvalPlus's comparison,
            # it runs outside the input's time limit (the run's overall limit still bounds it). Timed,
            # a large output near its limit (MBPP+'s combinations_colors) timed out only here.
            try:
                payload = _dumps(out, pickle.HIGHEST_PROTOCOL)
            except (TypeError, AttributeError, pickle.PicklingError):
                # A value that cannot leave the process (a re.Match, a generator): the supervisor gets
                # a marker that is not None and equals no expected output, which is all EvalPlus's
                # in-process comparison can conclude about it (MBPP's output-not-None tasks pass).
                payload = _dumps((UNPICKLABLE, type(out).__name__), pickle.HIGHEST_PROTOCOL)
        except BaseException as e:  # noqa: BLE001
            failed = (_kind(e), type(e).__name__)
        if failed is not None:
            send(("exc", i, _perf() - t, *failed, _cpu() - c))
            if stop_on_fail:
                break
            continue
        send(("ok", i, _perf() - t, payload))
    _flush()
    send(("done",))


#: First item of the tuple sent in place of an output that cannot be pickled.
UNPICKLABLE = "<rerankeval: an output that cannot be pickled>"

_BASES = (bool, int, float, complex, str, bytes, tuple, list, dict, set, frozenset)
_KEYS_VIEW: type = type({}.keys())
_ITEMS_VIEW: type = type({}.items())


def _as_builtin(
    v: Any, depth: int = 0, _type: type[type] = type, _isinstance: Callable[..., bool] = isinstance
) -> Any:
    """A value the supervisor can decode that compares with any literal as ``v`` does.

    Used when ``v`` cannot be pickled: an instance of a subclass of a built-in type (a namedtuple
    the test defines, say) compares as its base does once the guard has checked that its
    comparison methods are not the program's, and a dict's keys or items view compares as a set.
    """
    if depth > 200:
        raise RecursionError("value nested too deeply")
    if _isinstance(v, (_KEYS_VIEW, _ITEMS_VIEW)):
        return {_as_builtin(x, depth + 1) for x in v}
    for base in _BASES:
        if _isinstance(v, base):
            if base in (tuple, list, set, frozenset):
                return base(_as_builtin(x, depth + 1) for x in v)
            if base is dict:
                return {_as_builtin(k, depth + 1): _as_builtin(x, depth + 1) for k, x in v.items()}
            return v if _type(v) is base else base(v)
    if v is None:
        return None
    raise TypeError(f"cannot send a {_type(v).__name__}")


def make_reporter(
    send: Sender,
    i: int,
    _dumps: Callable[..., bytes] = pickle.dumps,
    _plain: Callable[[Any], Any] = _testguard.plain,
    _timeout: type[BaseException] = TimeoutException,
    _as_builtin: Callable[[Any], Any] = _as_builtin,
) -> Callable[[int, Any], None]:
    """``__rerankeval_report__(k, value)`` of test ``i``: sends a comparison's computed side.

    The supervisor compares it with the literal the test had (see :mod:`rerankeval.sandbox._outside`).
    A value whose comparison methods the program wrote raises, as the guard does in any test; a
    value that cannot be pickled is sent as None (it equals no literal).
    """

    def report(k: int, value: Any) -> None:
        _plain(value)
        payload: bytes | None = None
        for convert in (None, _as_builtin):
            try:
                payload = _dumps(value if convert is None else convert(value), pickle.HIGHEST_PROTOCOL)
                break
            except (_timeout, MemoryError, RecursionError):
                raise
            except Exception:  # noqa: BLE001, S112 - a generator, a lambda...: equal to no literal
                continue
        send(("val", i, k, payload))

    return report


def _run_one_test(
    compiled: Any,
    base: dict[str, Any],
    time_limit_s: float,
    report: Callable[[int, Any], None] | None = None,
    _exec: Callable[..., None] = exec,
    _dict: type[dict[str, Any]] = dict,
    _isinstance: Callable[..., bool] = isinstance,
    _timer: Callable[..., Any] = signal.setitimer,
    _plain: Callable[[Any], Any] = _testguard.plain,
    _settrace: Callable[[Any], None] = sys.settrace,
    _setprofile: Callable[[Any], None] = sys.setprofile,
    _gettrace: Callable[[], Any] = sys.gettrace,
    _getprofile: Callable[[], Any] = sys.getprofile,
) -> None:
    if not _isinstance(compiled, _CodeType):
        raise compiled  # the test did not compile (the exception the zygote got)
    g = _dict(base)
    g["__builtins__"] = _dict(_PRISTINE_BUILTINS)
    g[_testguard.GUARD] = _plain
    g[_REPORT] = report
    _settrace(None)
    _setprofile(None)
    _timer(signal.ITIMER_REAL, time_limit_s)
    try:
        _exec(compiled, g)
    finally:
        _timer(signal.ITIMER_REAL, 0)
    if _gettrace() is not None or _getprofile() is not None:
        raise RuntimeError("the program installed a trace or profile hook")


def run_tests_job(
    send: Sender,
    code: str,
    tests: list[Any],
    start: int,
    time_limit_s: float,
    _perf: Callable[[], float] = time.perf_counter,
    _cpu: Callable[[], float] = time.process_time,
    _timer: Callable[..., Any] = signal.setitimer,
    _run_one_test: Callable[..., None] = _run_one_test,
    _exec_program: Callable[[str], dict[str, Any]] = _exec_program,
    _kind: Callable[[BaseException], str] = _kind,
    _range: type[range] = range,
    _reporter: Callable[..., Callable[[int, Any], None]] = make_reporter,
) -> None:
    """Runs each compiled test (from ``start``) in a copy of the program's globals."""
    signal.signal(signal.SIGALRM, _on_alarm)
    t0 = _perf()
    failed: tuple[str, str] | None = None  # reported after the handler ends (see run_call_job)
    try:
        _timer(signal.ITIMER_REAL, max(time_limit_s, 1.0))
        try:
            base = _exec_program(code)
        finally:
            _timer(signal.ITIMER_REAL, 0)
    except BaseException as e:  # noqa: BLE001 - a program that does not load fails every test
        failed = (_kind(e), type(e).__name__)
    if failed is not None:
        send(("exc", -1, _perf() - t0, *failed))
        _flush()
        send(("done",))
        return
    for i in _range(start, len(tests)):
        t, c = _perf(), _cpu()
        failed = None
        try:
            _run_one_test(tests[i], base, time_limit_s, _reporter(send, i))
        except BaseException as e:  # noqa: BLE001
            failed = (_kind(e), type(e).__name__)
        if failed is not None:
            send(("exc", i, _perf() - t, *failed, _cpu() - c))
            continue
        send(("ok", i, _perf() - t, b""))
        if i % 32 == 31:
            gc.collect()
    _flush()
    send(("done",))


def _close_fds_except(keep: int) -> None:
    """Closes every inherited descriptor above stderr but the result pipe (the supervisor's channels)."""
    maxfd = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    maxfd = 65536 if maxfd == resource.RLIM_INFINITY or maxfd > 65536 else maxfd
    os.closerange(3, keep)
    os.closerange(keep + 1, maxfd)


def child_main(
    fd: int,
    workdir: str,
    limits: Limits,
    run: Callable[[Sender], None],
    key: bytes,
    isolate: Callable[[], None],
    seal: Callable[[], None],
) -> None:
    """Entry of the forked child: isolate, then run; always ends with ``os._exit``.

    Args:
        fd: Write end of the result pipe.
        workdir: The job's private working directory (stdout/stderr are captured there).
        limits: rlimits to apply.
        run: The job, called with the frame sender.
        key: The job's frame key.
        isolate: Joins the cgroup and drops privileges (before anything else).
        seal: Installs the system-call filter (last, just before ``run``).
    """
    code = 0
    try:
        isolate()
        os.setsid()
        os.chdir(workdir)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        out = os.open(os.path.join(workdir, ".stdout"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(os.path.join(workdir, ".stderr"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        _STREAMS[:] = [sys.stdout, sys.stderr]
        _close_fds_except(fd)
        os.environ["OMP_NUM_THREADS"] = "1"
        apply_limits(limits)
        seal()
        run(make_sender(fd, key))
    except BaseException:  # noqa: BLE001
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001, S110
            pass
        os._exit(code)
