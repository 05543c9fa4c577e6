"""Importers for unit tests released with the CodeT and CodeRM papers.

* **CodeT** (microsoft/CodeT ``data/generated_data/*_test_case.jsonl``): one line per problem,
  ``{"prompt", "samples": [str, ...]}``; each sample continues a prompt that ends in ``assert ``.
  The task id comes from matching the prompt against the dataset file CodeT generated from
  (``<Dataset>_for_test_case_generation.jsonl``, next to the samples by default). Asserts are
  extracted exactly as CodeT's ``PostProcessor.test_case_extract`` does (first 5 per sample) and
  deduplicated by source, with multiplicities kept in ``count``.
* **CodeRM** (RUCKBReasoning/CodeRM ``data/result/<benchmark>/ut_<model>_<n>.jsonl``, written by
  its ``preprocess/extract_unit_test.py``): one line per problem, ``{"task_id", "unit_tests":
  [str, ...]}``. Each string is a unittest module (imports, one TestCase class) followed by
  CodeRM's runner, which needs the ``output`` and ``locals_dict`` names of CodeRM's executor:
  that runner is removed and ours appended. ``unit_tests`` given as a JSON string of
  ``[{"ut_id", "code"}, ...]`` (the CodeRM-UnitTest dataset's layout) is read too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from rerankeval.errors import InputError
from rerankeval.runs import read_jsonl
from rerankeval.unittests.artifact import TestRow
from rerankeval.unittests.parse import CODET_LIMIT, ParsedTest, normalize_source, split_unittest_classes

_CODERM_RUNNER = re.compile(r"^suite\s*=\s*unittest\.TestLoader\(\)", re.MULTILINE)


def codet_source_path(samples_path: Path) -> Path:
    """The dataset file CodeT generated a samples file from: ``HumanEval_..._test_case.jsonl`` ->
    ``HumanEval_for_test_case_generation.jsonl`` in the same folder."""
    samples_path = Path(samples_path)
    dataset = samples_path.name.split("_", 1)[0]
    return samples_path.with_name(f"{dataset}_for_test_case_generation.jsonl")


def _codet_tasks(source: Path) -> dict[str, dict[str, str]]:
    if not source.is_file():
        raise InputError.at(
            source,
            None,
            "CodeT's dataset file not found (it maps prompts to task ids)",
            "Pass it with --source, e.g. HumanEval_for_test_case_generation.jsonl",
        )
    tasks: dict[str, dict[str, str]] = {}
    for no, row in enumerate(read_jsonl(source), 1):
        if not all(isinstance(row.get(k), str) for k in ("task_id", "prompt", "entry_point")):
            raise InputError.at(
                source,
                no,
                "needs string fields task_id, prompt, entry_point",
                "Use CodeT's *_for_test_case_generation.jsonl",
            )
        tasks[row["prompt"]] = row
    return tasks


def import_codet(
    path: Path, source: Path | None = None, limit: int = CODET_LIMIT, generator: str | None = None
) -> list[TestRow]:
    """Reads CodeT's released test-case generations into test rows.

    Args:
        path: A CodeT ``*_test_case.jsonl`` file.
        source: CodeT's ``*_for_test_case_generation.jsonl`` (default: found next to ``path``).
        limit: Asserts kept per sample (CodeT: 5).
        generator: Name recorded in the rows (default ``codet:<file stem>``).

    Raises:
        InputError: A malformed line, or a prompt that matches no task of ``source``.
    """
    from rerankeval.unittests.parse import parse_generations

    path = Path(path)
    source = Path(source) if source is not None else codet_source_path(path)
    tasks = _codet_tasks(source)
    name = generator or f"codet:{path.stem}"
    rows: list[TestRow] = []
    for no, raw in enumerate(read_jsonl(path), 1):
        samples = raw.get("samples")
        if (
            not isinstance(raw.get("prompt"), str)
            or not isinstance(samples, list)
            or not all(isinstance(s, str) for s in samples)
        ):
            raise InputError.at(
                path,
                no,
                'expected {"prompt": str, "samples": [str, ...]}',
                "Use a CodeT *_test_case.jsonl file",
            )
        task = tasks.get(raw["prompt"])
        if task is None:
            raise InputError.at(
                path,
                no,
                f"the prompt matches no task of {source}",
                "Pass the dataset file the samples were generated from with --source",
            )
        for test in parse_generations(samples, task["entry_point"], "assert", limit=limit, dedupe="text"):
            rows.append(TestRow.from_parsed(task["task_id"], name, test))
    return rows


def _coderm_tests(path: Path, no: int, value: object) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError.at(
                path, no, "unit_tests is a string that is not JSON", "Give a list of test sources"
            ) from None
    if isinstance(value, list) and all(isinstance(v, dict) and isinstance(v.get("code"), str) for v in value):
        return [v["code"] for v in value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InputError.at(
        path,
        no,
        'unit_tests must be a list of sources (or of {"code": ...} objects)',
        "Use CodeRM's ut_<model>_<n>.jsonl",
    )


def strip_coderm_runner(source: str) -> str:
    """A CodeRM unit test without CodeRM's runner lines (``suite = unittest.TestLoader()...``)."""
    match = _CODERM_RUNNER.search(source)
    return source if match is None else source[: match.start()].rstrip() + "\n"


def import_coderm(
    path: Path, entry_points: Mapping[str, str] | None = None, generator: str | None = None
) -> list[TestRow]:
    """Reads CodeRM's released unit tests into test rows (our runner replaces theirs).

    Args:
        path: A CodeRM ``ut_<model>_<n>.jsonl`` file.
        entry_points: ``task_id -> function name``; when given, redefinitions of the function
            under test inside a test are dropped (CodeRM's extraction already removes most).
        generator: Name recorded in the rows (default ``coderm:<file stem>``).

    Raises:
        InputError: A malformed line.
    """
    path = Path(path)
    name = generator or f"coderm:{path.stem}"
    rows: list[TestRow] = []
    for no, raw in enumerate(read_jsonl(path), 1):
        task_id = raw.get("task_id")
        if not isinstance(task_id, str | int) or "unit_tests" not in raw:
            raise InputError.at(
                path, no, 'expected {"task_id", "unit_tests": [...]}', "Use CodeRM's ut_<model>_<n>.jsonl"
            )
        task_id = str(task_id)
        entry = (entry_points or {}).get(task_id)
        found: dict[str, ParsedTest] = {}
        for index, source in enumerate(_coderm_tests(path, no, raw["unit_tests"])):
            for test in split_unittest_classes(strip_coderm_runner(source), entry):
                key = normalize_source(test)
                prev = found.get(key)
                found[key] = (
                    ParsedTest(key, "unittest", index)
                    if prev is None
                    else ParsedTest(prev.source, "unittest", prev.sample_index, prev.count + 1)
                )
        rows.extend(TestRow.from_parsed(task_id, name, t) for t in found.values())
    return rows
