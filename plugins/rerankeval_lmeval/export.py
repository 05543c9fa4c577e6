"""lm-eval's logged samples of a ``*_rm`` task -> a samples file.

``lm_eval --log_samples`` writes ``samples_<task>_<time>.jsonl``: one row per document and filter,
each with the document and all N raw responses (``resps``). :func:`export_samples` writes one
line per candidate, ``{"task_id", "solution"}``, in sampling order, where ``solution`` is the
program the task judged and reranked (the same extraction: EvalPlus tasks'
:func:`~rerankeval_lmeval.extract.extract_program`, LiveCodeBench's last fenced block), so
``rerankeval rerank`` / ``rerankeval evaluate`` / ``evalplus.evaluate`` score exactly what lm-eval
scored (the layout is EvalPlus's, which ``--dataset livecodebench`` also reads).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rerankeval.errors import InputError
from rerankeval_lmeval.extract import extract_program

__all__ = ["LoggedDocument", "export_samples", "read_logged_samples"]


@dataclass(frozen=True, slots=True)
class LoggedDocument:
    """One document of a logged run.

    Attributes:
        doc_id: lm-eval's document index.
        task_id: The benchmark problem.
        doc: The document (prompt, entry point, code prefix).
        responses: The N raw responses, in sampling order.
    """

    doc_id: int
    task_id: str
    doc: dict[str, Any]
    responses: tuple[str, ...]

    def programs(self) -> list[str]:
        """The extracted programs, exactly as the task computed them."""
        d = self.doc
        if "entry_point" not in d:  # livecodebench_rm: LiveCodeBench's own extraction
            from rerankeval_livecodebench.prompts import extract_code

            return [extract_code(r) for r in self.responses]
        return [
            extract_program(r, d["entry_point"], d.get("code_prefix", ""), d.get("prompt", ""))
            for r in self.responses
        ]


def _flatten(resps: Any) -> tuple[str, ...]:
    """``[[r0, .., rN-1]]`` (one request with repeats) or ``[[r0], .., [rN-1]]`` (a request per repeat)."""
    out: list[str] = []
    for r in resps:
        out.extend([r] if isinstance(r, str) else r)
    if not all(isinstance(x, str) for x in out):
        raise ValueError("responses are not strings")
    return tuple(out)


def read_logged_samples(path: str | Path) -> Iterator[LoggedDocument]:
    """Yields each document of lm-eval's samples file once (rows of other filters are skipped).

    Raises:
        InputError: A line that is not a logged sample of a ``*_rm`` task.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError.at(
            p,
            None,
            "logged samples file not found",
            "Pass the samples_<task>_<time>.jsonl that lm_eval --log_samples wrote",
        )
    seen: set[int] = set()
    with open(p, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                doc = row["doc"]
                doc_id = int(row["doc_id"])
                if doc_id in seen:
                    continue
                responses = _flatten(row["resps"])
                task_id, _ = (
                    str(doc["task_id"]),
                    doc["entry_point" if "entry_point" in doc else "instruction"],
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                raise InputError.at(
                    p,
                    no,
                    f"not a logged sample of a *_rm task ({type(e).__name__}: {e})",
                    "Pass the samples file of humaneval_plus_rm, mbpp_plus_rm or livecodebench_rm",
                ) from None
            seen.add(doc_id)
            yield LoggedDocument(doc_id, task_id, doc, responses)


def export_samples(path: str | Path, out: str | Path) -> int:
    """Writes the EvalPlus samples file of a logged run; returns the number of samples written.

    Raises:
        InputError: See :func:`read_logged_samples`; or the file holds no documents.
    """
    docs = sorted(read_logged_samples(path), key=lambda d: d.doc_id)
    if not docs:
        raise InputError.at(path, None, "no logged documents", "Run lm_eval with --log_samples")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for d in docs:
            for code in d.programs():
                f.write(json.dumps({"task_id": d.task_id, "solution": code}) + "\n")
                n += 1
    tmp.replace(out)
    return n
