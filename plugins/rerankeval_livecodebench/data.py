"""LiveCodeBench code-generation problems, read as LiveCodeBench reads them.

Source, in order: a local file in the hub dataset's schema (``--dataset-path``: JSONL, JSONL.gz,
a JSON list or Parquet), or the hub dataset ``livecodebench/code_generation_lite`` at a release tag
(its JSONL files, downloaded with ``huggingface_hub``). A row holds ``question_title,
question_content, platform, question_id, contest_id, contest_date, starter_code, difficulty,
public_test_cases`` (a JSON string), ``private_test_cases`` (a JSON string, or base64 of zlib of a
pickled JSON string) and ``metadata`` (a JSON string with ``func_name`` for functional problems),
as ``lcb_runner/benchmarks/code_generation.py`` decodes them. The date window keeps the problems
whose contest date lies in ``[start_date, end_date]`` (days, both inclusive), as LiveCodeBench's
``filter_dataset_by_date`` does.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import pickle
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rerankeval.core.types import Problem
from rerankeval.errors import InputError, RerankEvalError

HUB_DATASET = "livecodebench/code_generation_lite"
#: The hub dataset's files per release tag (each release adds one file to the one before).
RELEASE_FILES: dict[str, tuple[str, ...]] = {
    f"release_v{k}": tuple("test.jsonl" if i == 1 else f"test{i}.jsonl" for i in range(1, k + 1))
    for k in range(1, 7)
}
RELEASE_FILES["release_latest"] = RELEASE_FILES["release_v6"]
DIFFICULTIES = ("easy", "medium", "hard")
_REQUIRED = (
    "question_title",
    "question_content",
    "platform",
    "question_id",
    "contest_date",
    "starter_code",
    "difficulty",
    "public_test_cases",
    "private_test_cases",
    "metadata",
)


@dataclass(frozen=True, slots=True)
class LcbTest:
    """One test case as the dataset stores it: ``input`` and ``output`` are strings (stdin text and
    expected stdout, or newline-separated JSON arguments and a JSON result)."""

    input: str
    output: str
    testtype: str


@dataclass(frozen=True)
class LcbProblem:
    """One problem.

    Attributes:
        question_id: The dataset's id (the problem id in runs and samples files).
        title: ``question_title``.
        content: The statement (``question_content``).
        platform: ``leetcode``, ``codeforces`` or ``atcoder``.
        contest_date: The contest's date.
        starter_code: The function signature of functional problems ("" for stdin ones).
        difficulty: ``easy``, ``medium`` or ``hard``.
        public_tests: The tests shown in the statement.
        private_tests: The hidden tests.
        fn_name: The function to call for functional problems; None for stdin problems.
    """

    question_id: str
    title: str
    content: str
    platform: str
    contest_date: datetime
    starter_code: str
    difficulty: str
    public_tests: tuple[LcbTest, ...] = field(repr=False)
    private_tests: tuple[LcbTest, ...] = field(repr=False)
    fn_name: str | None = None

    @property
    def tests(self) -> tuple[LcbTest, ...]:
        """Public then private, the order LiveCodeBench grades them in."""
        return self.public_tests + self.private_tests

    @property
    def is_stdin(self) -> bool:
        return self.fn_name is None

    def core(self) -> Problem:
        """The engine's view: the statement as the prompt, the function (if any) as the entry point,
        the starter code as the stub a test writer is shown."""
        return Problem(self.question_id, self.content, self.fn_name or "", "", self.starter_code)

    def evaluation_sample(self) -> dict[str, str]:
        """LiveCodeBench's ``get_evaluation_sample()``: what its ``run_test`` takes."""
        return {
            "input_output": json.dumps(
                {
                    "inputs": [t.input for t in self.tests],
                    "outputs": [t.output for t in self.tests],
                    "fn_name": self.fn_name,
                }
            )
        }


@dataclass(frozen=True)
class LcbDataset:
    """Loaded problems.

    Attributes:
        name: ``livecodebench``.
        source: The file or the hub release it came from.
        hash: sha256 over the source bytes and the date window (ground-truth caches key on it).
        problems: question_id -> problem, in source order.
        window: The date window applied (ISO dates or None).
    """

    source: str
    hash: str
    problems: dict[str, LcbProblem] = field(repr=False)
    window: tuple[str | None, str | None] = (None, None)
    name: str = "livecodebench"


class _StrOnly(pickle.Unpickler):
    """The private tests are a pickled string: anything but plain data is refused, never built."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"private_test_cases pickles a {module}.{name}, not a string")


def decode_private(raw: str) -> list[dict[str, Any]]:
    """``private_test_cases`` as LiveCodeBench decodes it: JSON, else base64 -> zlib -> pickle -> JSON."""
    try:
        return list(json.loads(raw))
    except (json.JSONDecodeError, TypeError):
        pass
    text = _StrOnly(io.BytesIO(zlib.decompress(base64.b64decode(raw.encode("utf-8"))))).load()
    if not isinstance(text, str):
        raise ValueError(f"private_test_cases unpickles to a {type(text).__name__}, not a JSON string")
    return list(json.loads(text))


def _date(value: str | date | None, what: str) -> date | None:
    """A day from ``YYYY-MM-DD`` (or a longer ISO timestamp), as LiveCodeBench's ``parse_date``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.strptime(str(value)[:10], "%Y-%m-%d").date()
    except ValueError:
        raise InputError(f"{what} {value!r} is not a date. Give YYYY-MM-DD") from None


def parse_problem(row: Mapping[str, Any], where: str = "row") -> LcbProblem:
    """One dataset row into a problem.

    Raises:
        InputError: A missing field, an unknown difficulty or test type, or undecodable tests.
    """
    missing = [k for k in _REQUIRED if k not in row]
    if missing:
        raise InputError(
            f"{where}: not a LiveCodeBench code-generation row (missing {', '.join(missing)}). "
            f"Use a file in the schema of {HUB_DATASET}"
        )
    qid = str(row["question_id"])
    try:
        public = [
            LcbTest(str(t["input"]), str(t["output"]), str(t["testtype"]))
            for t in json.loads(row["public_test_cases"])
        ]
        private = [
            LcbTest(str(t["input"]), str(t["output"]), str(t["testtype"]))
            for t in decode_private(row["private_test_cases"])
        ]
        meta = json.loads(row["metadata"]) if isinstance(row["metadata"], str) else dict(row["metadata"])
        when = datetime.fromisoformat(str(row["contest_date"]))
    except (ValueError, TypeError, KeyError, zlib.error, pickle.UnpicklingError, EOFError) as e:
        raise InputError(
            f"{where} ({qid}): cannot decode its tests or metadata: {type(e).__name__}: {e}"
        ) from None
    kinds = {t.testtype for t in public + private}
    if not kinds <= {"stdin", "functional"}:
        raise InputError(f"{where} ({qid}): unknown test type(s) {sorted(kinds - {'stdin', 'functional'})}")
    difficulty = str(row["difficulty"])
    if difficulty not in DIFFICULTIES:
        raise InputError(
            f"{where} ({qid}): difficulty {difficulty!r} is not one of {', '.join(DIFFICULTIES)}"
        )
    fn = meta.get("func_name")
    return LcbProblem(
        qid,
        str(row["question_title"]),
        str(row["question_content"]),
        str(row["platform"]),
        when,
        str(row["starter_code"] or ""),
        difficulty,
        tuple(public),
        tuple(private),
        str(fn) if fn else None,
    )


def _read_rows(path: Path) -> Iterable[tuple[str, Mapping[str, Any]]]:
    name = path.name.lower()
    if name.endswith(".parquet"):
        import pandas as pd

        for i, rec in enumerate(pd.read_parquet(path).to_dict(orient="records")):
            yield f"{path} row {i + 1}", rec
        return
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        text = f.read()
    if name.endswith(".json") or name.endswith(".json.gz"):
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise InputError.at(path, None, "a JSON file must hold a list of problem rows", "Or give JSONL")
        for i, r in enumerate(rows):
            yield f"{path} item {i + 1}", r
        return
    for no, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield f"{path}:{no}", json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError.at(path, no, f"not JSON ({e.msg})", "Fix or remove that line") from None


def _hub_files(release: str) -> list[Path]:
    if release not in RELEASE_FILES:
        raise InputError(f"unknown LiveCodeBench release {release!r}. Use one of {', '.join(RELEASE_FILES)}")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:  # pragma: no cover - a dependency of transformers and datasets
        raise RerankEvalError("huggingface_hub is needed to download LiveCodeBench") from None
    paths = []
    for fname in RELEASE_FILES[release]:
        try:
            paths.append(Path(hf_hub_download(HUB_DATASET, fname, repo_type="dataset")))
        except Exception as e:  # noqa: BLE001 - offline, no access: one message with the fix
            raise RerankEvalError(
                f"cannot download {fname} of {HUB_DATASET} ({type(e).__name__}: {str(e)[:200]}). "
                "Offline, pass --dataset-path FILE (a JSONL/Parquet export of the dataset)"
            ) from None
    return paths


def load_dataset(
    path: str | Path | None = None,
    *,
    release: str = "release_v6",
    start_date: str | None = None,
    end_date: str | None = None,
) -> LcbDataset:
    """Loads problems from ``path`` or the hub release, kept to the date window.

    Raises:
        InputError: A missing or malformed file, a bad date, a duplicate problem, or no problem
            left in the window.
    """
    lo, hi = _date(start_date, "--start-date"), _date(end_date, "--end-date")
    if lo and hi and lo > hi:
        raise InputError(f"--start-date {lo} is after --end-date {hi}")
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise InputError.at(
                p, None, "LiveCodeBench file not found", "Pass --dataset-path to a JSONL or Parquet file"
            )
        files, source = [p], str(p)
    else:
        files, source = _hub_files(release), f"{HUB_DATASET}@{release}"
    h = hashlib.sha256()
    problems: dict[str, LcbProblem] = {}
    for f in files:
        h.update(f.read_bytes())
        for where, row in _read_rows(f):
            prob = parse_problem(row, where)
            day = prob.contest_date.date()
            if (lo and day < lo) or (hi and day > hi):
                continue
            if prob.question_id in problems:
                raise InputError(f"{where}: problem {prob.question_id} appears twice")
            problems[prob.question_id] = prob
    window = (lo.isoformat() if lo else None, hi.isoformat() if hi else None)
    h.update(json.dumps(window).encode())
    if not problems:
        raise InputError(
            f"{source}: no problem in the window {window[0] or 'start'} .. {window[1] or 'end'}. "
            "Widen --start-date/--end-date"
        )
    return LcbDataset(source, h.hexdigest(), problems, window)


def write_rows(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Writes rows in the dataset's schema as JSONL (tests and users building a local file)."""
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(dict(r)) + "\n")


def encode_private(tests: Sequence[Mapping[str, Any]]) -> str:
    """The compressed form of the hub's private tests: base64 of zlib of a pickled JSON string."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(list(tests))))).decode("utf-8")
