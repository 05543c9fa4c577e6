"""HumanEval+, MBPP+ and LiveCodeBench as lm-eval datasets, read from local files.

lm-eval calls :func:`humanevalplus` / :func:`mbppplus` / :func:`livecodebench` (the tasks'
``custom_dataset``) with the task's metadata, which lm-eval merges from the YAML, ``--model_args``
and ``--metadata``. Which HumanEval+ / MBPP+ file is read, first match wins:

1. ``--metadata humaneval_path=FILE`` (``mbpp_path=FILE`` for MBPP+);
2. ``RERANKEVAL_HUMANEVAL_PATH`` / ``RERANKEVAL_MBPP_PATH``;
3. EvalPlus's own ``HUMANEVAL_OVERRIDE_PATH`` / ``MBPP_OVERRIDE_PATH``;
4. EvalPlus's download of HumanEval+ v0.1.10 / MBPP+ v0.2.0 (cached by EvalPlus; needs network once).

The Hugging Face hub is never contacted for them. LiveCodeBench's problems come from
``--metadata dataset_path=FILE`` (or ``livecodebench_path=FILE``, ``RERANKEVAL_LIVECODEBENCH_PATH``):
a local JSONL / JSON / Parquet file in the schema of the hub dataset
``livecodebench/code_generation_lite``; without one, from the hub at ``release`` (default
``release_v6``, downloaded once by ``huggingface_hub``). ``start_date`` / ``end_date`` (ISO days,
both inclusive) keep the problems of a contest-date window, as LiveCodeBench's ``--start_date`` /
``--end_date`` do.

Documents carry only what prompts and extraction need (see :func:`doc_fields`); the test inputs
stay out of the logged samples.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rerankeval.errors import InputError

if TYPE_CHECKING:
    from datasets import DatasetDict

    from rerankeval_evalplus import EvalPlusDataset
    from rerankeval_livecodebench import LcbDataset

log = logging.getLogger(__name__)

__all__ = [
    "ENV_PATH",
    "METADATA_PATH",
    "dataset_path",
    "humanevalplus",
    "livecodebench",
    "livecodebench_source",
    "load",
    "load_evalplus",
    "load_livecodebench",
    "mbppplus",
]

#: Our variables, per dataset (EvalPlus's own override variables are read after these).
ENV_PATH = {
    "humaneval": "RERANKEVAL_HUMANEVAL_PATH",
    "mbpp": "RERANKEVAL_MBPP_PATH",
    "livecodebench": "RERANKEVAL_LIVECODEBENCH_PATH",
}
#: Metadata keys (``--metadata humaneval_path=...``); LiveCodeBench also reads ``dataset_path``.
METADATA_PATH = {"humaneval": "humaneval_path", "mbpp": "mbpp_path", "livecodebench": "livecodebench_path"}


def dataset_path(name: str, metadata: dict[str, Any] | None = None) -> str | None:
    """The file configured for ``name`` by metadata or RERANKEVAL_* variables (None: EvalPlus decides).

    Raises:
        InputError: The configured file does not exist.
    """
    meta_key, env_key = METADATA_PATH[name], ENV_PATH[name]
    keys = [meta_key, "dataset_path"] if name == "livecodebench" else [meta_key]
    for source, value in (
        *((f"--metadata {k}", (metadata or {}).get(k)) for k in keys),
        (env_key, os.environ.get(env_key)),
    ):
        if value:
            if not os.path.isfile(str(value)):
                fix = (
                    "Point it at a JSONL or Parquet file in the schema of livecodebench/code_generation_lite"
                    if name == "livecodebench"
                    else "Point it at an EvalPlus release file (.jsonl or .jsonl.gz)"
                )
                raise InputError.at(value, None, f"{source} names a missing {name} dataset file", fix)
            return str(value)
    return None


@lru_cache(maxsize=8)
def _load_cached(name: str, path: str | None, mtime: float) -> EvalPlusDataset:
    from rerankeval_evalplus import load_dataset

    return load_dataset(name, path)


def load_evalplus(name: str, path: str | None) -> EvalPlusDataset:
    """The EvalPlus dataset ``name`` from ``path`` (None: EvalPlus decides), loaded once per file."""
    return _load_cached(name, path, os.path.getmtime(path) if path else 0.0)


def load(name: str, metadata: dict[str, Any] | None = None) -> EvalPlusDataset:
    """The EvalPlus dataset ``name`` as configured (loaded once per file and process)."""
    return load_evalplus(name, dataset_path(name, metadata))


def livecodebench_source(metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Where LiveCodeBench's problems come from: ``path`` (and its ``mtime``) or the hub
    ``release``, and the date window.

    Raises:
        InputError: The configured file does not exist.
    """
    from rerankeval_lmeval.options import option

    metadata = dict(metadata or {})
    path = dataset_path("livecodebench", metadata)
    return {
        "path": path,
        "mtime": os.path.getmtime(path) if path else 0.0,
        "release": str(option("release", metadata, "release_v6")),
        "start_date": option("start_date", metadata),
        "end_date": option("end_date", metadata),
    }


def load_livecodebench(metadata: Mapping[str, Any] | None = None) -> LcbDataset:
    """LiveCodeBench's problems as configured (see the module docstring).

    Raises:
        InputError: A missing or malformed file, a bad date or an empty window.
    """
    src = livecodebench_source(metadata)
    return _load_lcb_cached(src["path"], src["mtime"], src["release"], src["start_date"], src["end_date"])


@lru_cache(maxsize=8)
def _load_lcb_cached(
    path: str | None, mtime: float, release: str, start: str | None, end: str | None
) -> LcbDataset:
    from rerankeval_livecodebench import load_dataset

    return load_dataset(path, release=release, start_date=start, end_date=end)


#: EvalPlus's instruction and response prefix for chat models, used for every model: a base model
#: continues the open code block the same way a chat model whose answer is pre-filled does
#: (see ``prompt_style`` in :mod:`rerankeval_lmeval.options`).
INSTRUCTION = (
    "Please provide a self-contained Python script that solves the following problem in a "
    "markdown code block:\n```\n{prompt}\n```\n"
)
ANSWER_PREFIX = (
    "Below is a Python script with a self-contained function that solves the problem and passes "
    "corresponding tests:\n```python\n{code_prefix}"
)


#: Where an answer ends (the tasks' ``generation_kwargs.until``): the closing fence of its code block, or
#: code that follows the solution.
STOP = ("\n```\n", "\nif __name__ ==", "\nassert ")


def chat_prompt(doc: dict[str, str]) -> list[dict[str, str]]:
    """The chat an instruct model answers: the instruction, and the answer pre-filled with its prefix
    (as lm-eval sends it with ``--apply_chat_template``: the model continues the open code block)."""
    return [
        {"role": "user", "content": doc["instruction"]},
        {"role": "assistant", "content": doc["answer_prefix"]},
    ]


def code_prefix(name: str, prompt: str, style: str = "instruct") -> str:
    """Code that the answer prefix already holds: with the ``complete`` style, the HumanEval+ prompt
    (signature and docstring, so the model writes the body); otherwise nothing (the model writes
    the whole function; MBPP+ prompts are not code)."""
    return prompt if name == "humaneval" and style == "complete" else ""


def doc_fields(
    name: str, task_id: str, prompt: str, entry_point: str, style: str = "instruct"
) -> dict[str, str]:
    """One document (``instruction`` is the ``doc_to_text``, ``answer_prefix`` its ``gen_prefix``)."""
    pre = code_prefix(name, prompt, style)
    return {
        "task_id": task_id,
        "prompt": prompt,
        "entry_point": entry_point,
        "code_prefix": pre,
        "instruction": INSTRUCTION.format(prompt=prompt.strip()),
        "answer_prefix": ANSWER_PREFIX.format(code_prefix=pre),
    }


def _as_hf(name: str, metadata: dict[str, Any]) -> DatasetDict:
    from datasets import Dataset, DatasetDict

    from rerankeval_lmeval.options import PROMPT_STYLES, option

    style = option("prompt_style", metadata, "instruct")
    if style not in PROMPT_STYLES:
        raise InputError(f"prompt_style={style!r}: use {' or '.join(PROMPT_STYLES)}")
    ds = load(name, metadata)
    rows = [doc_fields(name, tid, p["prompt"], p["entry_point"], style) for tid, p in ds.problems.items()]
    log.info(
        "%s: %d problems from %s (EvalPlus hash %s, %s prompts)", name, len(rows), ds.path, ds.hash, style
    )
    return DatasetDict({"test": Dataset.from_list(rows)})


def humanevalplus(**metadata: Any) -> DatasetDict:
    """lm-eval ``custom_dataset`` for HumanEval+ (one ``test`` split)."""
    return _as_hf("humaneval", metadata)


def mbppplus(**metadata: Any) -> DatasetDict:
    """lm-eval ``custom_dataset`` for MBPP+ (one ``test`` split)."""
    return _as_hf("mbpp", metadata)


def livecodebench(**metadata: Any) -> DatasetDict:
    """lm-eval ``custom_dataset`` for LiveCodeBench's code generation (one ``test`` split).

    A document's ``instruction`` is LiveCodeBench's user message for chat models (the statement,
    then the starter code or the stdin instructions, see :mod:`rerankeval_livecodebench.prompts`);
    its system message is the task's ``description``. ``difficulty``, ``platform`` and
    ``contest_date`` let a user slice the logged samples.
    """
    from datasets import Dataset, DatasetDict

    from rerankeval_livecodebench.prompts import question_prompt

    ds = load_livecodebench(metadata)
    rows = [
        {
            "task_id": p.question_id,
            "instruction": question_prompt(p.content, p.starter_code),
            "answer_prefix": "",
            "difficulty": p.difficulty,
            "platform": p.platform,
            "contest_date": p.contest_date.date().isoformat(),
        }
        for p in ds.problems.values()
    ]
    log.info(
        "livecodebench: %d problems from %s (window %s .. %s)",
        len(rows),
        ds.source,
        ds.window[0] or "start",
        ds.window[1] or "end",
    )
    return DatasetDict({"test": Dataset.from_list(rows)})
