"""HumanEval+ and MBPP+ as lm-eval datasets, read from local EvalPlus release files.

lm-eval calls :func:`humanevalplus` / :func:`mbppplus` (the tasks' ``custom_dataset``) with the
task's metadata, which lm-eval merges from the YAML, ``--model_args`` and ``--metadata``.
Which file is read, first match wins:

1. ``--metadata humaneval_path=FILE`` (``mbpp_path=FILE`` for MBPP+);
2. ``RERANKEVAL_HUMANEVAL_PATH`` / ``RERANKEVAL_MBPP_PATH``;
3. EvalPlus's own ``HUMANEVAL_OVERRIDE_PATH`` / ``MBPP_OVERRIDE_PATH``;
4. EvalPlus's download of HumanEval+ v0.1.10 / MBPP+ v0.2.0 (cached by EvalPlus; needs network once).

The Hugging Face hub is never contacted. Documents carry only what prompts and extraction need
(see :func:`doc_fields`); the test inputs stay out of the logged samples.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rerankeval.errors import InputError

if TYPE_CHECKING:
    from datasets import DatasetDict

    from rerankeval_evalplus import EvalPlusDataset

log = logging.getLogger(__name__)

__all__ = ["ENV_PATH", "METADATA_PATH", "dataset_path", "humanevalplus", "load", "mbppplus"]

#: Our variables, per dataset (EvalPlus's own override variables are read after these).
ENV_PATH = {"humaneval": "RERANKEVAL_HUMANEVAL_PATH", "mbpp": "RERANKEVAL_MBPP_PATH"}
#: Metadata keys (``--metadata humaneval_path=...``).
METADATA_PATH = {"humaneval": "humaneval_path", "mbpp": "mbpp_path"}


def dataset_path(name: str, metadata: dict[str, Any] | None = None) -> str | None:
    """The file configured for ``name`` by metadata or RERANKEVAL_* variables (None: EvalPlus decides).

    Raises:
        InputError: The configured file does not exist.
    """
    meta_key, env_key = METADATA_PATH[name], ENV_PATH[name]
    for source, value in (
        (f"--metadata {meta_key}", (metadata or {}).get(meta_key)),
        (env_key, os.environ.get(env_key)),
    ):
        if value:
            if not os.path.isfile(str(value)):
                raise InputError.at(
                    value,
                    None,
                    f"{source} names a missing {name} dataset file",
                    "Point it at an EvalPlus release file (.jsonl or .jsonl.gz)",
                )
            return str(value)
    return None


@lru_cache(maxsize=8)
def _load_cached(name: str, path: str | None, mtime: float) -> EvalPlusDataset:
    from rerankeval_evalplus import load_dataset

    return load_dataset(name, path)


def load(name: str, metadata: dict[str, Any] | None = None) -> EvalPlusDataset:
    """The EvalPlus dataset ``name`` as configured (loaded once per file and process)."""
    path = dataset_path(name, metadata)
    mtime = os.path.getmtime(path) if path else 0.0
    return _load_cached(name, path, mtime)


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
