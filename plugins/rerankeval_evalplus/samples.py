"""EvalPlus samples files in (JSONL or a folder of ``.py`` files), validated with line numbers."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rerankeval.errors import InputError
from rerankeval.runs import iter_jsonl
from rerankeval_evalplus.dataset import EvalPlusDataset


@dataclass(frozen=True, slots=True)
class Sample:
    """One candidate program.

    Attributes:
        task_id: The problem.
        index: Position among this task's samples, in file order (EvalPlus's ``completion_id``).
        solution: The full program (a ``completion`` has the prompt prepended, as EvalPlus does).
        line: Line in the samples file (0 for a folder), for error messages.
    """

    task_id: str
    index: int
    solution: str
    line: int = 0


def _check_task(path: Path, no: int, task_id: object, dataset: EvalPlusDataset) -> str:
    if not isinstance(task_id, str):
        raise InputError.at(
            path, no, "missing or non-string 'task_id'", "Each line needs a task_id like HumanEval/0"
        )
    if task_id not in dataset.problems:
        other = "mbpp" if dataset.name == "humaneval" else "humaneval"
        if task_id.startswith("Mbpp/" if dataset.name == "humaneval" else "HumanEval/"):
            raise InputError.at(
                path,
                no,
                f"task {task_id!r} belongs to another dataset",
                f"These samples are for {other}: use --dataset {other}",
            )
        raise InputError.at(
            path,
            no,
            f"unknown task id {task_id!r} for {dataset.name}",
            f"Use task ids of {dataset.name} (e.g. {next(iter(dataset.problems))})",
        )
    return task_id


def read_samples(path: str | os.PathLike[str], dataset: EvalPlusDataset) -> list[Sample]:
    """Reads an EvalPlus samples file: ``task_id`` plus ``solution`` or ``completion`` per line.

    Raises:
        InputError: Missing file, bad JSON, bad fields, non-UTF-8 bytes, unknown or foreign task ids,
            or no samples at all; the message names the file and line.
    """
    p = Path(path)
    if p.is_dir():
        return _read_folder(p, dataset)
    if not p.is_file():
        raise InputError.at(
            p, None, "samples file not found", "Pass an EvalPlus samples .jsonl file or folder"
        )
    counts: Counter[str] = Counter()
    out: list[Sample] = []
    for no, row in iter_jsonl(p, allow_torn_tail=False):
        task_id = _check_task(p, no, row.get("task_id"), dataset)
        if isinstance(row.get("solution"), str):
            code = row["solution"]
        elif isinstance(row.get("completion"), str):
            code = dataset.problems[task_id]["prompt"] + row["completion"]
        else:
            raise InputError.at(
                p,
                no,
                "no string 'solution' or 'completion'",
                "Give the full program as 'solution' or the continuation as 'completion'",
            )
        out.append(Sample(task_id, counts[task_id], code, no))
        counts[task_id] += 1
    if not out:
        raise InputError.at(p, None, "the samples file holds no samples", "Add one JSON line per sample")
    return out


def _read_folder(p: Path, dataset: EvalPlusDataset) -> list[Sample]:
    """EvalPlus's folder format: ``<task_id with _ for />/<n>.py`` holding full programs."""
    out: list[Sample] = []
    for task_dir in sorted(d for d in p.iterdir() if d.is_dir()):
        task_id = _check_task(task_dir, None, task_dir.name.replace("_", "/"), dataset)  # type: ignore[arg-type]
        files = sorted((f for f in task_dir.glob("*.py")), key=lambda f: (len(f.stem), f.stem))
        for i, f in enumerate(files):
            out.append(Sample(task_id, i, f.read_text(encoding="utf-8", errors="replace")))
    if not out:
        raise InputError.at(p, None, "no samples found in the folder", "Use <task_id>/<n>.py files")
    return out
