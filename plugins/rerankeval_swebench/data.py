"""SWE-bench instances and candidate patches in, as plain typed values.

Candidates are several predictions per ``instance_id``: several predictions files (one per run
or agent), or one file with many rows per instance, or both. Each row needs ``instance_id`` and
``model_patch``; ``model_name_or_path`` (or ``model``) names the model as the SWE-bench harness
sees it; ``run`` or ``system`` names the run; ``resolved`` is a known label; ``trajectory`` (text
or a list of ``{role, content}`` messages) feeds the trajectory template. A file is JSON Lines,
or a ``.json`` holding a list of rows or SWE-bench's older ``{instance_id: row}`` mapping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rerankeval.errors import InputError


@dataclass(frozen=True, slots=True)
class SweInstance:
    """One SWE-bench task (the fields a reward model reads).

    Attributes:
        instance_id: E.g. ``django__django-11099``.
        repo: ``owner/name`` of the repository.
        problem_statement: The issue text.
        hints_text: Comments made before the fix (empty when absent).
    """

    instance_id: str
    repo: str
    problem_statement: str
    hints_text: str = ""


@dataclass(frozen=True, slots=True)
class SweCandidate:
    """One candidate patch for an instance.

    Attributes:
        instance_id: The instance it answers.
        index: Position among that instance's candidates (files in the given order, then rows).
        run: The run that produced it (``run``, ``system``, the model name, or the file's stem).
        model_name_or_path: The model name the SWE-bench harness keys its reports by.
        model_patch: The diff ("" when the run produced none).
        source: ``file:line`` it was read from.
        resolved: Known label (``resolved`` field), or None.
        trajectory: The agent's trajectory as text, or None.
    """

    instance_id: str
    index: int
    run: str
    model_name_or_path: str
    model_patch: str
    source: str
    resolved: bool | None = None
    trajectory: str | None = None


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or position, row) pairs of a JSONL or JSON file."""
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise InputError.at(
                path, None, f"cannot read JSON ({e})", "Give a JSON list or a JSONL file"
            ) from None
        if isinstance(data, dict):
            data = [{"instance_id": k, **v} for k, v in data.items() if isinstance(v, dict)]
        if not isinstance(data, list):
            raise InputError.at(path, None, "a JSON list of rows was expected", "Give a list or JSON Lines")
        for i, row in enumerate(data, 1):
            if not isinstance(row, dict):
                raise InputError.at(path, i, "a JSON object was expected", "Each row must be an object")
            yield i, row
        return
    with open(path, encoding="utf-8") as f:
        for line, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as e:
                raise InputError.at(
                    path, line, f"not valid JSON ({e.msg})", "Fix or delete that line"
                ) from None
            if not isinstance(row, dict):
                raise InputError.at(path, line, "a JSON object was expected", "Each line must be one object")
            yield line, row


def read_instances(path: Path, split: str = "test") -> dict[str, SweInstance]:
    """Instances by id from a local ``.jsonl``/``.json`` file, else through SWE-bench's loader.

    Args:
        path: A local file, a ``.parquet`` file or a dataset name such as
            ``SWE-bench/SWE-bench_Lite`` (those two go through ``load_swebench_dataset``).
        split: Split for dataset names.

    Raises:
        InputError: A missing file or a row without ``instance_id``/``problem_statement``.
    """
    path = Path(path)
    if path.suffix in (".jsonl", ".json"):
        if not path.is_file():
            raise InputError.at(path, None, "instances file not found", "Check the path (SWE-bench JSONL)")
        rows = list(_rows(path))
    else:
        from swebench.harness.utils import load_swebench_dataset

        rows = list(enumerate(load_swebench_dataset(str(path), split), 1))
    out: dict[str, SweInstance] = {}
    for line, row in rows:
        if not isinstance(row.get("instance_id"), str) or not isinstance(row.get("problem_statement"), str):
            raise InputError.at(
                path,
                line,
                "row lacks instance_id or problem_statement",
                "Use the SWE-bench dataset rows (all fields)",
            )
        out[row["instance_id"]] = SweInstance(
            row["instance_id"],
            str(row.get("repo", "")),
            row["problem_statement"],
            str(row.get("hints_text") or ""),
        )
    return out


def _trajectory(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for m in value:
            if isinstance(m, dict):
                parts.append(f"[{m.get('role', '?')}]\n{m.get('content', '')}")
            else:
                parts.append(str(m))
        return "\n\n".join(parts)
    return json.dumps(value)


def read_candidates(paths: Sequence[Path], run_field: str | None = None) -> list[SweCandidate]:
    """Every candidate of every file, indexed per instance in reading order.

    Args:
        paths: Predictions files (one per run, or one with many rows per instance).
        run_field: Row field that names the run (default: ``run``, else ``system``, else the
            model name, else the file's stem).

    Raises:
        InputError: A missing file, or a row without ``instance_id`` or with a non-text patch.
    """
    out: list[SweCandidate] = []
    counts: dict[str, int] = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise InputError.at(path, None, "candidates file not found", "Check the path")
        for line, row in _rows(path):
            iid = row.get("instance_id")
            patch = row.get("model_patch")
            if not isinstance(iid, str):
                raise InputError.at(
                    path, line, "row lacks instance_id", "Each candidate row needs instance_id"
                )
            if patch is not None and not isinstance(patch, str):
                raise InputError.at(
                    path, line, "model_patch is not text", "model_patch must be a diff string"
                )
            model = str(row.get("model_name_or_path") or row.get("model") or path.stem)
            run = str(row.get(run_field) if run_field else (row.get("run") or row.get("system") or model))
            resolved = row.get("resolved")
            idx = counts.get(iid, 0)
            counts[iid] = idx + 1
            out.append(
                SweCandidate(
                    iid,
                    idx,
                    run,
                    model,
                    patch or "",
                    f"{path}:{line}",
                    resolved if isinstance(resolved, bool) else None,
                    _trajectory(row.get("trajectory")),
                )
            )
    return out


def group_by_instance(candidates: Sequence[SweCandidate]) -> dict[str, list[SweCandidate]]:
    """Candidates per instance, in index order; instances in order of first appearance."""
    out: dict[str, list[SweCandidate]] = {}
    for c in candidates:
        out.setdefault(c.instance_id, []).append(c)
    return out
