"""Which isolation guarantees hold on this machine: reported by a real supervisor, and probed live.

:func:`guarantees` starts one supervisor (as every executor does) and turns the layers it managed
to set up into plain statements; :func:`probe` also runs small hostile programs through the
sandbox and checks from outside that each claimed protection really held.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rerankeval.sandbox.jobs import Limits, TestsJob
from rerankeval.sandbox.local import LocalExecutor, Slot


def features() -> dict[str, Any]:
    """The raw isolation layers a freshly started supervisor reports (see ``_isolation.Features``)."""
    slot = Slot(())
    try:
        slot.start()
        return dict(slot.features)
    finally:
        slot.close()


def describe(feat: Mapping[str, Any]) -> dict[str, bool | str]:
    """Plain statements from a supervisor's layers: True, False, or how the guarantee is provided."""
    pidns, netns, view = (
        bool(feat.get("pid_namespace")),
        bool(feat.get("net_namespace")),
        bool(feat.get("mount_view")),
    )
    seccomp, cgroup = bool(feat.get("seccomp")), str(feat.get("cgroup") or "")
    out: dict[str, bool | str] = {
        "verdicts_decided_outside_the_program": "checker-judged calls, and generated tests' comparisons "
        "with a literal (assert f(x) == y, assertEqual(f(x), y)); other test forms run in the program's "
        "process",
        "forged_results_rejected": "per-job keyed digest on every result frame; a program that reaches the "
        "runner's objects can still forge generated tests of other forms, and guess a literal it never sees",
        "expected_outputs_hidden_from_the_program": (
            "not in the program's memory (forked from a zygote that never holds them) nor on its file system "
            "(no home, caches or data sets in its view)"
            if view
            else False
        ),
        "host_files_hidden": (
            "only the system folders and the interpreter's code paths are visible: "
            + ", ".join(str(p) for p in feat.get("visible") or [])
            if view
            else False
        ),
        "untrusted_output_bounded": "restricted unpickler with bounded constructors; decoded and checked "
        "under a time limit",
        "rigged_comparisons_rejected": "restricted unpickler (calls) and guarded test comparisons (tests)",
        "rlimits": "address space, file size, stack, no core dumps",
        "read_only_filesystem": "mount namespace" if view else False,
        "private_tmp_and_dev": "tmpfs /tmp, /dev/shm and a minimal /dev, wiped after each job"
        if view
        else False,
        "no_network": "network namespace"
        if netns
        else ("seccomp: no connect(), Unix sockets only" if seccomp else False),
        "host_processes_invisible": (
            "PID namespace with its own /proc"
            if pidns and feat.get("private_proc")
            else "PID namespace"
            if pidns
            else False
        ),
        "cannot_signal_host_processes": "PID namespace"
        if pidns
        else ("seccomp signal fence" if seccomp else False),
        "background_processes_killed": (
            "PID namespace teardown" if pidns else f"cgroup {cgroup}" if cgroup else False
        ),
        "process_limit": (
            f"cgroup {cgroup} pids.max"
            if cgroup
            else f"pid_max {feat['pid_max']}"
            if feat.get("pid_max")
            else "RLIMIT_NPROC"
            if not feat.get("root")
            else False
        ),
        "total_memory_limit": f"cgroup {cgroup}" if cgroup else False,
        "capabilities_dropped": True
        if feat.get("drop_capabilities")
        else ("not needed (not root)" if not feat.get("root") else False),
        "system_call_filter": "seccomp" if seccomp else False,
        "ipc_isolated": "IPC namespace; what a job creates is removed when it ends"
        if feat.get("ipc_per_job")
        else ("IPC namespace per supervisor" if feat.get("ipc_namespace") else False),
    }
    for name, why in sorted(dict(feat.get("why") or {}).items()):
        out[f"why_not.{name}"] = str(why)
    return out


def guarantees() -> dict[str, bool | str]:
    """Which sandbox guarantees hold on this machine (starts one supervisor; about a second)."""
    return describe(features())


_PROBES = {
    "read_only_filesystem": (
        "import os\n"
        "for p in (CANARY, os.path.join(OUTSIDE, 'written')):\n"
        "    try:\n"
        "        os.remove(p) if p == CANARY else open(p, 'w').write('x')\n"
        "    except OSError:\n"
        "        continue\n"
        "    raise AssertionError('changed ' + p)\n"
    ),
    "no_network": (
        "import socket\n"
        "s = socket.socket()\n"
        "s.settimeout(1)\n"
        "try:\n"
        "    s.connect(('127.0.0.1', PORT))\n"
        "except OSError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('connected')\n"
    ),
    "cannot_signal_host_processes": (
        "import os\n"
        "try:\n"
        "    os.kill(HOST_PID, 0)\n"
        "except OSError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('reached the harness')\n"
    ),
    "host_files_hidden": (
        "import os\n"
        "for p in (CANARY, SECRET):\n"
        "    try:\n"
        "        open(p).read()\n"
        "    except OSError:\n"
        "        continue\n"
        "    raise AssertionError('read ' + p)\n"
    ),
    "ipc_isolated": (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "assert libc.shmget(SHM_KEY, 0, 0) == -1, 'saw the host segment'\n"
    ),
    "capabilities_dropped": (
        "import os\n"
        "for line in open('/proc/self/status'):\n"
        "    if line.startswith('CapEff:'):\n"
        "        assert int(line.split()[1], 16) == 0, line\n"
    ),
}


def probe() -> dict[str, bool]:
    """Runs hostile probes through a real supervisor; True where the protection held.

    Probes: deleting a canary file and writing next to it outside the job's directory; reading it,
    and a file in the home directory's cache; seeing a System V shared-memory segment of the host;
    connecting to a listening socket of this process; signalling this process; holding any capability.
    """
    outside = Path(tempfile.mkdtemp(prefix="rerankeval-probe-", dir=_outside_tmp()))
    canary = outside / "canary"
    canary.write_text("keep")
    secret_dir = Path.home() / ".cache" / "rerankeval"
    secret_dir.mkdir(parents=True, exist_ok=True)
    secret = Path(tempfile.mkstemp(prefix="probe-", dir=secret_dir)[1])
    secret.write_text("expected outputs")
    shm_key, shm_id = _host_segment()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    header = (
        f"CANARY = {str(canary)!r}\nOUTSIDE = {str(outside)!r}\nPORT = {listener.getsockname()[1]}\n"
        f"HOST_PID = {os.getpid()}\nSECRET = {str(secret)!r}\nSHM_KEY = {shm_key}\n"
    )
    names = list(_PROBES)
    job = TestsJob(code=header, tests=tuple(_PROBES[n] for n in names), time_limit_s=5.0, limits=Limits())
    try:
        with LocalExecutor(1) as ex:
            [(_, out)] = list(ex.run([job], {}))
        time.sleep(0.05)
        try:
            listener.accept()
            connected = True
        except BlockingIOError:
            connected = False
        result = {n: u.passed for n, u in zip(names, out.units, strict=True)}
        result["read_only_filesystem"] &= canary.exists() and not (outside / "written").exists()
        result["no_network"] &= not connected
        return result
    finally:
        listener.close()
        secret.unlink()
        if shm_id >= 0:
            _libc().shmctl(shm_id, 0, None)  # IPC_RMID
        for p in sorted(outside.rglob("*"), reverse=True):
            p.unlink()
        outside.rmdir()


def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _host_segment() -> tuple[int, int]:
    """A System V shared-memory segment of this process: (key, id), id -1 where none can be made."""
    key = 0x52650000 | (os.getpid() & 0xFFFF)
    try:
        return key, int(_libc().shmget(key, 4096, 0o1600))  # IPC_CREAT | 0600
    except OSError:
        return key, -1


def _outside_tmp() -> str:
    """A writable directory that is not the sandbox's private /tmp (so a write there would be real)."""
    for d in ("/var/tmp", str(Path.home()), tempfile.gettempdir()):
        if os.path.isdir(d) and os.access(d, os.W_OK):
            return d
    return tempfile.gettempdir()
