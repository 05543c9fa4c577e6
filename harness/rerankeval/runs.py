"""The run directory: what a reranking run writes, and what reports and ``--resume`` read.

Layout (one directory per run; every file is tidy, long-form and readable with pandas)::

    <run>/
      run.json          # config, reranker specs, dataset hash, versions; "status": "running" | "finished"
      candidates.jsonl  # {problem_id, index, sha, code}                  one row per candidate
      gold.jsonl        # {problem_id, index, base_status, plus_status, passed}  ground truth, computed once
                        #   (+ base_fail_at / plus_fail_at: position of the first failing benchmark input)
      canonical.jsonl   # {problem_id, index: -1, sha, tests}              the canonical solution's matrix row
      matrix.jsonl      # {problem_id, index, sha, tests: "ppft.."}        pass matrix row (CELL chars) per candidate
      tests.jsonl       # {problem_id, test_id, ...}                        the tests used (copy of the artifact rows)
      rm_scores.jsonl   # {problem_id, index, scorer, score}                execution-free reward scores
      selections.jsonl  # {problem_id, reranker, n_samples, n_tests, chosen: [..], pick, expected_acc, scores: [..]}
      metrics.json      # {"rerankers": {name: {...}}, "plain_pass@1", "oracle_pass@n", ...}
      selected/<reranker>.jsonl   # EvalPlus samples file: one selected sample per task

``rerankeval report`` (tables, figures) and ``rerankeval view`` (a browsable site) read these files
and never execute anything from them.

Rows are appended as results complete and flushed with fsync (:class:`JsonlAppender`), so a
run killed at any moment keeps every finished row; ``--resume`` reads them back and computes
only what is missing. A run whose ``run.json`` says ``finished`` is never overwritten silently.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rerankeval.errors import InputError, RunExistsError

RUN_JSON = "run.json"


class JsonlAppender:
    """Appends JSON rows to a file, flushing and fsyncing every ``sync_every`` rows (and on close)."""

    def __init__(self, path: Path, sync_every: int = 1) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
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
        self._f.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._n += 1
        if self._n % self.sync_every == 0:
            self.flush()

    def flush(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        if not self._f.closed:
            self.flush()
            self._f.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_jsonl(path: Path, *, missing_ok: bool = False,
               allow_torn_tail: bool = True) -> Iterator[tuple[int, dict[str, Any]]]:
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
            raise InputError.at(path, no, f"not UTF-8 (byte {e.start})", "Re-encode the file as UTF-8") from None
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


def write_json_atomic(path: Path, obj: Any) -> None:
    """Writes JSON to a temporary file and renames it into place (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def open_run_dir(path: Path, *, resume: bool, overwrite: bool = False) -> dict[str, Any] | None:
    """Prepares ``path`` for a run; returns the previous run.json when resuming.

    Raises:
        RunExistsError: The directory holds a finished run and neither resume nor overwrite was asked.
    """
    path = Path(path)
    meta_path = path / RUN_JSON
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if resume:
            return meta
        if not overwrite:
            state = meta.get("status", "unknown")
            raise RunExistsError(f"{path} already holds a {state} run. Use --resume {path} to continue it, "
                                 "--overwrite to replace it, or choose another --out")
        for p in path.iterdir():
            if p.is_file():
                p.unlink()
    elif resume:
        raise InputError.at(path, None, "no run to resume here (run.json missing)", "Start it without --resume")
    path.mkdir(parents=True, exist_ok=True)
    return None
