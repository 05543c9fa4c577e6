"""Framing between the harness, the supervisor and the child, and the restricted unpickler.

Messages between trusted processes (harness <-> supervisor) are length-prefixed pickles.
Values coming from the untrusted child are unpickled with :class:`SafeUnpickler`, which builds
only plain data (numbers, strings, containers, numpy scalars and arrays, a few stdlib value
types): a candidate cannot make the supervisor run code, and an object whose ``__eq__`` always
returns True cannot cross the boundary. Every constructor a pickle may call is bounded: no
argument that expands when called (a ``range`` given to ``list``, an int given to ``bytearray``,
a ``Fraction`` or ``Decimal`` with a huge exponent, an ``ndarray`` shape), so a small pickle
cannot make the supervisor allocate gigabytes or compute for minutes; what remains (the bytes
themselves, shared references) is bounded by :data:`MAX_FRAME`, and the supervisor also decodes
and checks each value under a time limit.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import pickle
import re
import socket
import struct
from collections.abc import Callable
from typing import IO, Any

HEADER = struct.Struct("<Q")
MAX_FRAME = 256 * 1024 * 1024
MAC_SIZE = 16


class UnsafeValue(Exception):
    """The child sent something that is not plain data (or that would be too costly to build)."""


#: Largest bytes object, element count or digit count a decoded constructor call may create.
MAX_BUILT = 1 << 24
#: Largest decimal exponent (and digit count) of a Fraction or Decimal built from a child's value.
MAX_EXPONENT = 10_000
_SCALARS = (int, float, complex, bool, str, bytes, type(None))
_BUILT = (list, tuple, dict, set, frozenset, str, bytes, bytearray)
_EXPONENT = re.compile(r"[eE]\s*([+-]?\d+)")


class _Ctor:
    """A constructor the unpickler may call, with its arguments checked first."""

    __slots__ = ("check", "name", "real")

    def __init__(self, name: str, real: Any, check: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> None:
        self.name, self.real, self.check = name, real, check

    def __call__(self, *args: Any) -> Any:
        return self.real(*self.check(args))

    def __repr__(self) -> str:
        return self.name


def _refuse(what: str) -> UnsafeValue:
    return UnsafeValue(what)


def _scalars_only(args: tuple[Any, ...]) -> tuple[Any, ...]:
    if not all(type(a) in _SCALARS for a in args):
        raise _refuse("constructor argument is not a scalar")
    return args


def _sized(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Containers from already-built values only (a range or an iterator would expand)."""
    for a in args:
        if isinstance(a, _Ctor):
            continue  # a defaultdict's factory
        if isinstance(a, int) and not isinstance(a, bool):
            if abs(a) > MAX_BUILT:
                raise _refuse("size argument too large")
        elif a is not None and type(a) not in _BUILT and type(a) not in _SCALARS:
            raise _refuse(f"constructor argument of type {type(a).__name__}")
    return tuple(a.real if isinstance(a, _Ctor) else a for a in args)


def _number_text(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Fraction / Decimal: bounded digits and exponents (``Fraction('1e999999999')`` never ends)."""
    for a in args:
        if isinstance(a, str):
            m = _EXPONENT.search(a)
            if len(a) > MAX_EXPONENT or (m and abs(int(m.group(1))) > MAX_EXPONENT):
                raise _refuse("number with too many digits or too large an exponent")
        elif isinstance(a, int) and not isinstance(a, bool):
            if a.bit_length() > 4 * MAX_EXPONENT:
                raise _refuse("integer too large")
        elif isinstance(a, tuple):  # Decimal((sign, digits, exponent))
            if len(a) != 3 or not isinstance(a[1], tuple) or len(a[1]) > MAX_EXPONENT:
                raise _refuse("malformed decimal tuple")
            if not isinstance(a[2], str) and (type(a[2]) is not int or abs(a[2]) > MAX_EXPONENT):
                raise _refuse("decimal exponent too large")
        elif type(a) not in (float, bool):
            raise _refuse(f"number argument of type {type(a).__name__}")
    return args


def _no_call(args: tuple[Any, ...]) -> tuple[Any, ...]:
    raise _refuse("direct construction refused")


def _np_scalar(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """numpy's ``scalar(dtype, raw bytes)``."""
    if (
        not 1 <= len(args) <= 2
        or type(args[0]).__module__.partition(".")[0] != "numpy"
        or not all(type(a) is bytes and len(a) <= 1024 for a in args[1:])
    ):
        raise _refuse("malformed numpy scalar")
    return args


def _reconstruct_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """numpy's ``_reconstruct(ndarray, shape, dtype)``: the data comes later, checked by numpy."""
    if len(args) != 3 or not isinstance(args[0], _Ctor) or not isinstance(args[1], tuple):
        raise _refuse("malformed array")
    n = 1
    for d in args[1]:
        if type(d) is not int or d < 0:
            raise _refuse("malformed array shape")
        n *= d
        if n > MAX_BUILT:
            raise _refuse("array too large")
    return (args[0].real, args[1], args[2])


_Check = Callable[[tuple[Any, ...]], tuple[Any, ...]]
_BUILTINS: dict[str, _Check] = {
    "int": _scalars_only,
    "float": _scalars_only,
    "complex": _scalars_only,
    "bool": _scalars_only,
    "str": _scalars_only,
    "bytes": _sized,
    "bytearray": _sized,
    "list": _sized,
    "dict": _sized,
    "set": _sized,
    "frozenset": _sized,
    "tuple": _sized,
    "range": _scalars_only,
    "slice": _scalars_only,
}
_CHECKS: dict[str, dict[str, _Check]] = {
    "builtins": _BUILTINS,
    "collections": dict.fromkeys(("OrderedDict", "defaultdict", "Counter", "deque"), _sized),
    "fractions": {"Fraction": _number_text},
    "decimal": {"Decimal": _number_text},
    "numpy": {
        "dtype": _scalars_only,
        "ndarray": _no_call,
        "bool_": _scalars_only,
        "int64": _scalars_only,
        "float64": _scalars_only,
    },
    "numpy.core.multiarray": {"scalar": _np_scalar, "_reconstruct": _reconstruct_args},
    "numpy._core.multiarray": {"scalar": _np_scalar, "_reconstruct": _reconstruct_args},
    "numpy.dtypes": dict.fromkeys(
        ("Float64DType", "Int64DType", "Float32DType", "Int32DType", "BoolDType", "StrDType", "ObjectDType"),
        _scalars_only,
    ),
}
_SAFE_GLOBALS: dict[str, frozenset[str]] = {m: frozenset(names) for m, names in _CHECKS.items()}


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        check = _CHECKS.get(module, {}).get(name)
        if check is None:
            raise UnsafeValue(f"{module}.{name}")
        return _Ctor(f"{module}.{name}", super().find_class(module, name), check)


def safe_loads(data: bytes) -> Any:
    """Unpickles plain data only; raises :class:`UnsafeValue` for anything else."""
    try:
        return SafeUnpickler(io.BytesIO(data)).load()
    except UnsafeValue:
        raise
    except Exception as e:  # truncated, malformed or hostile bytes (MemoryError included)
        raise UnsafeValue(type(e).__name__) from None


def write_frame(fp: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    fp.write(HEADER.pack(len(data)))
    fp.write(data)
    fp.flush()


def read_frame(fp: IO[bytes]) -> Any:
    """Reads one trusted frame; raises EOFError when the peer is gone."""
    head = fp.read(HEADER.size)
    if len(head) < HEADER.size:
        raise EOFError("peer closed")
    (n,) = HEADER.unpack(head)
    data = fp.read(n)
    if len(data) < n:
        raise EOFError("peer closed mid-frame")
    return pickle.loads(data)


def mac(key: bytes, payload: bytes) -> bytes:
    """Keyed digest of a child's frame: without the job's key a forged frame is discarded."""
    return hashlib.blake2b(payload, key=key, digest_size=MAC_SIZE).digest()


def unseal(key: bytes, frame: bytes) -> bytes | None:
    """The payload of a sealed frame, or None when its digest does not match."""
    tag, payload = frame[:MAC_SIZE], frame[MAC_SIZE:]
    return payload if len(tag) == MAC_SIZE and hmac.compare_digest(tag, mac(key, payload)) else None


def send_with_fds(sock: socket.socket, obj: Any, fds: list[int]) -> None:
    """Sends one trusted frame with file descriptors attached (SCM_RIGHTS)."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    socket.send_fds(sock, [HEADER.pack(len(data))], fds)
    sock.sendall(data)


def recv_with_fds(sock: socket.socket, max_fds: int = 4) -> tuple[Any, list[int]]:
    """Receives a frame sent by :func:`send_with_fds`; raises EOFError when the peer is gone."""
    head, fds, _, _ = socket.recv_fds(sock, HEADER.size, max_fds, socket.MSG_WAITALL)
    if len(head) < HEADER.size:
        raise EOFError("peer closed")
    (n,) = HEADER.unpack(head)
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("peer closed mid-frame")
        buf += chunk
    return pickle.loads(bytes(buf)), list(fds)


class FrameReader:
    """Incremental reader of raw frames from a non-blocking pipe (used by the supervisor)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.overflow = False

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buf += chunk
        frames: list[bytes] = []
        while len(self._buf) >= HEADER.size:
            (n,) = HEADER.unpack_from(self._buf)
            if n > MAX_FRAME:
                self.overflow = True
                self._buf.clear()
                break
            if len(self._buf) < HEADER.size + n:
                break
            frames.append(bytes(self._buf[HEADER.size : HEADER.size + n]))
            del self._buf[: HEADER.size + n]
        return frames
