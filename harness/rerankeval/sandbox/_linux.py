"""Thin ctypes wrappers over the Linux calls the sandbox needs (Python 3.11 has no os.unshare).

Every wrapper raises :class:`OSError` with the errno on failure, so callers can probe a feature by
trying it. Nothing here decides policy; :mod:`rerankeval.sandbox._isolation` does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC = 32, 4096, 8192, 16384
MS_PRIVATE = 1 << 18

MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
MNT_DETACH = 2

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP = 1, 4, 22
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 24, 28, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SECCOMP_MODE_FILTER = 2
# NOROOT, NO_SETUID_FIXUP, KEEP_CAPS (off) and NO_CAP_AMBIENT_RAISE, each with its lock bit.
SECUREBITS_LOCKED_DOWN = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80

_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
for _name in ("unshare", "mount", "umount2", "prctl", "syscall"):
    if not hasattr(_LIBC, _name):  # not Linux: every wrapper then fails with OSError(ENOSYS)
        setattr(_LIBC, _name, lambda *a, **k: (ctypes.set_errno(38), -1)[1])
_SYS_MOUNT_SETATTR = 442  # the same number on every architecture (added in Linux 5.12)
_X86_64 = platform.machine() in ("x86_64", "AMD64") and sys.maxsize > 2**32
_SYS_CAPSET = 126 if _X86_64 else 91


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def unshare(flags: int) -> None:
    _check(_LIBC.unshare(ctypes.c_int(flags)), "unshare")


def _enc(s: str | None) -> bytes | None:
    return None if s is None else s.encode()


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = _enc
    _check(
        _LIBC.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
        f"mount {target}",
    )


def umount(target: str, flags: int = MNT_DETACH) -> None:
    _check(_LIBC.umount2(target.encode(), ctypes.c_int(flags)), f"umount {target}")


def mount_setattr(path: str, attr_set: int, attr_clr: int = 0, recursive: bool = True) -> None:
    """Sets mount attributes (e.g. read-only) on ``path`` and, recursively, every mount below it."""
    attr = struct.pack("QQQQ", attr_set, attr_clr, 0, 0)
    buf = ctypes.create_string_buffer(attr, len(attr))
    flags = AT_RECURSIVE if recursive else 0
    _check(
        _LIBC.syscall(
            ctypes.c_long(_SYS_MOUNT_SETATTR),
            ctypes.c_int(AT_FDCWD),
            path.encode(),
            ctypes.c_uint(flags),
            buf,
            ctypes.c_size_t(len(attr)),
        ),
        f"mount_setattr {path}",
    )


def prctl(option: int, arg2: int = 0, arg3: int | ctypes.c_void_p = 0) -> int:
    a3 = arg3 if isinstance(arg3, ctypes.c_void_p) else ctypes.c_ulong(arg3)
    return _check(
        _LIBC.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), a3, ctypes.c_ulong(0), ctypes.c_ulong(0)),
        f"prctl {option}",
    )


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 40


def drop_capabilities() -> None:
    """Empties the bounding, ambient, inheritable, permitted and effective sets and locks them so.

    After this (``no_new_privs`` included), even executing a set-uid binary or any program as uid 0
    cannot regain a capability.
    """
    for cap in range(last_cap() + 1):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError:
            pass  # unknown to this kernel
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass
    try:
        prctl(PR_SET_SECUREBITS, SECUREBITS_LOCKED_DOWN)
    except OSError:
        pass  # without CAP_SETPCAP; no_new_privs below still stops execve from granting capabilities
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = bytes(24)  # two empty {effective, permitted, inheritable} words
    _check(
        _LIBC.syscall(ctypes.c_long(_SYS_CAPSET), ctypes.c_char_p(header), ctypes.c_char_p(data)), "capset"
    )
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def capabilities_effective() -> int:
    """The effective capability mask of this process (from /proc/self/status)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


# ---- seccomp (x86_64 only: syscall numbers are per architecture) ---------------------------------

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_EPERM, _EACCES = 1, 13
_LD_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06

#: Calls a sandboxed program never needs: kernel and mount administration, tracing other
#: processes, keyrings, and outward connections (sockets still work between its own processes).
X86_64_DENIED = {
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "reboot": 169,
    "swapon": 167,
    "swapoff": 168,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "unshare": 272,
    "setns": 308,
    "bpf": 321,
    "perf_event_open": 298,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "open_by_handle_at": 304,
    "name_to_handle_at": 303,
    "fsopen": 430,
    "fsmount": 432,
    "move_mount": 429,
    "open_tree": 428,
    "mount_setattr": 442,
    "acct": 163,
    "settimeofday": 164,
    "clock_settime": 227,
    "adjtimex": 159,
    "iopl": 172,
    "ioperm": 173,
    "quotactl": 179,
    "syslog": 103,
    "vhangup": 153,
    "connect": 42,
}
_NR_KILL, _NR_TKILL, _NR_TGKILL, _NR_PIDFD_OPEN, _NR_SOCKET = 62, 200, 234, 434, 41
_AF_UNIX = 1


def seccomp_supported() -> bool:
    return _X86_64 and sys.platform == "linux"


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k & 0xFFFFFFFF)


def _arg_lo(i: int) -> int:
    return 16 + 8 * i  # low 32 bits of args[i] in struct seccomp_data (little endian)


def seccomp_program(own_pid: int | None, unix_sockets_only: bool) -> bytes:
    """Builds the BPF filter: deny :data:`X86_64_DENIED`; optionally fence signals and sockets.

    Args:
        own_pid: When set (no PID namespace to contain it), ``kill``/``tgkill``/``pidfd_open`` may
            only target this process or its process group; anything else fails with EPERM, so
            ``kill(-1, SIGKILL)`` and killing the supervisor are impossible.
        unix_sockets_only: When True (no network namespace), ``socket()`` is allowed for AF_UNIX only.
    """
    errno_eperm, errno_eacces = _RET_ERRNO | _EPERM, _RET_ERRNO | _EACCES
    body: list[bytes] = []
    for nr in sorted(X86_64_DENIED.values()):
        body += [_insn(_JEQ, nr, 0, 1), _insn(_RET, errno_eacces if nr == 42 else errno_eperm)]
    if unix_sockets_only:
        body += [
            _insn(_JEQ, _NR_SOCKET, 0, 4),
            _insn(_LD_ABS, _arg_lo(0)),
            _insn(_JEQ, _AF_UNIX, 0, 1),
            _insn(_RET, _RET_ALLOW),
            _insn(_RET, errno_eacces),
        ]
    if own_pid is not None:
        ok = {own_pid, 0, -own_pid & 0xFFFFFFFF}
        for nr in (_NR_KILL, _NR_TGKILL, _NR_PIDFD_OPEN):
            allowed = sorted(ok) if nr == _NR_KILL else [own_pid]
            # if nr matches: load arg0 and allow if it is one of `allowed`, else EPERM
            block = [_insn(_LD_ABS, _arg_lo(0))]
            for j, v in enumerate(allowed):
                block.append(_insn(_JEQ, v, len(allowed) - j, 0))
            block += [_insn(_RET, errno_eperm), _insn(_RET, _RET_ALLOW)]
            body += [_insn(_JEQ, nr, 0, len(block))] + block
            body.append(_insn(_LD_ABS, 0))  # reload the syscall number for the next test
        body += [_insn(_JEQ, _NR_TKILL, 0, 1), _insn(_RET, errno_eperm)]
    head = [
        _insn(_LD_ABS, 4),
        _insn(_JEQ, _AUDIT_ARCH_X86_64, 1, 0),
        _insn(_RET, errno_eperm),
        _insn(_LD_ABS, 0),
        _insn(_JGE, _X32_BIT, 0, 1),
        _insn(_RET, errno_eperm),
    ]
    return b"".join(head + body + [_insn(_RET, _RET_ALLOW)])


def install_seccomp(program: bytes) -> None:
    """Installs a BPF filter on this process (and everything it later starts); irreversible."""
    n = len(program) // 8
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("HxxxxxxQ", n, ctypes.addressof(buf))
    fbuf = ctypes.create_string_buffer(fprog, len(fprog))
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.c_void_p(ctypes.addressof(fbuf)))


_IPC_RMID = 0


def ipc_remove(kind: str, ident: int) -> None:
    """Removes one System V object (``shm``, ``msg`` or ``sem``); errors (already gone) are ignored."""
    if kind == "shm":
        _LIBC.shmctl(ident, _IPC_RMID, None)
    elif kind == "msg":
        _LIBC.msgctl(ident, _IPC_RMID, None)
    elif kind == "sem":
        _LIBC.semctl(ident, 0, _IPC_RMID)
