"""Operating-system isolation of the sandbox: detected and set up once per supervisor.

Layers, each used where the kernel and privileges allow (see :func:`setup_supervisor`):

* **mount view** (mount namespace and ``chroot``): a new root that holds only the system
  directories (:data:`SYSTEM_DIRS`), ``/proc`` and the interpreter's code paths, read-only and
  ``nosuid`` (no home directory, caches, data sets or run directories); a private tmpfs on ``/tmp``
  (the job's working directories; wiped after every job) and a private ``/dev`` holding only
  ``null``, ``zero``, ``full``, ``random``, ``urandom`` and a tmpfs ``shm``;
* **network** (network namespace): only a loopback interface that is down: nothing to connect to;
* **IPC** (IPC namespace): no access to the host's System V shared memory, queues or semaphores,
  and what a job creates is removed when it ends (:func:`wipe_ipc`), so no job sees another's;
* **processes** (PID namespace): jobs run under a *zygote* that is PID 1 of a namespace of its
  own, with its own ``/proc``; a job sees and can signal only its own processes, and everything
  it started is killed when it ends; the namespace's ``pid_max`` bounds a fork bomb;
* **capabilities**: a child running as root (or as root of a user namespace) drops every
  capability for good before the program runs, so it cannot remount, load modules, reboot, or
  undo any of the above;
* **seccomp** (x86_64): kernel-administration calls, ``ptrace`` and ``connect`` are refused;
  without a PID namespace, signals may only target the job itself; without a network namespace,
  only Unix sockets can be created;
* **cgroup** (v1 or v2, when writable): a job's total memory and process count are capped.

rlimits (address space, file size, stack, core dumps; process count for non-root users) always apply.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Any

from rerankeval.sandbox import _linux
from rerankeval.sandbox._cgroup import JobCgroup

TMP_ROOT = "/tmp"
TMP_SIZE = "512m"
SHM_SIZE = "64m"
PID_MAX = 301  # the smallest value Linux accepts: at most ~300 processes per job
_DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9)}
#: Environment variable listing layers to leave off (comma-separated names of :class:`Features`
#: fields, e.g. ``pid_namespace,seccomp``), to test the fallbacks or work around a broken kernel.
DISABLE_ENV = "RERANKEVAL_SANDBOX_DISABLE"


@dataclass
class Features:
    """What a supervisor managed to set up; sent to the harness and reported by ``guarantees()``."""

    root: bool = False
    user_namespace: bool = False
    mount_view: bool = False
    net_namespace: bool = False
    ipc_namespace: bool = False
    pid_namespace: bool = False
    private_proc: bool = False
    pid_max: int = 0
    cgroup: str = ""
    drop_capabilities: bool = False
    seccomp: bool = False
    tmp_kept: list[str] = field(default_factory=list)  # host paths under /tmp kept visible (read-only)
    visible: list[str] = field(default_factory=list)  # everything of the host a program sees
    ipc_per_job: bool = False
    why: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _disabled() -> set[str]:
    return {x.strip() for x in os.environ.get(DISABLE_ENV, "").split(",") if x.strip()}


def _try(feat: Features, name: str, fn: Any, *args: Any) -> bool:
    if name in _disabled():
        feat.why[name] = f"disabled by {DISABLE_ENV}"
        return False
    try:
        fn(*args)
    except (OSError, ValueError) as e:
        feat.why[name] = str(e)
        return False
    return True


def _need_pidfd() -> None:
    """A job in a PID namespace is killed through a pidfd (Linux 5.3+)."""
    if not hasattr(os, "pidfd_open"):
        raise OSError("pidfd_open is not available")
    os.close(os.pidfd_open(os.getpid()))


def _enter_user_namespace() -> None:
    uid, gid = os.geteuid(), os.getegid()
    _linux.unshare(_linux.CLONE_NEWUSER)
    for path, text in (
        ("/proc/self/setgroups", "deny"),
        ("/proc/self/uid_map", f"0 {uid} 1"),
        ("/proc/self/gid_map", f"0 {gid} 1"),
    ):
        with open(path, "w") as f:
            f.write(text)


def _build_dev(in_userns: bool, root: str) -> None:
    stage = os.path.join(root + TMP_ROOT, ".rerankeval-dev")
    os.mkdir(stage, 0o755)
    _linux.mount("tmpfs", stage, "tmpfs", _linux.MS_NOSUID | _linux.MS_NOEXEC, "mode=755,size=1m")
    for name, (major, minor) in _DEVICES.items():
        path = os.path.join(stage, name)
        if in_userns:  # mknod needs a capability of the initial namespace: bind the host's node
            open(path, "w").close()
            _linux.mount(f"/dev/{name}", path, None, _linux.MS_BIND)
            _linux.mount_setattr(
                path,
                _linux.MOUNT_ATTR_NOSUID,
                _linux.MOUNT_ATTR_NODEV | _linux.MOUNT_ATTR_RDONLY,
                recursive=False,
            )
        else:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
            os.chmod(path, 0o666)
    os.mkdir(os.path.join(stage, "shm"), 0o1777)
    _linux.mount(
        "tmpfs",
        os.path.join(stage, "shm"),
        "tmpfs",
        _linux.MS_NOSUID | _linux.MS_NODEV,
        f"mode=1777,size={SHM_SIZE}",
    )
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, os.path.join(stage, name))
    _linux.mount(stage, root + "/dev", None, _linux.MS_MOVE)
    _linux.mount_setattr(root + "/dev", _linux.MOUNT_ATTR_RDONLY, recursive=False)
    os.rmdir(stage)


#: Host directories every program sees (read-only): what the interpreter and its libraries need.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")


def _under(path: str, roots: list[str] | tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def code_paths(modules: tuple[str, ...] = ()) -> list[str]:
    """Host paths a job's interpreter imports from, outside the system directories.

    The interpreter's prefixes, every ``sys.path`` entry, the packages of ``modules`` (and of
    rerankeval) wherever they are installed, and the folders an editable install maps its
    packages to (setuptools' ``__editable__`` finders put no entry on ``sys.path``). Computed
    before the view is built, while the host's file system is still visible.
    """
    import importlib.util

    found: set[str] = set()

    def add(p: object) -> None:
        if isinstance(p, str) and p and os.path.isabs(p) and os.path.exists(p):
            real = os.path.realpath(p)
            if real != os.sep:
                found.add(real)

    for p in (*sys.path, sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)):
        add(p)
    for name in {m.partition(".")[0] for m in (*modules, "rerankeval")}:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None:
            for loc in spec.submodule_search_locations or ():
                add(loc)
            if spec.origin and os.path.isabs(spec.origin):
                add(os.path.dirname(spec.origin))
    for mod_name, mod in list(sys.modules.items()):
        mapping = getattr(mod, "MAPPING", None) if mod_name.startswith("__editable__") else None
        if isinstance(mapping, dict):
            for loc in mapping.values():
                add(loc)
    system = [os.path.realpath(d) for d in SYSTEM_DIRS if os.path.isdir(d)]
    kept = sorted(p for p in found if not _under(p, system))
    return [p for p in kept if not any(p != q and _under(p, [q]) for q in kept)]


def _bind(fd: int, target: str, ro: int) -> None:
    if os.path.isdir(f"/proc/self/fd/{fd}"):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _linux.mount(f"/proc/self/fd/{fd}", target, None, _linux.MS_BIND | _linux.MS_REC)
    _linux.mount_setattr(target, ro, recursive=True)


def _make_view(in_userns: bool, feat: Features, keep: list[str]) -> None:
    """A new root holding only what the interpreter needs, read-only; a private /tmp and /dev.

    The root is a tmpfs (staged on ``/tmp``) into which the system directories (:data:`SYSTEM_DIRS`),
    ``/proc`` and the code paths ``keep`` are bind-mounted read-only at their own paths; the home
    directory, caches, data sets and run directories are simply absent. ``/tmp`` inside it is a
    fresh tmpfs (the jobs' working directories, wiped after every job); code paths below ``/tmp``
    (a virtual environment there, say) are bound inside it. The supervisor then ``chroot``s into
    it, so the zygote and every child see this view only.
    """
    _linux.mount(None, "/", None, _linux.MS_REC | _linux.MS_PRIVATE)
    ro = _linux.MOUNT_ATTR_RDONLY | _linux.MOUNT_ATTR_NOSUID | _linux.MOUNT_ATTR_NODEV
    tmp = os.path.realpath(TMP_ROOT)
    system = [d for d in SYSTEM_DIRS if os.path.lexists(d)]
    fds = {p: os.open(p, os.O_PATH) for p in (*[d for d in system if not os.path.islink(d)], "/proc", *keep)}
    root = TMP_ROOT
    _linux.mount("tmpfs", root, "tmpfs", _linux.MS_NOSUID | _linux.MS_NODEV, "mode=755,size=8m")
    try:
        _populate_root(root, tmp, system, fds, ro)
        _build_dev(in_userns, root)
    except BaseException:
        with contextlib.suppress(OSError):
            _linux.umount(root)  # never half-applied: the host's /tmp is back
        raise
    finally:
        for fd in fds.values():
            os.close(fd)
    feat.tmp_kept = sorted(p for p in keep if _under(p, [tmp]))
    feat.visible = sorted([*system, "/proc", "/dev (minimal)", "/tmp (private)", *keep])
    os.chroot(root)
    os.chdir("/")
    os.environ["TMPDIR"] = TMP_ROOT
    tempfile.tempdir = None


def _populate_root(root: str, tmp: str, system: list[str], fds: dict[str, int], ro: int) -> None:
    for d in ("tmp", "dev", "proc"):
        os.mkdir(os.path.join(root, d), 0o755)
    for d in system:
        if os.path.islink(d):
            os.symlink(os.readlink(d), root + d)
    for p, fd in fds.items():
        if not _under(p, [tmp]):
            _bind(fd, root + p, ro)
    _linux.mount_setattr(root, ro, recursive=True)
    _linux.mount(
        "tmpfs", root + TMP_ROOT, "tmpfs", _linux.MS_NOSUID | _linux.MS_NODEV, f"mode=1777,size={TMP_SIZE}"
    )
    for p, fd in fds.items():
        if _under(p, [tmp]):
            _bind(fd, root + TMP_ROOT + p[len(tmp) :], ro)


def setup_supervisor(keep: list[str] | None = None) -> tuple[Features, JobCgroup | None]:
    """Enters the supervisor's namespaces and builds its view; returns what holds.

    Called once, in the supervisor process, before any job and while it is still single-threaded
    (a user namespace cannot be entered once a library has started threads); a layer that fails
    is recorded in ``Features.why`` and left off, never half-applied.
    """
    feat = Features(root=os.geteuid() == 0)
    cgroup = None
    if "cgroup" in _disabled():
        feat.why["cgroup"] = f"disabled by {DISABLE_ENV}"
    elif feat.root:
        cgroup = JobCgroup.create()
        feat.cgroup = f"v{cgroup.version}" if cgroup else ""
        if cgroup is None:
            feat.why["cgroup"] = "no writable pids+memory cgroup found"
    else:
        feat.why["cgroup"] = "not root"
    use_userns = not feat.root or "root_namespaces" in _disabled()
    if use_userns:
        feat.user_namespace = _try(feat, "user_namespace", _enter_user_namespace)
    privileged = feat.root and not use_userns or feat.user_namespace
    if privileged:
        if _try(feat, "mount_view", _linux.unshare, _linux.CLONE_NEWNS):
            feat.mount_view = _try(
                feat,
                "mount_view",
                _make_view,
                feat.user_namespace,
                feat,
                code_paths() if keep is None else keep,
            )
        feat.net_namespace = _try(feat, "net_namespace", _linux.unshare, _linux.CLONE_NEWNET)
        feat.ipc_namespace = _try(feat, "ipc_namespace", _linux.unshare, _linux.CLONE_NEWIPC)
        feat.ipc_per_job = feat.ipc_namespace
    else:
        for name in ("mount_view", "net_namespace", "ipc_namespace", "pid_namespace"):
            feat.why.setdefault(name, "needs root or an unprivileged user namespace")
    feat.drop_capabilities = feat.root or feat.user_namespace
    feat.seccomp = _linux.seccomp_supported() and "seccomp" not in _disabled()
    if not feat.seccomp:
        feat.why["seccomp"] = (
            f"disabled by {DISABLE_ENV}" if "seccomp" in _disabled() else "filters are built for x86_64 only"
        )
    with contextlib.suppress(OSError):
        _linux.prctl(_linux.PR_SET_DUMPABLE, 0)  # no ptrace or /proc/<pid>/mem access to us
    return feat, cgroup


def enter_pid_namespace(feat: Features) -> None:
    """Makes the next child (the zygote) PID 1 of a new namespace.

    Called last, after the warm imports: once done, this process can no longer start threads.
    """
    if feat.root and "root_namespaces" not in _disabled() or feat.user_namespace:
        feat.pid_namespace = _try(feat, "pid_namespace", _need_pidfd) and _try(
            feat, "pid_namespace", _linux.unshare, _linux.CLONE_NEWPID
        )


def setup_zygote(feat: Features) -> None:
    """Runs in the zygote (PID 1 of the jobs' namespace): private /proc and pid_max."""
    with contextlib.suppress(OSError):
        _linux.prctl(_linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        _linux.prctl(_linux.PR_SET_DUMPABLE, 0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_IGN)
    if not feat.pid_namespace:
        return
    if os.getpid() != 1:
        raise RuntimeError("the zygote is not PID 1 of its namespace")
    feat.private_proc = _try(feat, "private_proc", _mount_proc, feat)
    if not feat.private_proc and feat.mount_view:
        # Never let a job see the host's processes through the host's /proc: hide it.
        _try(
            feat,
            "hide_proc",
            _linux.mount,
            "tmpfs",
            "/proc",
            "tmpfs",
            _linux.MS_RDONLY | _linux.MS_NOSUID | _linux.MS_NODEV | _linux.MS_NOEXEC,
            "size=4k",
        )


def _mount_proc(feat: Features) -> None:
    _linux.unshare(_linux.CLONE_NEWNS)
    _linux.mount(None, "/", None, _linux.MS_REC | _linux.MS_PRIVATE)
    _linux.mount("proc", "/proc", "proc", _linux.MS_NOSUID | _linux.MS_NODEV | _linux.MS_NOEXEC)
    try:
        with open("/proc/sys/kernel/pid_max", "w") as f:
            f.write(str(PID_MAX))
        feat.pid_max = PID_MAX
    except OSError as e:
        feat.why["pid_max"] = str(e)
    _linux.mount_setattr(
        "/proc", _linux.MOUNT_ATTR_RDONLY | _linux.MOUNT_ATTR_NOSUID | _linux.MOUNT_ATTR_NODEV, recursive=True
    )


def isolate_child(feat: Features, join_fds: list[int]) -> None:
    """Runs in a job's child before its rlimits: joins the cgroup, drops privileges, filters calls.

    Raises when a promised layer cannot be applied: the job then fails instead of running with
    less isolation than reported.
    """
    for fd in join_fds:
        os.write(fd, b"0")
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)  # the zygote ignores them; a program gets the defaults
    if feat.pid_namespace and os.getppid() != 1:
        raise RuntimeError("job child is outside the zygote's PID namespace")
    if feat.drop_capabilities:
        _linux.drop_capabilities()
    else:
        with contextlib.suppress(OSError):  # (Linux only) set-uid programs cannot raise privileges
            _linux.prctl(_linux.PR_SET_NO_NEW_PRIVS, 1)


def install_filter(feat: Features) -> None:
    """The last step before the program runs (after the child's own set-up calls)."""
    if feat.seccomp:
        own = None if feat.pid_namespace else os.getpid()
        _linux.install_seccomp(_linux.seccomp_program(own, unix_sockets_only=not feat.net_namespace))


def wipe_ipc(feat: Features) -> None:
    """Removes every System V object a job left (never the host's: only in the sandbox's own IPC namespace).

    Runs in the zygote after a job's processes are gone. Cheaper than a fresh IPC namespace per job
    (about 1.5 ms each, measured), with the same effect: the next job starts with none.
    """
    if not feat.ipc_per_job:
        return
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1 and fields[1].isdigit():
                _linux.ipc_remove(kind, int(fields[1]))


def wipe_private_tmp(feat: Features) -> None:
    """Empties the private /tmp and /dev/shm after a job (never the host's: only with a mount view)."""
    if not feat.mount_view:
        return
    kept = {os.path.join(TMP_ROOT, os.path.relpath(p, TMP_ROOT).split(os.sep)[0]) for p in feat.tmp_kept}
    for root in (TMP_ROOT, "/dev/shm"):
        with contextlib.suppress(OSError), os.scandir(root) as it:
            for entry in it:
                if entry.path in kept:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
