"""HumanEval+ and MBPP+ problems, loaded the way EvalPlus 0.3.1 loads them.

Where the file comes from, in order: an explicit ``path`` (``--dataset-path``); EvalPlus's own
override variables ``HUMANEVAL_OVERRIDE_PATH`` / ``MBPP_OVERRIDE_PATH``; otherwise EvalPlus's
download (HumanEval+ v0.1.10, MBPP+ v0.2.0, cached under EvalPlus's cache directory).
The dataset hash is EvalPlus's (md5 of the file), so ground-truth caches are shared with it.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rerankeval.errors import InputError, RerankEvalError

DatasetName = Literal["humaneval", "mbpp"]
DATASETS: tuple[DatasetName, ...] = ("humaneval", "mbpp")
_ENV = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}
_REQUIRED = ("task_id", "prompt", "entry_point", "canonical_solution", "base_input", "plus_input", "atol")


@dataclass(frozen=True)
class EvalPlusDataset:
    """A loaded benchmark.

    Attributes:
        name: ``humaneval`` or ``mbpp``.
        path: The file it was read from.
        hash: EvalPlus's dataset hash (md5 of the file bytes).
        problems: task_id -> EvalPlus problem dict (MBPP+ inputs already deserialized), in file order.
    """

    name: DatasetName
    path: str
    hash: str
    problems: dict[str, dict[str, Any]] = field(repr=False)

    def task_ids(self) -> list[str]:
        return list(self.problems)


def _resolve_path(name: DatasetName, path: str | os.PathLike[str] | None) -> str:
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise InputError.at(
                p,
                None,
                f"{name} dataset file not found",
                "Pass --dataset-path to an EvalPlus .jsonl or .jsonl.gz file",
            )
        return str(p)
    env = os.environ.get(_ENV[name])
    if env:
        if not Path(env).is_file():
            raise InputError.at(
                env, None, f"{_ENV[name]} points to a missing file", f"Fix or unset {_ENV[name]}"
            )
        return env
    return _download(name)


def _download(name: DatasetName) -> str:
    """EvalPlus's own download of the release file (needs network)."""
    from evalplus.data.humaneval import HUMANEVAL_PLUS_VERSION
    from evalplus.data.mbpp import MBPP_PLUS_VERSION
    from evalplus.data.utils import get_dataset_metadata, make_cache

    label, version = (
        ("HumanEvalPlus", HUMANEVAL_PLUS_VERSION) if name == "humaneval" else ("MbppPlus", MBPP_PLUS_VERSION)
    )
    url, plus_path = get_dataset_metadata(label, version, False, False)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            make_cache(url, plus_path)
    except Exception as e:  # noqa: BLE001 - offline machines end here
        raise RerankEvalError(
            f"cannot download {label} {version} ({type(e).__name__}: {e}). On an offline machine pass "
            f"--dataset-path FILE or set {_ENV[name]}=FILE (an EvalPlus release file)"
        ) from None
    return plus_path


def _read(name: DatasetName, path: str) -> dict[str, dict[str, Any]]:
    opener = gzip.open if path.endswith(".gz") else open
    problems: dict[str, dict[str, Any]] = {}
    try:
        with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
            for no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    task = json.loads(line)
                except json.JSONDecodeError as e:
                    raise InputError.at(
                        path, no, f"not valid JSON ({e.msg})", "Use an unmodified EvalPlus release file"
                    ) from None
                missing = [k for k in _REQUIRED if k not in task]
                if missing:
                    raise InputError.at(
                        path,
                        no,
                        f"not an EvalPlus {name} problem (missing {', '.join(missing)})",
                        "Use an EvalPlus HumanEval+/MBPP+ release file",
                    )
                problems[task["task_id"]] = task
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InputError.at(
            path,
            None,
            f"cannot read the dataset ({type(e).__name__}: {e})",
            "Use an EvalPlus .jsonl or .jsonl.gz release file",
        ) from None
    if not problems:
        raise InputError.at(path, None, "the dataset file holds no problems", "Use an EvalPlus release file")
    prefix = "HumanEval/" if name == "humaneval" else "Mbpp/"
    if not next(iter(problems)).startswith(prefix):
        other = "mbpp" if name == "humaneval" else "humaneval"
        raise InputError.at(
            path,
            1,
            f"this is not a {name} file (task ids like {next(iter(problems))!r})",
            f"Use --dataset {other}, or point at the {name} file",
        )
    if name == "mbpp":
        from evalplus.data.mbpp import mbpp_deserialize_inputs

        for task_id, task in problems.items():
            task["base_input"] = mbpp_deserialize_inputs(task_id, task["base_input"])
            task["plus_input"] = mbpp_deserialize_inputs(task_id, task["plus_input"])
    return problems


def load_dataset(name: str, path: str | os.PathLike[str] | None = None) -> EvalPlusDataset:
    """Loads HumanEval+ or MBPP+ as EvalPlus 0.3.1 does.

    Args:
        name: ``humaneval`` or ``mbpp``.
        path: An EvalPlus release file; None = the override variable or EvalPlus's download.

    Raises:
        InputError: Unknown name, missing or malformed file, or a file of the other dataset.
        RerankEvalError: The download failed (offline).
    """
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}. Use one of: {', '.join(DATASETS)}")
    resolved = _resolve_path(name, path)  # type: ignore[arg-type]
    with open(resolved, "rb") as f:
        digest = hashlib.md5(f.read()).hexdigest()
    return EvalPlusDataset(name=name, path=resolved, hash=digest, problems=_read(name, resolved))  # type: ignore[arg-type]
