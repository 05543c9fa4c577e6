"""The tests artifact, ``tests.jsonl``: generated unit tests, one test per line.

Every row describes itself (there is no header line), so files can be concatenated, filtered
with ``grep``/pandas, and appended to as generation proceeds::

    {"task_id": "HumanEval/0", "test_id": "9c367bab8f2d", "test": "<source>", "style": "unittest",
     "generator": "vllm:/models/CodeRM-8B", "sample_index": 3, "count": 2}

``test`` is directly runnable by the sandbox's TestsJob (the candidate program runs first; the
test runs in a copy of its globals and passes when it raises nothing). ``test_id`` is a short
hash of the normalized source, stable across runs and machines. ``sample_index`` is the first
generation that produced the test and ``count`` how many produced it. Tests are keyed by
``(task_id, generator)``: one test set serves every policy model that is scored with it.

Generation also writes a sidecar, ``<name>.generations.jsonl``: one row per task with the raw
samples, the sampling settings and token counts; it marks a task done for ``--resume``, and the
tests can be re-derived from it without calling the model again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, get_args

from rerankeval.errors import InputError
from rerankeval.runs import JsonlAppender, read_jsonl
from rerankeval.unittests.parse import ParsedTest, TestStyle, stdio_test  # noqa: F401 - re-exported

_FIELDS: dict[str, type | tuple[type, ...]] = {
    "task_id": str,
    "test_id": str,
    "test": str,
    "style": str,
    "generator": str,
    "sample_index": int,
    "count": int,
}
#: Row styles. ``stdio`` is a stdin/stdout case (``test`` is the JSON ``{"input": ..., "output": ...}``)
#: for benchmarks whose programs read stdin (LiveCodeBench); only an adapter that turns it into a
#: test (``matrix_test``) can run it.
_STYLES = get_args(TestStyle)


@dataclass(frozen=True, slots=True)
class TestRow:
    """One generated test (one line of ``tests.jsonl``).

    Attributes:
        task_id: The benchmark problem, e.g. ``HumanEval/0``.
        test_id: Short content hash of the normalized test source (unique per task and generator).
        test: Stand-alone test source, runnable by the sandbox's TestsJob.
        style: ``unittest`` (one TestCase class plus its runner), ``assert``, or ``stdio`` (see
            :data:`ArtifactStyle`).
        generator: The backend spec (or import source) that wrote it.
        sample_index: The first generation (0-based) it came from.
        count: How many generations produced it.
    """

    task_id: str
    test_id: str
    test: str
    style: TestStyle
    generator: str
    sample_index: int
    count: int = 1

    @classmethod
    def from_parsed(cls, task_id: str, generator: str, parsed: ParsedTest) -> TestRow:
        return cls(
            task_id, parsed.test_id, parsed.source, parsed.style, generator, parsed.sample_index, parsed.count
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sidecar_path(tests_path: Path) -> Path:
    """``tests.jsonl`` -> ``tests.generations.jsonl`` (the raw generations and their settings)."""
    tests_path = Path(tests_path)
    stem = tests_path.name[: -len(".jsonl")] if tests_path.name.endswith(".jsonl") else tests_path.name
    return tests_path.with_name(f"{stem}.generations.jsonl")


def _row(path: Path, line: int, raw: dict[str, Any]) -> TestRow:
    for name, typ in _FIELDS.items():
        if name not in raw:
            if name == "count":
                continue
            raise InputError.at(
                path, line, f"field '{name}' is missing", f"Each row needs: {', '.join(_FIELDS)}"
            )
        value = raw[name]
        if not isinstance(value, typ) or isinstance(value, bool):
            raise InputError.at(
                path,
                line,
                f"field '{name}' is {type(value).__name__}, not {typ.__name__}",  # type: ignore[union-attr]
                "Fix that row or regenerate the file",
            )
    if raw["style"] not in _STYLES:
        raise InputError.at(
            path, line, f"style '{raw['style']}' is unknown", f"Use one of: {', '.join(_STYLES)}"
        )
    if not raw["test"].strip():
        raise InputError.at(path, line, "the test source is empty", "Drop that row")
    if raw["sample_index"] < 0 or raw.get("count", 1) < 1:
        raise InputError.at(path, line, "sample_index must be >= 0 and count >= 1", "Fix that row")
    if raw["style"] == "stdio":
        _check_stdio(path, line, raw)
        return TestRow(
            raw["task_id"], raw["test_id"], raw["test"], "stdio", raw["generator"], raw["sample_index"],
            raw.get("count", 1),
        )  # fmt: skip
    try:
        compile(raw["test"], f"<test {raw['test_id']}>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        # Otherwise it would become a column that every candidate fails, silently.
        raise InputError.at(
            path,
            line,
            f"test {raw['test_id']} of {raw['task_id']} does not compile "
            f"({type(e).__name__}: {getattr(e, 'msg', e)})",
            "Drop that row or regenerate the tests",
        ) from None
    return TestRow(
        raw["task_id"],
        raw["test_id"],
        raw["test"],
        raw["style"],
        raw["generator"],
        raw["sample_index"],
        raw.get("count", 1),
    )


def _check_stdio(path: Path, line: int, raw: dict[str, Any]) -> None:
    try:
        case = json.loads(raw["test"])
    except json.JSONDecodeError:
        case = None
    if not (
        isinstance(case, dict) and isinstance(case.get("input"), str) and isinstance(case.get("output"), str)
    ):
        raise InputError.at(
            path, line, 'a stdio test must be the JSON {"input": str, "output": str}', "Fix that row"
        )


def iter_tests(path: Path) -> Iterator[tuple[int, TestRow]]:
    """Yields ``(line number, row)`` for each row of a tests file, validating each.

    Raises:
        InputError: A malformed row (naming file and line), or a repeated
            ``(task_id, generator, test_id)`` key.
    """
    path = Path(path)
    seen: dict[tuple[str, str, str], int] = {}
    line = 0
    for raw in read_jsonl(path):
        line += 1
        row = _row(path, line, raw)
        key = (row.task_id, row.generator, row.test_id)
        if key in seen:
            raise InputError.at(
                path,
                line,
                f"test {row.test_id} of {row.task_id} by {row.generator} repeats line {seen[key]}",
                "Delete the repeated row",
            )
        seen[key] = line
        yield line, row


def read_tests(path: Path, generator: str | None = None) -> list[TestRow]:
    """Reads and validates a tests file.

    Args:
        path: The ``tests.jsonl`` file.
        generator: Keep only this generator's tests. When None, the file must hold one generator.

    Raises:
        InputError: Malformed rows, or several generators in the file and none chosen.
    """
    rows = [row for _, row in iter_tests(path)]
    generators = sorted({r.generator for r in rows})
    if generator is not None:
        if generator not in generators:
            raise InputError.at(
                path,
                None,
                f"no tests by generator '{generator}'",
                f"The file holds: {', '.join(generators) or '(no rows)'}",
            )
        return [r for r in rows if r.generator == generator]
    if len(generators) > 1:
        raise InputError.at(
            path,
            None,
            f"tests from {len(generators)} generators ({', '.join(generators)})",
            "Choose one with --generator",
        )
    return rows


def tests_by_task(rows: Iterable[TestRow]) -> dict[str, list[TestRow]]:
    """Groups rows by task, keeping file order within each task."""
    out: dict[str, list[TestRow]] = {}
    for r in rows:
        out.setdefault(r.task_id, []).append(r)
    return out


def write_tests(path: Path, rows: Iterable[TestRow], append: bool = False) -> int:
    """Writes rows (fsynced); returns how many. Without ``append`` an existing file is replaced."""
    path = Path(path)
    if not append and path.exists():
        path.unlink()
    n = 0
    with JsonlAppender(path, sync_every=1000) as out:
        for r in rows:
            out.write(r.to_json())
            n += 1
    return n
