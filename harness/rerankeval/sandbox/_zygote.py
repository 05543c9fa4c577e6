"""The zygote: the process that forks every job's child, holding nothing a child could exploit.

The supervisor forks the zygote once, right after warming its imports and before it receives
any asset, so no expected output, checker or harness channel is ever in a child's memory: a child
cannot read the answers it is judged against. With a PID namespace the zygote is its PID 1 and
mounts the namespace's own ``/proc``; after each job it kills every process left in the namespace
(background processes included) and reaps them.

Protocol over a Unix socket (trusted frames, see :mod:`rerankeval.sandbox._protocol`):
supervisor -> zygote: ``("asset", key, value)``, ``("import", modules)``, ``("spawn", spec)`` with the
result pipe's write end attached, ``("exit",)``; zygote -> supervisor: ``("ready", features)``,
``("spawned", pid, key)`` with a pidfd of the child attached (when the kernel has pidfds), and
``("exited", returncode)``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import signal
import socket
import traceback
from typing import Any

from rerankeval.sandbox import _child, _isolation, _testguard
from rerankeval.sandbox._protocol import recv_with_fds, send_with_fds
from rerankeval.sandbox.jobs import Limits

_MAX_COMPILED = 20_000


class ZygoteDied(Exception):  # noqa: N818
    """The zygote is gone; the supervisor must be replaced."""


class Zygote:
    """Supervisor-side handle of the zygote process."""

    def __init__(self, feat: _isolation.Features, join_fds: list[int]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            ours.close()
            code = 0
            try:
                _main(theirs, feat, join_fds)
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
                code = 1
            os._exit(code)
        theirs.close()
        self.pid, self.sock = pid, ours
        msg, _ = self.recv()
        self.features: dict[str, Any] = msg[1]

    def send(self, msg: tuple[Any, ...], fds: list[int] | None = None) -> None:
        try:
            send_with_fds(self.sock, msg, fds or [])
        except OSError as e:
            raise ZygoteDied(str(e)) from None

    def recv(self) -> tuple[Any, list[int]]:
        try:
            return recv_with_fds(self.sock)
        except (EOFError, OSError) as e:
            raise ZygoteDied(str(e)) from None

    def spawn(self, spec: tuple[Any, ...], write_fd: int) -> tuple[int, bytes, int | None]:
        """Starts a child; returns (pid in the zygote's namespace, frame key, pidfd or None)."""
        self.send(("spawn", spec), [write_fd])
        msg, fds = self.recv()
        return msg[1], msg[2], (fds[0] if fds else None)

    def wait_exited(self) -> int | None:
        msg, _ = self.recv()
        return msg[1]  # type: ignore[no-any-return]

    def close(self) -> None:
        with contextlib.suppress(ZygoteDied):
            self.send(("exit",))
        self.sock.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _compile_tests(cache: dict[str, Any], tests: tuple[str, ...]) -> list[Any]:
    """Each test compiled with value guards (or the exception that compiling raised), memoized."""
    if len(cache) > _MAX_COMPILED:
        cache.clear()
    out = []
    for i, src in enumerate(tests):
        c = cache.get(src)
        if c is None:
            try:
                c = _testguard.harden(src, f"<test {i}>")
            except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as e:
                c = e
            cache[src] = c
        out.append(c)
    return out


def _child_target(spec: tuple[Any, ...], assets: dict[str, Any], compiled: dict[str, Any]) -> Any:
    kind = spec[0]
    if kind == "call":
        _, code, entry_point, inputs_key, time_limits, stop_on_fail, prelude = spec[:7]
        inputs = assets[inputs_key]
        return lambda send: _child.run_call_job(
            send, code, entry_point, inputs, time_limits, stop_on_fail, prelude
        )
    _, code, tests, start, time_limit_s = spec[:5]
    tests_c = _compile_tests(compiled, tests)
    return lambda send: _child.run_tests_job(send, code, tests_c, start, time_limit_s)


def _reap_all(pid: int, in_pid_namespace: bool) -> int | None:
    """Waits for the job's child, kills what it left behind, reaps everything; returns its exit code."""
    rc: int | None = None
    with contextlib.suppress(ChildProcessError):
        if hasattr(os, "waitid"):
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # a zombie still holds its process group id
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        if not hasattr(os, "waitid"):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
    if in_pid_namespace and os.getpid() == 1:
        with contextlib.suppress(OSError):
            os.kill(-1, signal.SIGKILL)  # as PID 1 of the namespace: every process but this one
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    return rc


def _end_job(pid: int, feat: _isolation.Features) -> int | None:
    rc = _reap_all(pid, feat.pid_namespace)
    _isolation.wipe_ipc(feat)  # after every process of the job is gone
    return rc


def _spawn(
    sock: socket.socket,
    feat: _isolation.Features,
    join_fds: list[int],
    spec: tuple[Any, ...],
    write_fd: int,
    assets: dict[str, Any],
    compiled: dict[str, Any],
) -> None:
    workdir, limits = spec[-2], spec[-1]
    assert isinstance(limits, Limits)
    target = _child_target(spec, assets, compiled)
    key = os.urandom(16)
    pid = os.fork()
    if pid == 0:
        sock.close()
        _child.child_main(
            write_fd,
            workdir,
            limits,
            target,
            key,
            lambda: _isolation.isolate_child(feat, join_fds),
            lambda: _isolation.install_filter(feat),
        )
    os.close(write_fd)
    fds: list[int] = []
    with contextlib.suppress(OSError, AttributeError):
        fds.append(os.pidfd_open(pid))
    send_with_fds(sock, ("spawned", pid, key), fds)
    for fd in fds:
        os.close(fd)
    send_with_fds(sock, ("exited", _end_job(pid, feat)), [])


def _main(sock: socket.socket, feat: _isolation.Features, join_fds: list[int]) -> None:
    keep = {sock.fileno(), *join_fds}
    for fd in range(3, 1024):  # drop the supervisor's channels and anything else inherited
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
    _isolation.setup_zygote(feat)
    gc.freeze()  # what every child inherits: its collections never walk (and copy) these pages
    send_with_fds(sock, ("ready", feat.to_dict()), [])
    assets: dict[str, Any] = {}
    compiled: dict[str, Any] = {}
    while True:
        try:
            msg, fds = recv_with_fds(sock)
        except EOFError:
            return
        if msg[0] == "exit":
            return
        if msg[0] == "asset":
            assets[msg[1]] = msg[2]
        elif msg[0] == "import":
            for m in msg[1]:
                with contextlib.suppress(Exception):
                    importlib.import_module(m)
            gc.freeze()
        elif msg[0] == "spawn":
            _spawn(sock, feat, join_fds, msg[1], fds[0], assets, compiled)
