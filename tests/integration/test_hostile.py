"""Hostile programs and hostile generated tests: every one ends as a non-pass, and the host is intact.

Each case runs three ways through the real sandbox: as a candidate judged by a checker
(:class:`CallJob`), as a candidate against a test (:class:`TestsJob`), and as a generated *test*
against a correct candidate. After each, the test checks from outside that the canary file
outside the job's directory is untouched, nothing was written there or to the host's /tmp, no
connection reached this process's listening socket, no process the program started is alive,
this process's parent is the same, and the sandbox still judges an honest program correctly.

Cases that need an operating-system guarantee (a read-only view, a network namespace, a process
limit...) are skipped, naming it, where ``LocalExecutor.guarantees()`` says it does not hold.
Cases that signal every process (``kill(-1, SIGKILL)``) or this test process run only after a
probe confirmed, from inside the sandbox, that no process outside the job is reachable.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rerankeval.core.types import ProgramOutcome
from rerankeval.sandbox import CallJob, CheckerRef, Limits, LocalExecutor
from rerankeval.sandbox import TestsJob as TJob  # (a name pytest does not try to collect)

MARK = f"rvhostile{os.getpid()}x{int(time.time())}"
IMPORTS = "import os, sys, signal, socket, subprocess, time\n"
CORRECT = "def f(x):\n    return x + 1\n"
INPUTS, EXPECTED = [[1], [2], [3]], [2, 3, 4]
SIGNALS = "cannot_signal_host_processes"


@dataclass(frozen=True)
class Case:
    """A hostile behaviour; ``action`` is valid both inside ``f`` and at a test's top level."""

    name: str
    action: str = ""
    candidate: str | None = None  # a whole hostile program (default: ``f`` runs ``action``, answers wrong)
    test: str | None = None  # a whole hostile test (default: ``action`` then a wrong assertion)
    needs: tuple[str, ...] = ()
    slow: bool = False
    modes: tuple[str, ...] = ("call", "candidate", "test")
    limits: Limits = field(default_factory=lambda: Limits(memory_mb=1024, file_size_mb=8, max_processes=64))

    def program(self) -> str:
        if self.candidate is not None:
            return IMPORTS + self.candidate
        return IMPORTS + "def f(x):\n" + textwrap.indent(self.action, "    ") + "\n    return x - 1\n"

    def test_source(self) -> str:
        return self.test if self.test is not None else IMPORTS + self.action + "\nassert f(1) == 5\n"


FORGE = """\
import pickle, struct
for fd in range(3, 256):
    for i in range(-1, 10):
        for msg in (("ok", i, 0.0, pickle.dumps(i + 2)), ("done",)):
            p = pickle.dumps(msg)
            try:
                os.write(fd, struct.pack("<Q", len(p) + 16) + bytes(16) + p)
            except OSError:
                pass
os._exit(0)"""

TRACE = """\
def _jump(frame, event, arg):
    if event == "line" and frame.f_code.co_filename.startswith("<test"):
        try:
            frame.f_lineno = frame.f_lineno + 1
        except ValueError:
            pass
    return _jump
sys.settrace(_jump)
sys._getframe().f_trace = _jump"""

PATCH = """\
import builtins, pickle
_real_compile = compile
builtins.exec = lambda *a, **k: None
builtins.compile = lambda *a, **k: _real_compile("pass", "x", "exec")
builtins.AssertionError = type("AssertionError", (Exception,), {})
builtins.isinstance = lambda *a: True
builtins.len = lambda *a: 0
_child = sys.modules["rerankeval.sandbox._child"]
for _name in ("_run_one_test", "run_tests_job", "run_call_job", "_exec_program", "make_sender", "_kind"):
    setattr(_child, _name, lambda *a, **k: None)
pickle.dumps = lambda *a, **k: b""
os.write = lambda fd, data: len(data)
signal.setitimer = lambda *a, **k: (0.0, 0.0)"""

FRAME_FORGE = """\
_fr = sys._getframe()
while _fr is not None and _fr.f_code.co_name not in ("run_tests_job", "run_call_job"):
    _fr = _fr.f_back
if _fr is not None:  # the runner's own sender, reached without ctypes: report every unit as passed
    _send = _fr.f_locals["send"]
    for _i in range(4):
        _send(("ok", _i, 0.0, __import__("pickle").dumps(_i + 7)))
        _send(("val", _i, 0, __import__("pickle").dumps(_i + 7)))
    _send(("done",))
    os._exit(0)"""

WRITE = """\
for _do in (lambda: os.remove(CANARY), lambda: open(os.path.join(OUTSIDE, "pwned"), "w").write("x"),
            lambda: __import__("shutil").rmtree(OUTSIDE), lambda: open("/tmp/" + MARK, "w").write("x")):
    try:
        _do()
    except OSError:
        pass"""

BACKGROUND = """\
_sleeper = [sys.executable, "-c", "import time; time.sleep(60)", MARK]
subprocess.Popen(_sleeper, start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, _sleeper)
    os._exit(0)"""

CASES = [
    Case(
        "sys_exit_before_checks",
        candidate="sys.exit(0)\n" + CORRECT,
        test=IMPORTS + "sys.exit(0)\nassert f(1) == 5\n",
    ),
    Case(
        "os_exit_before_checks",
        candidate="os._exit(0)\n" + CORRECT,
        test=IMPORTS + "os._exit(0)\nassert f(1) == 5\n",
    ),
    Case("exit0_in_call", "sys.exit(0)"),
    Case("os_exit0_in_call", "os._exit(0)"),
    Case("kill_parent", "os.kill(os.getppid(), signal.SIGKILL)"),
    Case("signal_harness", "os.kill(HOST_PID, signal.SIGTERM)", needs=(SIGNALS,)),
    Case("kill_every_process", "os.kill(-1, signal.SIGKILL)", needs=(SIGNALS,)),
    Case(
        "fork_bomb",
        "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        needs=("process_limit",),
        slow=True,
    ),
    Case(
        "memory_bomb",
        "_hog = []\nwhile True:\n    _hog.append(bytearray(32 * 1024 * 1024))",
        limits=Limits(memory_mb=256, file_size_mb=8, max_processes=64),
    ),
    Case(
        "fork_and_memory_bomb",
        "for _ in range(4):\n    os.fork()\n_hog = bytearray(400 * 1024 * 1024)\ntime.sleep(30)",
        needs=("total_memory_limit", "process_limit"),
        slow=True,
    ),
    Case(
        "deep_recursion",
        "sys.setrecursionlimit(10**6)\ndef _r(n):\n    return _r(n + 1)\n_r(0)",
        limits=Limits(memory_mb=512, file_size_mb=8, max_processes=64),
        slow=True,
    ),
    Case("infinite_loop", "while True:\n    pass"),
    Case(
        "swallow_timeouts",
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except BaseException:\n        pass",
        slow=True,
    ),
    Case("stdout_flood", "while True:\n    sys.stdout.write('x' * 65536)"),
    Case("stderr_flood", "while True:\n    sys.stderr.write('x' * 65536)"),
    Case("write_outside_workdir", WRITE, needs=("read_only_filesystem",)),
    Case(
        "network_connection",
        "_s = socket.socket()\n_s.settimeout(1)\ntry:\n    _s.connect(('127.0.0.1', PORT))\n"
        "    _s.sendall(b'pwned')\nexcept OSError:\n    pass",
        needs=("no_network",),
    ),
    Case(
        "eq_always_true",
        candidate="class A:\n    def __eq__(self, o):\n        return True\n    __hash__ = object.__hash__\n"
        "def f(x):\n    return A()\n",
        test=IMPORTS + "class A:\n    def __eq__(self, o):\n        return True\nassert f(1) == A()\n",
    ),
    Case(
        "int_subclass_eq_true",
        candidate="class A(int):\n    def __eq__(self, o):\n        return True\n"
        "    __hash__ = int.__hash__\n"
        "def f(x):\n    return A(0)\n",
        test=IMPORTS + "class A(int):\n    def __eq__(self, o):\n        return True\nassert A(0) == f(1)\n",
    ),
    Case(
        "list_of_rigged_objects",
        candidate="class A:\n    def __eq__(self, o):\n        return True\ndef f(x):\n    return [A()]\n",
        test=IMPORTS + "class A:\n    def __eq__(self, o):\n        return True\nassert [A()] == [f(1)]\n",
    ),
    Case("monkeypatch_builtins_and_harness", PATCH),
    Case("trace_hook_skips_asserts", TRACE),
    Case("forge_result_frames", FORGE),
    Case("forge_through_frame_stack", FRAME_FORGE),
    Case(
        "forked_copy_reports_pass",
        candidate="def f(x):\n    if os.fork() == 0:\n        return x + 1\n"
        "    os.wait()\n    return x - 1\n",
        test=IMPORTS + "_pid = os.fork()\nif _pid:\n    os.waitpid(_pid, 0)\n    assert f(1) == 5\n",
    ),
    Case(
        "read_expected_outputs",
        candidate="import gc\ndef f(x):\n    for o in gc.get_objects():\n"
        "        if type(o) is dict and type(o.get('expected')) is list:\n"
        "            return o['expected'][x - 1]\n    return -1\n",
        modes=("call",),
    ),
    Case(
        "catch_base_exception_around_asserts",
        candidate="def f(x):\n    try:\n        assert False\n"
        "    except BaseException:\n        return x - 1\n",
        test=IMPORTS + "try:\n    assert f(1) == 5\nexcept BaseException:\n    pass\n",
    ),
    Case("background_processes", BACKGROUND, needs=("background_processes_killed",)),
]


class Host:
    """What the hostile program may target, and the checks that it was not harmed."""

    def __init__(self) -> None:
        base = "/var/tmp" if os.access("/var/tmp", os.W_OK) else tempfile.gettempdir()
        self.outside = Path(tempfile.mkdtemp(prefix="rerankeval-hostile-", dir=base))
        self.canary = self.outside / "canary"
        self.canary.write_text("keep")
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.setblocking(False)
        self.ppid = os.getppid()
        self.header = (
            f"CANARY = {str(self.canary)!r}\nOUTSIDE = {str(self.outside)!r}\nMARK = {MARK!r}\n"
            f"PORT = {self.listener.getsockname()[1]}\nHOST_PID = {os.getpid()}\n"
        )

    def leftovers(self) -> list[int]:
        found = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if MARK.encode() in (d / "cmdline").read_bytes():
                        found.append(int(d.name))
                except OSError:
                    continue
        return found

    def assert_intact(self) -> None:
        assert self.canary.read_text() == "keep"
        assert sorted(p.name for p in self.outside.iterdir()) == ["canary"]
        assert not Path(tempfile.gettempdir(), MARK).exists() and not Path("/tmp", MARK).exists()
        with pytest.raises(BlockingIOError):
            self.listener.accept()
        assert os.getppid() == self.ppid
        deadline = time.monotonic() + 3
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.leftovers() == []

    def close(self) -> None:
        for pid in self.leftovers():  # only processes this test's programs started (they carry MARK)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.listener.close()
        for p in self.outside.iterdir():
            p.unlink() if p.is_file() else None
        self.outside.rmdir()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalExecutor]:
    with LocalExecutor(parallel=1) as ex:
        yield ex


@pytest.fixture(scope="module")
def held(sandbox: LocalExecutor) -> dict[str, bool | str]:
    return sandbox.guarantees()


@pytest.fixture
def host() -> Iterator[Host]:
    h = Host()
    yield h
    h.close()


def _one(
    sandbox: LocalExecutor, job: CallJob | TJob, assets: dict[str, object] | None = None
) -> ProgramOutcome:
    [(_, out)] = list(sandbox.run([job], assets or {}))
    return out


def _call_job(code: str, limits: Limits) -> tuple[CallJob, dict[str, object]]:
    job = CallJob(
        code=code,
        entry_point="f",
        inputs_key="in",
        time_limits=(0.5,) * 3,
        overall_timeout_s=1.5,
        checker=CheckerRef("sandbox_checkers:expect", "chk"),
        limits=limits,
    )
    return job, {"in": INPUTS, "chk": {"expected": EXPECTED}}


def _passed(out: ProgramOutcome, n: int) -> bool:
    return out.completed and len(out.units) == n and all(u.passed for u in out.units)


def _signals_contained(sandbox: LocalExecutor, host: Host) -> None:
    """From inside the sandbox: no process but the job's own answers a signal. Fails loudly otherwise."""
    probe = (
        "try:\n    os.kill(-1, 0)\nexcept OSError:\n    pass\n"
        "else:\n    raise AssertionError('kill(-1) reached')\n"
        # in a PID namespace the same number is another process
        "if HOST_PID not in (os.getpid(), os.getppid()):\n"
        "    try:\n        os.kill(HOST_PID, 0)\n    except OSError:\n        pass\n"
        "    else:\n        raise AssertionError('reached host')\n"
    )
    out = _one(sandbox, TJob(code=host.header + IMPORTS + CORRECT, tests=(probe,), time_limit_s=2.0))
    assert out.units and out.units[0].passed, f"signals are NOT contained here: {out.units}"


def _params() -> list[object]:
    out = []
    for case in CASES:
        for mode in case.modes:
            marks = [pytest.mark.slow] if case.slow else []
            out.append(pytest.param(case, mode, id=f"{case.name}-{mode}", marks=marks))
    return out


@pytest.mark.parametrize(("case", "mode"), _params())
def test_hostile_program_never_passes_and_host_is_intact(
    case: Case, mode: str, sandbox: LocalExecutor, held: dict[str, bool | str], host: Host
) -> None:
    for need in case.needs:
        if held.get(need) is False:
            why = "; ".join(f"{k[8:]}: {v}" for k, v in held.items() if k.startswith("why_not."))
            pytest.skip(f"guarantee '{need}' does not hold here ({why})")
    if SIGNALS in case.needs:
        _signals_contained(sandbox, host)
    if mode == "call":
        job, assets = _call_job(host.header + case.program(), case.limits)
        out = _one(sandbox, job, assets)
        assert not _passed(out, len(INPUTS)), out
    elif mode == "candidate":
        job2 = TJob(
            code=host.header + case.program(),
            tests=("assert f(1) == 2",),
            time_limit_s=0.5,
            limits=case.limits,
            grace_s=0.3,
        )
        out = _one(sandbox, job2)
        assert not any(u.passed for u in out.units), out
    else:
        job2 = TJob(
            code=host.header + IMPORTS + CORRECT,
            tests=(case.test_source(),),
            time_limit_s=0.5,
            limits=case.limits,
            grace_s=0.3,
        )
        out = _one(sandbox, job2)
        assert len(out.units) == 1 and not out.units[0].passed, out
    host.assert_intact()
    if mode == "call":  # the sandbox still judges an honest program (later cases would notice too)
        honest, assets = _call_job(IMPORTS + CORRECT, Limits())
        assert _passed(_one(sandbox, honest, assets), len(INPUTS))


def test_honest_programs_still_pass_every_way(sandbox: LocalExecutor) -> None:
    job, assets = _call_job(IMPORTS + CORRECT, Limits())
    assert _passed(_one(sandbox, job, assets), 3)
    tests = (
        "assert f(1) == 2",
        "assert [f(0)] * 2 == [1, 1] and not f(-1)",
        "assert f(2) in {3, 4}",
        "import unittest\nclass T(unittest.TestCase):\n"
        "    def test_a(self):\n        self.assertEqual(f(1), 2)\n"
        "r = unittest.TextTestRunner(stream=__import__('io').StringIO()).run("
        "unittest.defaultTestLoader.loadTestsFromTestCase(T))\nassert r.wasSuccessful()\n",
        "from collections import namedtuple\nP = namedtuple('P', 'a b')\nassert P(f(0), 2) == (1, 2)\n",
    )
    out = _one(sandbox, TJob(code=IMPORTS + CORRECT, tests=tests, time_limit_s=2.0))
    assert [u.status for u in out.units] == ["pass"] * len(tests), out.units


def test_running_out_of_memory_is_reported_and_the_run_goes_on(sandbox: LocalExecutor) -> None:
    # Millions of small objects fill every allocator arena; the MemoryError's traceback still holds
    # them while the exception is handled, so a report sent from the handler would itself run out of
    # memory and the child would die silently (read as a hang: EvalPlus's status is `fail` there).
    hog = "    hog = []\n    while True:\n        hog.append(len(hog) * 7)\n"
    limits = Limits(memory_mb=384, file_size_mb=8, max_processes=64)
    code = (
        IMPORTS
        + "def f(x):\n    if x == 1:\n    "
        + hog.replace("\n    ", "\n        ")
        + "    return x + 1\n"
    )
    assets = {"in": INPUTS, "chk": {"expected": EXPECTED}}
    in_call = CallJob(
        code=code,
        entry_point="f",
        inputs_key="in",
        time_limits=(10.0,) * 3,
        overall_timeout_s=30.0,
        checker=CheckerRef("sandbox_checkers:expect", "chk"),
        limits=limits,
        stop_on_fail=False,
    )
    out = _one(sandbox, in_call, assets)
    assert out.completed, out
    assert [u.status for u in out.units] == ["oom", "pass", "pass"], out.units
    at_load = dataclasses.replace(in_call, code=IMPORTS + CORRECT + "def _load():\n" + hog + "_load()\n")
    out = _one(sandbox, at_load, assets)
    assert out.completed and out.units == (), out
    out = _one(
        sandbox,
        TJob(
            code=IMPORTS + CORRECT,
            tests=("def _t():\n" + hog + "_t()", "assert f(1) == 2"),
            time_limit_s=5.0,
            limits=limits,
        ),
    )
    assert out.completed and [u.status for u in out.units] == ["oom", "pass"], out.units


FALLBACKS = {  # layers switched off (RERANKEVAL_SANDBOX_DISABLE), as on machines that lack them
    "user_namespace_instead_of_root": "root_namespaces",
    "seccomp_and_cgroup_only": "root_namespaces,user_namespace",
    "no_os_layers": "root_namespaces,user_namespace,cgroup,seccomp",
}
FALLBACK_CASES = (
    "kill_every_process",
    "signal_harness",
    "write_outside_workdir",
    "network_connection",
    "background_processes",
    "eq_always_true",
    "forge_result_frames",
    "read_expected_outputs",
    "forked_copy_reports_pass",
    "kill_parent",
)


@pytest.fixture(scope="module", params=list(FALLBACKS))
def fallback(request: pytest.FixtureRequest) -> Iterator[tuple[LocalExecutor, dict[str, bool | str]]]:
    with LocalExecutor(parallel=1) as ex:
        for slot in ex._slots:
            slot.extra_env = {"RERANKEVAL_SANDBOX_DISABLE": FALLBACKS[request.param]}
        yield ex, ex.guarantees()


@pytest.mark.slow
@pytest.mark.parametrize("name", FALLBACK_CASES)
def test_with_fewer_layers_hostile_programs_still_never_pass(name: str, fallback: tuple, host: Host) -> None:
    """Where a layer is missing its guarantee is reported False and its cases are skipped; the rest hold."""
    sandbox, held = fallback
    case = next(c for c in CASES if c.name == name)
    test_hostile_program_never_passes_and_host_is_intact(case, "call", sandbox, held, host)
    test_hostile_program_never_passes_and_host_is_intact(case, "test", sandbox, held, host)
