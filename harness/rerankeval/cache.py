"""A small persistent key-value cache (SQLite) for execution results.

Lives under ``$RERANKEVAL_CACHE_DIR`` (default ``~/.cache/rerankeval``). Keys are content hashes
of everything that determines a result (program, inputs or tests, limits, tool version), so a
re-run recomputes nothing and a changed input never reads a stale value. Safe for one writer
(the orchestrating process) with many readers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """The cache directory (created on first use)."""
    d = Path(os.environ.get("RERANKEVAL_CACHE_DIR") or Path.home() / ".cache" / "rerankeval")
    d.mkdir(parents=True, exist_ok=True)
    return d


class ResultCache:
    """JSON values by string key in one SQLite table per namespace.

    Entries are validated on read: one that does not decode, or that ``validate`` rejects (a
    truncated or corrupted entry), is a miss, so it is recomputed and overwritten, never used. A
    database file that SQLite cannot read is moved aside (``<file>.corrupt-<time>``, with a warning
    naming both) and an empty cache takes its place: the cache only saves work, so nothing is lost.
    Several processes may share one cache (SQLite's WAL mode; writes are whole transactions).

    Args:
        namespace: Table name (letters, digits, underscore).
        path: Database file; default ``cache_dir()/results.sqlite``.
        enabled: When False every lookup misses and nothing is stored.
        validate: Returns True for a well-formed value; others are treated as misses.
    """

    def __init__(
        self,
        namespace: str,
        path: Path | None = None,
        enabled: bool = True,
        validate: Callable[[Any], bool] | None = None,
    ) -> None:
        if not namespace.replace("_", "").isalnum():
            raise ValueError(f"bad cache namespace {namespace!r}")
        self.enabled = enabled
        self.table = namespace
        self.hits = 0
        self.misses = 0
        self.invalid = 0  # entries found but rejected (corrupt or malformed)
        self.validate = validate
        self.path = Path(path or cache_dir() / "results.sqlite") if enabled else None
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if enabled:
            self._open()

    def _connect(self) -> None:
        assert self.path is not None
        self._db = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        self._db.commit()

    def _open(self) -> None:
        try:
            self._connect()
        except sqlite3.DatabaseError as e:
            self._quarantine(e)
            self._connect()

    def _quarantine(self, err: Exception) -> None:
        """Moves an unreadable database file aside and starts an empty one."""
        assert self.path is not None
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                with contextlib.suppress(OSError):
                    os.replace(src, Path(str(aside) + suffix))
        log.warning(
            "result cache %s is unreadable (%s): moved it to %s and started an empty cache; "
            "results will be recomputed",
            self.path,
            err,
            aside,
        )

    def _decode(self, v: str) -> tuple[bool, Any]:
        try:
            value = json.loads(v)
        except (ValueError, TypeError):
            return False, None
        if self.validate is not None and not self.validate(value):
            return False, None
        return True, value

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        keys = list(keys)
        if self._db is None:
            self.misses += len(keys)
            return {}
        found: dict[str, Any] = {}
        bad = 0
        with self._lock:
            try:
                for i in range(0, len(keys), 500):
                    chunk = keys[i : i + 500]
                    q = f"SELECT k, v FROM {self.table} WHERE k IN ({','.join('?' * len(chunk))})"
                    for k, v in self._db.execute(q, chunk):
                        ok, value = self._decode(v)
                        if ok:
                            found[k] = value
                        else:
                            bad += 1
            except sqlite3.DatabaseError as e:
                self._quarantine(e)
                self._connect()
                found = {}
        if bad:
            self.invalid += bad
            log.warning(
                "result cache %s: %d malformed entries in '%s' ignored (they are recomputed)",
                self.path,
                bad,
                self.table,
            )
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def put_many(self, items: Mapping[str, Any]) -> None:
        if self._db is None or not items:
            return
        rows = [(k, json.dumps(v)) for k, v in items.items()]
        with self._lock:
            try:
                self._put(rows)
            except sqlite3.DatabaseError as e:
                self._quarantine(e)
                self._connect()
                self._put(rows)

    def _put(self, rows: list[tuple[str, str]]) -> None:
        assert self._db is not None
        self._db.executemany(f"INSERT OR REPLACE INTO {self.table} (k, v) VALUES (?, ?)", rows)
        self._db.commit()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
