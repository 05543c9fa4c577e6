"""Candidate programs for LiveCodeBench problems.

Two layouts, one per line of a JSONL file: ``{"question_id"|"task_id": ..., "code"|"solution": ...}``
(one sample per line; the index is the order within the problem), or LiveCodeBench's own output
rows ``{"question_id": ..., "code_list": [...]}`` (all samples of a problem).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from rerankeval.core.types import Candidate
from rerankeval.errors import InputError
from rerankeval_livecodebench.data import LcbDataset

log = logging.getLogger(__name__)


def read_samples(path: Path, dataset: LcbDataset) -> list[Candidate]:
    """The candidates of ``path``, indexed per problem in file order.

    Samples of problems outside the dataset's date window are left out (logged); with no window,
    an unknown problem is an error naming its line.

    Raises:
        InputError: A line that is not JSON or lacks a problem id or a program.
    """
    windowed = dataset.window != (None, None)
    out: list[Candidate] = []
    count: dict[str, int] = {}
    skipped = 0
    for no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError.at(path, no, f"not JSON ({e.msg})", "Fix or remove that line") from None
        pid = row.get("question_id", row.get("task_id")) if isinstance(row, dict) else None
        if pid is None:
            raise InputError.at(path, no, "no question_id or task_id", "Name the problem of each sample")
        pid = str(pid)
        if "code_list" in row:
            codes = row["code_list"]
        elif "code" in row or "solution" in row:
            codes = [row.get("code", row.get("solution"))]
        else:
            raise InputError.at(path, no, "no code, solution or code_list", "Give each sample's program")
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise InputError.at(path, no, "programs must be strings", "Give the code as text")
        if pid not in dataset.problems:
            if windowed:
                skipped += len(codes)
                continue
            raise InputError.at(
                path, no, f"problem {pid!r} is not in {dataset.source}", "Use samples of this dataset"
            )
        for code in codes:
            out.append(Candidate(pid, count.get(pid, 0), code))
            count[pid] = count.get(pid, 0) + 1
    if skipped:
        log.warning("%d samples of problems outside the date window %s are left out", skipped, dataset.window)
    return out
