"""A run's inputs: the generated tests artifact (engine) and the benchmark adapter contract.

The samples file and the benchmark's ground truth belong to the host plugin; the CLI passes
them in through a :class:`Benchmark` adapter, whose verdicts come back as named views.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from rerankeval.core.types import Candidate, Problem
from rerankeval.errors import InputError
from rerankeval.unittests import artifact


@dataclass(frozen=True, slots=True)
class Verdict:
    """Ground truth of one candidate under every view of the benchmark's own grader.

    A view is one way the benchmark judges a program (EvalPlus: ``plus``, its base and extended
    inputs, and ``base``, the original inputs; SWE-bench: ``resolved``). The engine ranks,
    scores and reports every view the adapter names, and knows nothing else about the grader.

    Attributes:
        problem_id: The problem.
        index: The candidate's index.
        passed: view -> whether the candidate is correct under that view (every view the
            benchmark names).
        fractions: view -> fraction of that view's inputs the candidate passed, when the grader
            ran them all; missing or None when unknown (e.g. it stopped at the first failure).
        record: Grader-specific fields kept verbatim in ``gold.jsonl`` (statuses, the first
            failing input); JSON values, none named like a view field.
    """

    problem_id: str
    index: int
    passed: Mapping[str, bool]
    fractions: Mapping[str, float | None] = field(default_factory=dict)
    record: Mapping[str, Any] = field(default_factory=dict)


def gold_row(verdict: Verdict, views: Sequence[str]) -> dict[str, Any]:
    """The ``gold.jsonl`` row of a verdict.

    The first view is the primary one: its verdict is ``passed`` (what every report reads); each
    other view ``v`` is ``v_passed``; each view's fraction is ``v_frac``; the grader's record
    follows.

    Raises:
        ValueError: A view the verdict does not judge, or a record field that would shadow one.
    """
    missing = [v for v in views if v not in verdict.passed]
    if missing:
        raise ValueError(f"{verdict.problem_id} #{verdict.index}: no verdict for view(s) {missing}")
    row: dict[str, Any] = {"problem_id": verdict.problem_id, "index": verdict.index}
    for k, v in enumerate(views):
        row["passed" if k == 0 else f"{v}_passed"] = bool(verdict.passed[v])
    for v in views:
        row[f"{v}_frac"] = verdict.fractions.get(v)
    clash = sorted(set(row) & set(verdict.record))
    if clash:
        raise ValueError(f"{verdict.problem_id} #{verdict.index}: record fields {clash} shadow view fields")
    return {**row, **verdict.record}


def verdict_of_row(row: Mapping[str, Any], views: Sequence[str]) -> Verdict | None:
    """The verdict a ``gold.jsonl`` row holds (inverse of :func:`gold_row`); None when the row
    lacks a view (written for other views: judge again)."""
    keys = ["passed" if k == 0 else f"{v}_passed" for k, v in enumerate(views)]
    if any(k not in row for k in keys):
        return None
    own = {"problem_id", "index", *keys, *(f"{v}_frac" for v in views)}
    return Verdict(
        str(row["problem_id"]),
        int(row["index"]),
        {v: bool(row[k]) for v, k in zip(views, keys, strict=True)},
        {v: row.get(f"{v}_frac") for v in views},
        {k: x for k, x in row.items() if k not in own},
    )


class Benchmark(Protocol):
    """A benchmark adapter: what one engine run needs from a benchmark host.

    Each host plugin implements it in its own package (EvalPlus:
    :class:`rerankeval_evalplus.benchmark.EvalPlusBenchmark`). The engine asks for nothing else:
    problems in, candidates judged by the host's own grader, verdicts out as named views.

    Attributes:
        name: Dataset name (``humaneval``).
        hash: Content hash of the dataset (a resume with another dataset is refused).
        problems: problem_id -> Problem (``reference``: the canonical solution as a full program,
            "" when there is none; it measures the generated tests' accuracy).
        views: view key -> display name, the primary view first, e.g. ``{"plus": "HumanEval+",
            "base": "HumanEval (base tests)"}``; :meth:`judge` returns a verdict for each.

    Optional, read with ``getattr`` (an adapter defines only what it needs):

    - ``groups(problem_id) -> {name: value}`` (see :func:`problem_groups`), for pass@1 per
      difficulty or per date window;
    - ``matrix_program`` and ``matrix_test`` (see :func:`matrix_view`), when the benchmark runs
      programs or tests in its own way;
    - ``partial_labels = True``: :meth:`judge` may leave out candidates it has no label for
      (SWE-bench candidates without a harness report). Every problem is ranked; the metrics cover
      the problems whose candidates are all labelled;
    - ``score_fields(candidate) -> {field: text}``: the benchmark's own slots of a reward model's
      prompt template beyond ``problem`` and ``candidate`` (SWE-bench: ``repo``, ``trajectory``);
    - ``candidate_record(candidate) -> {key: JSON value}``: fields added to the candidate's row of
      ``candidates.jsonl`` (SWE-bench: the agent run and the model name);
    - ``selected_files = False``: no ``selected/<reranker>.jsonl`` samples files (a host that
      writes its own, e.g. SWE-bench predictions);
    - ``own_files(previous_run_json) -> [relative path]``: the host's own outputs, which
      ``--overwrite`` removes with the engine's;
    - ``finish(outcome: RunOutcome) -> {key: JSON value}``: called once every reranker has
      ranked; writes the host's own files (predictions, figures) and returns metrics added to
      ``metrics.json`` (a key it returns replaces the engine's).
    """

    @property
    def name(self) -> str: ...

    @property
    def hash(self) -> str: ...

    @property
    def problems(self) -> Mapping[str, Problem]: ...

    @property
    def views(self) -> Mapping[str, str]: ...

    def judge(
        self, candidates: Sequence[Candidate], progress: Callable[[int], None] | None = None
    ) -> list[Verdict]:
        """Every candidate's verdict, from the benchmark's own grader. ``progress`` is called
        with the number of grader runs finished (out of :meth:`judge_total`). A grader that
        cannot judge a candidate raises; it never returns a verdict for it."""
        ...

    def judge_total(self, candidates: Sequence[Candidate]) -> int:
        """The number of grader runs :meth:`judge` makes (for its progress bar)."""
        ...


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a finished run hands the adapter's optional ``finish`` hook.

    Attributes:
        out: The run directory.
        groups: problem_id -> candidates, in run order (every problem, labelled or not).
        verdicts: (problem_id, index) -> verdict, for every candidate the adapter labelled.
        rankings: reranker label -> problem_id -> its ranking of every problem (the full
            candidate set, or draw 0 when subsampled; the primary view for a reranker that reads
            the labels), rerankers in run order.
        scores: reward-model label -> problem_id -> ``(score, prob)`` per candidate.
        metrics: The engine's metrics (``metrics.json`` before the hook's are added).
    """

    out: Path
    groups: Mapping[str, tuple[Candidate, ...]]
    verdicts: Mapping[tuple[str, int], Verdict]
    rankings: Mapping[str, Mapping[str, Any]]
    scores: Mapping[str, Mapping[str, tuple[tuple[float, float], ...]]]
    metrics: Mapping[str, Any]


def matrix_view(
    bench: Benchmark,
    groups: Mapping[str, tuple[Candidate, ...]],
    tests: Mapping[str, Sequence[TestCase]],
) -> tuple[dict[str, tuple[Candidate, ...]], dict[str, list[TestCase]]]:
    """The programs and tests the pass matrix runs, through the adapter's optional hooks.

    ``matrix_program(problem_id, code) -> str`` prepares a candidate as the benchmark runs it (e.g.
    LiveCodeBench's imports and stdin wrapper); ``matrix_test(problem_id, test) -> str`` turns a
    test (a :class:`TestCase`) into runnable source. Without them, both run as written.

    Raises:
        InputError: A ``stdio`` test (an input/output pair) for a benchmark that cannot run one.
    """
    program = getattr(bench, "matrix_program", None)
    to_source = getattr(bench, "matrix_test", None)
    out_groups = {
        pid: tuple(replace(c, code=program(pid, c.code)) for c in cs) if callable(program) else cs
        for pid, cs in groups.items()
    }
    out_tests: dict[str, list[TestCase]] = {}
    for pid, ts in tests.items():
        if callable(to_source):
            out_tests[pid] = [replace(t, source=to_source(pid, t)) for t in ts]
            continue
        stdio = next((t for t in ts if t.style == "stdio"), None)
        if stdio is not None:
            raise InputError(
                f"test {stdio.test_id} of {pid} is a stdin/stdout case, which {bench.name} cannot run. "
                "Use tests written as asserts or unittest classes for this benchmark"
            )
        out_tests[pid] = list(ts)
    return out_groups, out_tests


def matrix_reference(bench: Benchmark, problem_id: str) -> str | None:
    """The problem's canonical solution as the pass matrix runs it (None when it has none)."""
    ref = bench.problems[problem_id].reference
    program = getattr(bench, "matrix_program", None)
    if not ref:
        return None
    return str(program(problem_id, ref)) if callable(program) else ref


def problem_groups(bench: Benchmark, problem_id: str) -> Mapping[str, str]:
    """The adapter's optional ``groups(problem_id)``: e.g. ``{"difficulty": "easy", "month":
    "2024-06"}``; metrics are then also reported per value of each. ``{}`` when it has none."""
    groups = getattr(bench, "groups", None)
    return dict(groups(problem_id)) if callable(groups) else {}


@dataclass(frozen=True, slots=True)
class TestCase:
    """One generated test: a column of the pass matrix."""

    __test__ = False  # not a pytest class

    problem_id: str
    test_id: str
    source: str
    style: str = "assert"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_tests(
    path: Path,
    generator: str | None = None,
    dedupe: bool = False,
    known: Collection[str] | None = None,
    dataset: str = "the dataset",
) -> dict[str, list[TestCase]]:
    """Reads a tests artifact (see :mod:`rerankeval.unittests.artifact`) into matrix columns per problem.

    A test that several generations produced (``count`` > 1) becomes ``count`` columns, so every
    generated test counts as in the released CodeT and CodeRM code; execution still runs it once.

    Args:
        path: The ``tests.jsonl`` file.
        generator: Keep this generator's tests (needed when the file holds several).
        dedupe: One column per distinct test instead.
        known: The benchmark's problem ids. Tests of another dataset (ids with another prefix,
            e.g. ``Mbpp/2`` next to ``HumanEval/0``: one artifact may serve several datasets) are
            skipped; an unknown id of this dataset (``HumanEval/777``) is an error. None: no check.
        dataset: The benchmark's name, for that error.

    Raises:
        InputError: Missing or malformed file, several generators and none chosen, or a test
            for a problem outside ``known`` (naming the first such line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError.at(
            path,
            None,
            "tests file not found",
            "Pass a tests.jsonl (from `rerankeval tests generate` or `rerankeval tests import`)",
        )
    out: dict[str, list[TestCase]] = {}
    for row in artifact.read_tests(path, generator):
        cols = out.setdefault(row.task_id, [])
        n = 1 if dedupe else row.count
        cols.extend(
            TestCase(row.task_id, row.test_id if k == 0 else f"{row.test_id}/{k + 1}", row.test, row.style)
            for k in range(n)
        )
    if not out:
        raise InputError.at(path, None, "the tests file holds no tests", "Generate or import tests first")
    if known is not None:
        prefixes = {_prefix(k) for k in known}
        if any(t not in known and _prefix(t) in prefixes for t in out):
            _unknown_task(path, generator, known, prefixes, dataset)
        other = sorted(out)
        out = {t: cols for t, cols in out.items() if t in known}
        if not out:
            raise InputError.at(
                path,
                None,
                f"no test for {dataset}'s problems (the file's tasks are e.g. {other[0]})",
                f"Use a tests file written for {dataset}",
            )
    return out


def _prefix(task_id: str) -> str:
    return task_id.partition("/")[0]


def _unknown_task(
    path: Path, generator: str | None, known: Collection[str], prefixes: set[str], dataset: str
) -> None:
    """Raises the error for the first line whose task id looks like the dataset's but is not one of it."""
    for line, row in artifact.iter_tests(path):
        mine = generator is None or row.generator == generator
        if mine and row.task_id not in known and _prefix(row.task_id) in prefixes:
            raise InputError.at(
                path,
                line,
                f"test for task '{row.task_id}', which {dataset} does not have",
                f"Use a tests file written for {dataset}'s problems",
            )
