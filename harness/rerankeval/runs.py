"""The run directory: what a reranking run writes, and what reports and ``--resume`` read.

Layout (one directory per run; every file is tidy, long-form and readable with pandas)::

    <run>/
      run.json          # command, config, reranker specs, dataset hash, versions, duration;
                        #   "status": "running" | "finished" | "failed" (with the error)
      candidates.jsonl  # {problem_id, index, sha, code}          one row per candidate
      gold.jsonl        # {problem_id, index, passed, <view>_passed, <view>_frac, ...record}
                        #  ground truth, once: passed = the primary view, one field per other
                        #  view, the fraction of inputs passed when known, then the grader's own
                        #  fields (EvalPlus: base_passed, base_status, plus_status, base_fail_at,
                        #  plus_fail_at, base_frac, plus_frac; see pipeline.inputs.gold_row)
      canonical.jsonl   # {problem_id, index: -1, sha, tests}     the reference solution's matrix row
      matrix.jsonl      # {problem_id, index, sha, tests: "pf.."}  pass-matrix row (CELL chars)
      tests.jsonl       # {problem_id, test_id, ...}               the tests used (artifact rows)
      rm_scores.jsonl   # {problem_id, index, scorer, score, prob, truncated, n_tokens}
                        #   execution-free reward scores, one row per candidate and scorer
      selections.jsonl  # {problem_id, reranker, n_samples, n_tests, chosen, pick, expected_acc,
                        #  scores, draw}
      metrics.json      # {"rerankers": {label: {view: ...}}, "plain_pass@1", "oracle_pass@n",
                        #  "rm_quality", "unit_test_quality", "budget", ...}
      selected/<reranker>.jsonl   # EvalPlus samples file: one selected sample per task
      report/           # figures of ``rerankeval report`` / ``swebench rerank``

``rerankeval swebench rerank`` runs the same loop and writes the same files where they apply (no
matrix or tests; ``gold.jsonl`` holds the labelled candidates only, ``candidates.jsonl`` adds the
agent run and model name) plus ``predictions.jsonl`` and ``predictions/<reranker>.jsonl`` (the
harness's format) instead of ``selected/``; its ``metrics.json`` adds ``selection``, ``per_run``
and a one-scorer ``rm_quality`` (:mod:`rerankeval_swebench.metrics`). ``rerankeval calibrate`` adds
``calibration/``.

``rerankeval report`` (tables, figures) and ``rerankeval view`` (a browsable site) read these files
and never execute anything from them.

Rows are appended as results complete and flushed with fsync (:class:`JsonlAppender`), so a
run killed at any moment keeps every finished row; ``--resume`` reads them back (checking every
field, :func:`read_run_rows`) and computes only what is missing. :class:`RunDir` guards the
directory: one process at a time (a lock naming the holder), no input file at one of the run's
output paths, ``--overwrite`` removes only the files the run writes, and a run that stops on an
error says so in ``run.json`` (``"status": "failed"`` with the error). A failed write (full disk,
no permission) is a one-line :class:`~rerankeval.errors.RunWriteError` naming the file and the fix.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from rerankeval.errors import InputError, RunExistsError, RunLockedError, RunWriteError

RUN_JSON = "run.json"
LOCK_FILE = ".lock"
#: Files at the top of a rerank run directory (``selected/<reranker>.jsonl`` come on top).
RERANK_FILES = (
    "run.json",
    "candidates.jsonl",
    "gold.jsonl",
    "matrix.jsonl",
    "canonical.jsonl",
    "tests.jsonl",
    "rm_scores.jsonl",
    "selections.jsonl",
    "metrics.json",
)
#: A run refuses to start with less free space than this under its directory.
MIN_FREE_BYTES = 1 << 20
#: Room run.json keeps after its content, so its final status fits even on a full disk.
_META_RESERVE = 4096


def write_error(path: Path, exc: OSError) -> RunWriteError:
    """The one-line error for a write that failed: the file, the reason, and what to do."""
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        fix = "Free space on that file system (or choose another output path), then re-run with --resume"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "Make that folder writable, or choose another output path"
    else:
        fix = "Check the output path, or choose another one"
    return RunWriteError(f"cannot write {path}: {exc.strerror or exc}. {fix}")


class JsonlAppender:
    """Appends JSON rows to a file: each row reaches the OS at once (a killed process loses none),
    and the file is fsynced every ``sync_every`` rows and on close (against a machine crash)."""

    def __init__(self, path: Path, sync_every: int = 1) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._repair_tail()
            self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        except OSError as e:
            raise write_error(self.path, e) from None
        self._n = 0
        self.sync_every = sync_every

    def _repair_tail(self) -> None:
        """Drops a half-written last line left by a crash (everything before it is kept)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb+") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) == b"\n":
                return
            f.seek(0)
            data = f.read()
            cut = data.rfind(b"\n") + 1
            f.truncate(cut)

    def write(self, row: dict[str, Any]) -> None:
        """Appends one row."""
        line = json.dumps(row, ensure_ascii=False) + "\n"
        try:
            self._f.write(line)
            self._f.flush()
        except OSError as e:
            raise write_error(self.path, e) from None
        self._n += 1
        if self._n % self.sync_every == 0:
            self.flush()

    def flush(self) -> None:
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
        except OSError as e:
            raise write_error(self.path, e) from None

    def close(self) -> None:
        if self._f.closed:
            return
        try:
            self.flush()
        finally:
            try:
                self._f.close()
            except OSError:
                pass  # the flush above already reported the failure

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_jsonl(
    path: Path, *, missing_ok: bool = False, allow_torn_tail: bool = True
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yields ``(line number, row)``; a malformed line raises :class:`InputError` naming file and line.

    Args:
        path: A JSONL file (one JSON object per line; blank lines are skipped).
        missing_ok: Yield nothing for a missing file instead of raising.
        allow_torn_tail: Skip a half-written *last* line (a crash while appending) instead of raising.
    """
    path = Path(path)
    if not path.exists():
        if missing_ok:
            return
        raise InputError.at(path, None, "file not found", "Check the path")
    with open(path, "rb") as f:
        raw_lines = f.readlines()
    for no, raw in enumerate(raw_lines, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError.at(
                path, no, f"not UTF-8 (byte {e.start})", "Re-encode the file as UTF-8"
            ) from None
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            if allow_torn_tail and no == len(raw_lines) and not line.endswith("\n"):
                return  # half-written tail
            raise InputError.at(path, no, f"not valid JSON ({e.msg})", "Fix or delete that line") from None
        if not isinstance(row, dict):
            raise InputError.at(path, no, "a JSON object was expected", "Each line must be one JSON object")
        yield no, row


def read_jsonl(path: Path, *, missing_ok: bool = False) -> Iterator[dict[str, Any]]:
    """Yields rows (see :func:`iter_jsonl`); a half-written last line is skipped, not an error."""
    for _, row in iter_jsonl(path, missing_ok=missing_ok):
        yield row


def write_json_atomic(path: Path, obj: Any, *, reserve: int = 0) -> None:
    """Writes JSON to a temporary file and renames it into place (never half-written).

    Args:
        path: The file.
        obj: What to write.
        reserve: Bytes of trailing blanks kept after the JSON, so a later, slightly longer content
            can be written over it in place when the disk is full (see :meth:`RunDir.fail`).

    Raises:
        RunWriteError: The file cannot be written (the message names it and the fix).
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    text = json.dumps(obj, indent=2, ensure_ascii=False, default=str) + " " * reserve + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise write_error(path, e) from None


# --- run files are checked when read -------------------------------------------------------------

_Check = Callable[[Any], bool]


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v: Any) -> bool:
    return _number(v) and math.isfinite(v)


def _cells(v: Any) -> bool:
    from rerankeval.core.rerank import CELL_STATUS

    return isinstance(v, str) and all(c in CELL_STATUS for c in v)


def _status(v: Any) -> bool:
    return v in ("pass", "fail", "timeout", "error")


def _ints(v: Any) -> bool:
    return isinstance(v, list) and all(_int(x) for x in v)


_WHAT: dict[_Check, str] = {
    _int: "an integer",
    _str: "a string",
    _bool: "true or false",
    _number: "a number",
    _finite: "a finite number",
    _cells: "a string of pass-matrix cells (p, f, e, t, m)",
    _status: "pass, fail, timeout or error",
    _ints: "a list of integers",
}


def _opt(check: _Check) -> _Check:
    def optional(v: Any) -> bool:
        return v is None or check(v)

    _WHAT[optional] = "null or " + _WHAT[check]
    return optional


#: Per run file: field -> (check, required). Fields not listed are not checked.
RUN_FILE_FIELDS: dict[str, dict[str, tuple[_Check, bool]]] = {
    "candidates.jsonl": {"problem_id": (_str, True), "index": (_int, True), "sha": (_str, False)},
    "gold.jsonl": {
        "problem_id": (_str, True),
        "index": (_int, True),
        "passed": (_bool, True),
        "base_passed": (_bool, False),
        "base_status": (_status, False),
        "plus_status": (_opt(_status), False),
        "base_frac": (_opt(_finite), False),
        "plus_frac": (_opt(_finite), False),
    },
    "matrix.jsonl": {
        "problem_id": (_str, True),
        "index": (_int, True),
        "sha": (_str, False),
        "tests": (_cells, True),
    },
    "canonical.jsonl": {
        "problem_id": (_str, True),
        "index": (_int, True),
        "sha": (_str, False),
        "tests": (_cells, True),
    },
    "tests.jsonl": {"problem_id": (_str, True), "test_id": (_str, True), "test": (_str, False)},
    "rm_scores.jsonl": {
        "problem_id": (_str, True),
        "index": (_int, True),
        "scorer": (_str, True),
        "score": (_finite, True),
        "prob": (_opt(_finite), False),
        "truncated": (_bool, False),
    },
    "selections.jsonl": {
        "problem_id": (_str, True),
        "reranker": (_str, True),
        "chosen": (_ints, False),
        "pick": (_opt(_int), False),
        "draw": (_int, False),
    },
}


def check_run_row(path: Path, line: int, row: Mapping[str, Any], kind: str | None = None) -> None:
    """Checks one row of a run file against :data:`RUN_FILE_FIELDS` (by file name, or ``kind``).

    Raises:
        InputError: A field is missing or of the wrong type or value; the message names file and line.
    """
    for name, (check, required) in RUN_FILE_FIELDS.get(kind or Path(path).name, {}).items():
        if name not in row:
            if required:
                raise InputError.at(path, line, f"field {name!r} is missing", _REPAIR)
            continue
        if not check(row[name]):
            shown = repr(row[name])
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise InputError.at(path, line, f"field {name!r} must be {_WHAT[check]}, got {shown}", _REPAIR)


_REPAIR = (
    "This run file was edited or corrupted: delete that line (or the file) and re-run with --resume, "
    "which recomputes what is missing"
)


def read_run_rows(
    path: Path, *, missing_ok: bool = True, kind: str | None = None
) -> Iterator[dict[str, Any]]:
    """Rows of a run file, each checked by :func:`check_run_row` (a half-written last line is skipped).

    Raises:
        InputError: A line that is not JSON, or a row with a wrong field; the message names file and line.
    """
    for no, row in iter_jsonl(path, missing_ok=missing_ok):
        check_run_row(path, no, row, kind)
        yield row


# --- the run directory ---------------------------------------------------------------------------


def read_run_meta(path: Path) -> dict[str, Any]:
    """The ``run.json`` of the run directory ``path``.

    Raises:
        InputError: ``path`` holds no run.json, or it is not valid JSON.
    """
    meta_path = Path(path) / RUN_JSON
    if not meta_path.is_file():
        raise InputError.at(
            path,
            None,
            "not a run directory (run.json missing)",
            "Pass a directory written by 'rerankeval rerank'",
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError.at(
            meta_path, e.lineno, f"not valid JSON ({e.msg})", "Fix or rewrite run.json"
        ) from None
    if not isinstance(meta, dict):
        raise InputError.at(meta_path, 1, "a JSON object was expected", "Fix or rewrite run.json")
    return meta


def acquire_lock(lock: Path, what: str) -> int:
    """Takes an exclusive lock on the file ``lock`` (created if missing); returns its descriptor.

    The lock is the kernel's (``flock``): it goes with the process, so a killed run leaves no
    stale lock. The file records the holder (pid, start time) for the next process's message.

    Raises:
        RunLockedError: Another process holds it; the message names it, ``what`` is locked, and the fix.
        RunWriteError: The file cannot be created.
    """
    import fcntl

    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise write_error(lock, e) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
        finally:
            os.close(fd)
        raise RunLockedError(
            f"{what} is in use by another rerankeval process ({holder}). One run at a time per output: "
            "wait for it to finish (then --resume if it stopped unfinished), or choose another --out"
        ) from None
    try:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        pid_line = f"pid {os.getpid()}, started {stamp}".encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, pid_line, 0)
    except OSError as e:
        os.close(fd)
        raise write_error(lock, e) from None
    return fd


class Terminated(KeyboardInterrupt):
    """SIGTERM (a ``kill``, a job scheduler's stop) raised in the main thread while a run holds its
    directory, so that the run ends as Ctrl-C ends it: rows kept, ``run.json`` says so, lock freed."""


def _on_sigterm(signum: int, frame: object) -> None:
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated("stopped by SIGTERM")


class RunDir:
    """A run directory held by this process: the lock, the checks, and the final status.

    Use it as a context manager around the whole run::

        with RunDir(out, resume=resume, overwrite=overwrite, inputs={"--samples": samples}) as run:
            run.write_meta({...,"status": "running"})
            ...                          # append rows
            run.finish(meta)             # status "finished"

    On entry it checks that no input file lies at one of the run's output paths, that the
    directory is writable and has room (:data:`MIN_FREE_BYTES`), takes the lock (one process per
    directory; a second one is told which process holds it), reads the previous ``run.json`` and
    applies ``resume`` / ``overwrite`` (which removes only the run's own files). If the body raises,
    ``run.json`` is marked ``failed`` (``interrupted`` for Ctrl-C and SIGTERM, which the main thread
    turns into :class:`Terminated` while it holds the directory) with the error, even on a full
    disk (``run.json`` keeps room for it), and the lock is released. A signal that arrives while
    a model runs native code takes effect when it returns to Python; a second SIGTERM ends the
    process at once (the rows written so far are kept; ``--resume`` continues).

    Args:
        path: The run directory.
        resume: Continue the run in ``path``.
        overwrite: Replace the run in ``path``.
        inputs: Option name -> input file, checked against the run's outputs.
        own: The run's files, relative to ``path`` (given the previous run.json, or {} when none).
        min_free_bytes: Refuse to start with less free space than this.
    """

    def __init__(
        self,
        path: Path,
        *,
        resume: bool,
        overwrite: bool = False,
        inputs: Mapping[str, Path | None] | None = None,
        own: Callable[[Mapping[str, Any]], Iterable[str]] | None = None,
        min_free_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.resume, self.overwrite = resume, overwrite
        self.inputs = {k: Path(v) for k, v in (inputs or {}).items() if v is not None}
        self._own = own or (lambda _meta: RERANK_FILES)
        self.min_free_bytes = MIN_FREE_BYTES if min_free_bytes is None else min_free_bytes
        self.previous: dict[str, Any] | None = None
        self._meta: dict[str, Any] | None = None
        self._sigterm: Any = None
        self._lock_fd: int | None = None

    # -- entry --
    def __enter__(self) -> RunDir:
        self.check_inputs({})
        meta_path = self.path / RUN_JSON
        if self.resume and not meta_path.exists():
            raise InputError.at(
                self.path, None, "no run to resume here (run.json missing)", "Start it without --resume"
            )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise write_error(self.path, e) from None
        self._lock()
        try:
            self._check_space()
            self.previous = self._read_previous(meta_path)
            if self.previous is not None:
                self.check_inputs(self.previous)
                if not self.resume:
                    if not self.overwrite:
                        state = self.previous.get("status", "unknown")
                        raise RunExistsError(
                            f"{self.path} already holds a {state} run. Use --resume to continue it, "
                            "--overwrite to replace it, or choose another --out"
                        )
                    self._remove_own(self.previous)
                    self.previous = None
        except BaseException:
            self._unlock()
            raise
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._sigterm = signal.signal(signal.SIGTERM, _on_sigterm)
        return self

    def check_inputs(self, meta: Mapping[str, Any]) -> None:
        """Refuses an input file that lies at one of the run's output paths.

        Raises:
            InputError: Naming the option, the file and the fix.
        """
        outputs = {self._resolved(self.path / rel) for rel in self._own(meta)}
        outputs.add(self._resolved(self.path / LOCK_FILE))
        for flag, given in self.inputs.items():
            if self._resolved(given) in outputs:
                raise InputError(
                    f"{flag} {given} is a file this run writes ({given.name} in its run directory "
                    f"{self.path}), so the run would overwrite its own input. Move the file out of the run "
                    "directory, or choose another --out"
                )

    @staticmethod
    def _resolved(p: Path) -> Path:
        return Path(os.path.realpath(p))

    def _lock(self) -> None:
        self._lock_fd = acquire_lock(self.path / LOCK_FILE, str(self.path))

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock; the file stays (removing it would race)
            self._lock_fd = None

    def _check_space(self) -> None:
        free = shutil.disk_usage(self.path).free
        if free < self.min_free_bytes:
            raise RunWriteError(
                f"cannot write {self.path}: only {free // 1024} KiB free on its file system (a run needs at "
                f"least {self.min_free_bytes // 1024} KiB). Free space there, or choose another --out"
            )

    def _read_previous(self, meta_path: Path) -> dict[str, Any] | None:
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            if self.overwrite and not self.resume:
                return {"status": "unreadable"}  # replaced anyway: its own files are known by name
            raise InputError.at(
                meta_path, None, f"not valid JSON ({e})", "Restore it, or start again with --overwrite"
            ) from None
        if not isinstance(meta, dict) or not isinstance(meta.get("status"), str):
            if self.overwrite and not self.resume:
                return {"status": "unreadable"}
            raise InputError.at(
                meta_path,
                None,
                "not a run description (a JSON object with a status)",
                "Restore it, or start again with --overwrite",
            )
        return meta

    def _remove_own(self, meta: Mapping[str, Any]) -> None:
        for rel in self._own(meta):
            for p in (self.path / rel, self.path / (rel + ".tmp")):
                if p.is_file() or p.is_symlink():
                    try:
                        p.unlink()
                    except OSError as e:
                        raise write_error(p, e) from None
        for parent in sorted({(self.path / rel).parent for rel in self._own(meta)}, reverse=True):
            if parent != self.path and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()

    # -- run.json --
    def write_meta(self, meta: dict[str, Any]) -> None:
        """Writes run.json (keeping room for the final status) and remembers it for :meth:`fail`."""
        self._meta = meta
        write_json_atomic(self.path / RUN_JSON, meta, reserve=_META_RESERVE)

    def finish(self, meta: dict[str, Any]) -> None:
        """Marks the run finished."""
        meta.update(status="finished", finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        meta.pop("error", None)
        self.write_meta(meta)

    def fail(self, status: str, error: str) -> None:
        """Marks the run ``failed`` / ``interrupted`` with the error; in place when the disk is full."""
        if self._meta is None or self._meta.get("status") != "running":
            return
        meta = {
            **self._meta,
            "status": status,
            "error": error[:2000],
            "stopped": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        path = self.path / RUN_JSON
        try:
            write_json_atomic(path, meta, reserve=_META_RESERVE)
            return
        except RunWriteError:
            pass
        meta["error"] = error[:200]
        data = json.dumps(meta, indent=2, ensure_ascii=False, default=str).encode()
        try:
            with open(path, "r+b") as f:
                size = f.seek(0, os.SEEK_END)
                if len(data) < size:  # written over the room run.json kept: needs no new block
                    f.seek(0)
                    f.write(data + b" " * (size - len(data) - 1) + b"\n")
                    f.flush()
                    os.fsync(f.fileno())
        except OSError:
            pass  # nothing more can be written; the error itself still reaches the user

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._sigterm is not None:
                import signal

                signal.signal(signal.SIGTERM, self._sigterm)
                self._sigterm = None
            if exc is not None:
                status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                detail = str(exc) if isinstance(exc, Terminated) else "interrupted"
                self.fail(status, f"{type(exc).__name__}: {exc}" if status == "failed" else detail)
        finally:
            self._unlock()


def open_run_dir(path: Path, *, resume: bool, overwrite: bool = False) -> dict[str, Any] | None:
    """Prepares ``path`` without holding it (kept for callers that do not use :class:`RunDir`).

    Raises:
        RunExistsError: The directory holds a run and neither resume nor overwrite was asked.
    """
    with RunDir(path, resume=resume, overwrite=overwrite) as run:
        return run.previous
