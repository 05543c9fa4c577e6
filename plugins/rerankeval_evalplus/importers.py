"""Released sample sets converted to EvalPlus samples files (one JSON line per sample).

* ``codet``: CodeT's released HumanEval generations (``*_code_solution.jsonl``: one line per task,
  ``{prompt, samples[100]}``). Task ids come from CodeT's ``HumanEval_for_code_generation.jsonl``
  (same folder, matched on the prompt). Each sample continues the prompt and often runs on past
  the function, so it is cut at CodeT's stop words, as CodeT's own evaluation does.
* ``codex``: MultiPL-E style rows ``{task_id, sample_idx, completion, ...}`` (the Codex
  davinci-002 HumanEval samples): kept as ``completion`` in ``sample_idx`` order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rerankeval.errors import InputError
from rerankeval.runs import read_jsonl

CODET_STOP_WORDS = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
FORMATS = ("codet", "codex")


def truncate_at_stop_words(text: str, stops: tuple[str, ...] = CODET_STOP_WORDS) -> str:
    """Cuts ``text`` at the first stop word (CodeT's post-processing of a completion)."""
    cut = len(text)
    for s in stops:
        i = text.find(s)
        if i != -1:
            cut = min(cut, i)
    return text[:cut]


def codet_samples(path: Path, prompts: Path | None = None) -> Iterator[dict[str, Any]]:
    """Yields ``{task_id, solution}`` rows from CodeT's released solutions file."""
    path = Path(path)
    prompts = prompts or path.with_name("HumanEval_for_code_generation.jsonl")
    if not prompts.is_file():
        raise InputError.at(
            prompts,
            None,
            "CodeT's prompt file (with task ids) not found",
            "Pass --prompts HumanEval_for_code_generation.jsonl from CodeT's release",
        )
    by_prompt = {row["prompt"]: row["task_id"] for row in read_jsonl(prompts)}
    rows = []
    for no, row in enumerate(read_jsonl(path), 1):
        if not isinstance(row.get("samples"), list) or "prompt" not in row:
            raise InputError.at(
                path,
                no,
                "not a CodeT solutions line ({prompt, samples})",
                "Use CodeT's *_code_solution.jsonl file",
            )
        if row["prompt"] not in by_prompt:
            raise InputError.at(
                path,
                no,
                "prompt matches no task in the prompt file",
                "Use the HumanEval_for_code_generation.jsonl of the same release",
            )
        rows.append((by_prompt[row["prompt"]], row))
    rows.sort(key=lambda tr: int(tr[0].split("/")[1]))
    for task_id, row in rows:
        for s in row["samples"]:
            yield {"task_id": task_id, "solution": row["prompt"] + truncate_at_stop_words(s)}


def codex_samples(path: Path) -> Iterator[dict[str, Any]]:
    """Yields ``{task_id, completion}`` rows from MultiPL-E-style sample rows, in sample order."""
    by_task: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for no, row in enumerate(read_jsonl(Path(path)), 1):
        if not isinstance(row.get("task_id"), str) or not isinstance(row.get("completion"), str):
            raise InputError.at(
                path, no, "missing task_id or completion", "Use rows with task_id and completion"
            )
        by_task[row["task_id"]].append(
            (int(row.get("sample_idx", len(by_task[row["task_id"]]))), row["completion"])
        )
    for task_id in sorted(by_task, key=lambda t: int(t.split("/")[1]) if "/" in t else 0):
        for _, completion in sorted(by_task[task_id]):
            yield {"task_id": task_id, "completion": completion}


def convert(fmt: str, path: Path, out: Path, prompts: Path | None = None) -> int:
    """Writes an EvalPlus samples file; returns the number of samples."""
    if fmt not in FORMATS:
        raise InputError(f"unknown samples format {fmt!r}. Use one of: {', '.join(FORMATS)}")
    rows = codet_samples(path, prompts) if fmt == "codet" else codex_samples(path)
    n = 0
    tmp = Path(str(out) + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
            n += 1
    tmp.replace(out)
    return n
