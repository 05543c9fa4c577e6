"""The pass matrix of a run under a test budget (``rerankeval rerank --budget B --allocation A``).

Instead of every candidate against every test, an allocation (:func:`rerankeval.scaling.allocate_online`)
decides how many of each problem's tests to pay for, in the artifact's order, and only those
columns are executed: each request for more columns becomes one :func:`build_matrices` call over
the problems that get tests, with the same executor, limits and execution cache as a full run
(so a re-run with the same budget executes nothing). The canonical solution runs on the same
columns (for unit-test quality) but is not counted as a candidate execution.

After the allocation the run's matrix holds exactly the spent columns: ``matrix.jsonl``,
``canonical.jsonl`` and ``tests.jsonl`` are rewritten with them, so ``rerankeval report`` reads
a budgeted run like any other. ``--resume`` recomputes the allocation; with the cache on, every
column already executed comes from it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rerankeval.cache import ResultCache
from rerankeval.core.rerank import PassMatrix, Reranker, RerankItem
from rerankeval.core.types import Candidate, content_hash
from rerankeval.errors import InputError
from rerankeval.pipeline.config import RerankConfig
from rerankeval.pipeline.inputs import Benchmark, TestCase, matrix_reference
from rerankeval.pipeline.outputs import write_tests
from rerankeval.runs import JsonlAppender
from rerankeval.sandbox.executor import Executor, executor_or_local
from rerankeval.scaling import Allocation, Select, allocate_online, load_difficulty, load_probe
from rerankeval.unittests.matrix import REFERENCE_INDEX, MatrixOptions, MatrixTask, build_matrices

log = logging.getLogger(__name__)


class _Reveal:
    """Executes requested column ranges: the ``reveal`` callback of :func:`allocate_online`.

    Keeps the canonical solution's cells apart (``canonical``) and counts what it ran.
    """

    def __init__(
        self,
        groups: Mapping[str, tuple[Candidate, ...]],
        references: Mapping[str, str],
        tests: Mapping[str, Sequence[TestCase]],
        run: Any,
    ) -> None:
        self.groups, self.references, self.tests, self.run = groups, references, tests, run
        self.canonical = dict.fromkeys(references, "")
        self.calls = 0
        self.executions = 0

    def __call__(self, asked: Mapping[str, tuple[int, int]]) -> dict[str, list[str]]:
        tasks = []
        for pid, (a, b) in asked.items():
            ts = self.tests[pid][a:b]
            tasks.append(
                MatrixTask(
                    pid,
                    self.groups[pid],
                    tuple(t.test_id for t in ts),
                    tuple(t.source for t in ts),
                    reference=self.references.get(pid),
                )
            )
        self.calls += 1
        new = sum(len(self.groups[p]) * (b - a) for p, (a, b) in asked.items())
        self.executions += new
        log.info(
            "budget: request %d, %d problems, %d tests, %d executions",
            self.calls,
            len(asked),
            sum(b - a for a, b in asked.values()),
            new,
        )
        full = self.run(tasks)
        out = {}
        for pid in asked:
            out[pid] = list(full[pid].rows)
            if pid in self.references:
                self.canonical[pid] += full[pid].reference or ""
        return out


def _select(
    label: object, cfg: RerankConfig, rerankers: Sequence[Reranker], items: Mapping[str, RerankItem]
) -> Select:
    """``-A select=<reranker>``: that reranker's chosen set on the revealed columns."""
    labels = [c.label for c in cfg.rerankers]
    for choice, reranker in zip(cfg.rerankers, rerankers, strict=True):
        if label in (choice.label, choice.name):
            if not set(reranker.needs) <= {"matrix"}:
                raise InputError(
                    f"allocation option select={label!r}: that reranker reads {sorted(reranker.needs)}. "
                    "Pick one that ranks from the pass matrix alone"
                )

            def select(m: PassMatrix, reranker: Reranker = reranker) -> tuple[int, ...]:
                item = items[m.problem_id]
                return reranker.rank([RerankItem(item.problem_id, item.prompt, item.candidates, m)])[0].chosen

            return select
    raise InputError(
        f"allocation option select={label!r} names no reranker of this run. Use one of: {', '.join(labels)}"
    )


def _options(
    cfg: RerankConfig,
    bench: Benchmark,
    groups: Mapping[str, tuple[Candidate, ...]],
    rerankers: Sequence[Reranker],
) -> dict[str, Any]:
    options = dict(cfg.allocation_options)
    if "select" in options:
        items = {p: RerankItem(p, bench.problems[p].prompt, cs) for p, cs in groups.items()}
        options["select"] = _select(options["select"], cfg, rerankers, items)
    return options


def budget_summary(alloc: Allocation, full: int, cfg: RerankConfig, requests: int) -> dict[str, Any]:
    """metrics.json's ``budget`` block: what the allocation spent and what a full run would have.

    Args:
        alloc: The allocation.
        full: Executions of a full run (sum over problems of candidates x tests).
        cfg: The run's configuration (budget, method, options, difficulty file).
        requests: Number of execution requests (batches) the allocation made.
    """
    return {
        "method": alloc.method,
        "budget": alloc.budget,
        "options": dict(cfg.allocation_options),
        "difficulty": None if cfg.difficulty is None else str(cfg.difficulty),
        "probe": None if cfg.probe is None else str(cfg.probe),
        "tests": alloc.tests,
        "mean_tests": alloc.mean_tests,
        "executions": alloc.executions,
        "full_executions": full,
        "fraction": alloc.executions / full if full else None,
        "rounds": alloc.rounds,
        "settled": len(alloc.settled),
        "requests": requests,
    }


def _write_rows(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.unlink(missing_ok=True)
    with JsonlAppender(path, sync_every=10_000) as app:
        for row in rows:
            app.write(row)


def budgeted_matrices(
    cfg: RerankConfig,
    bench: Benchmark,
    groups: dict[str, tuple[Candidate, ...]],
    tests: Mapping[str, Sequence[TestCase]],
    executor: Executor | None,
    rerankers: Sequence[Reranker] = (),
) -> tuple[dict[str, PassMatrix], dict[str, Any]]:
    """Pass matrices of the columns a budget allocation pays for, executing nothing else.

    Writes ``matrix.jsonl``, ``canonical.jsonl`` and ``tests.jsonl`` (the spent tests) into the run.

    Args:
        cfg: The configuration (``budget`` set).
        bench: The benchmark host (problems and canonical solutions).
        groups: problem_id -> candidates.
        tests: problem_id -> the artifact's tests (matrix columns), in order.
        executor: Sandbox executor (None: a LocalExecutor with ``cfg.parallel`` workers).
        rerankers: The run's rerankers, in ``cfg.rerankers`` order (for ``select=<reranker>``).

    Returns:
        (matrices with the canonical solution's row, metrics.json's ``budget`` block).

    Raises:
        InputError: A bad allocation option or difficulty file.
    """
    assert cfg.budget is not None
    difficulty = None
    if cfg.difficulty is not None:
        difficulty = load_probe(cfg.difficulty, cfg.probe) if cfg.probe else load_difficulty(cfg.difficulty)
    options = _options(cfg, bench, groups, rerankers)
    cols = {p: list(tests.get(p, ())) for p in groups}
    refs = {p: r for p in groups if (r := matrix_reference(bench, p)) is not None}
    from tqdm.auto import tqdm

    with ExitStack() as stack:
        executor = executor_or_local(executor, stack, cfg.parallel)
        store = ResultCache("passmatrix", enabled=cfg.cache)
        stack.callback(store.close)
        bar = stack.enter_context(
            tqdm(total=0, unit="cand", desc="pass matrix (budget)", disable=None, file=sys.stderr)
        )
        matrix_options = MatrixOptions(time_limit_s=cfg.time_limit_s)

        def run(tasks: Sequence[MatrixTask]) -> dict[str, PassMatrix]:
            bar.total += sum(len(t.candidates) + (t.reference is not None) for t in tasks)
            bar.refresh()
            return build_matrices(tasks, executor, options=matrix_options, cache=store, progress=bar.update)

        reveal = _Reveal(groups, refs, cols, run)
        alloc, cells = allocate_online(
            {p: [t.test_id for t in ts] for p, ts in cols.items()},
            {p: len(cs) for p, cs in groups.items()},
            cfg.budget,
            cfg.allocation,  # type: ignore[arg-type]
            reveal,
            difficulty,
            {p: [c.sha for c in cs] for p, cs in groups.items()},
            **options,
        )
    return _finish(cfg, groups, cols, refs, alloc, cells, reveal)


def _finish(
    cfg: RerankConfig,
    groups: Mapping[str, tuple[Candidate, ...]],
    cols: Mapping[str, list[TestCase]],
    refs: Mapping[str, str],
    alloc: Allocation,
    cells: Mapping[str, list[str]],
    reveal: _Reveal,
) -> tuple[dict[str, PassMatrix], dict[str, Any]]:
    """The spent matrices (with the canonical solution's row), written to the run directory, and
    the budget block."""
    assert reveal.executions == alloc.executions, "executions counted = executions requested"
    spent = {p: cols[p][: len(alloc.columns[p])] for p in groups}
    matrices = {
        p: PassMatrix(p, tuple(t.test_id for t in spent[p]), tuple(cells[p]), reveal.canonical.get(p))
        for p in groups
    }
    _write_rows(
        cfg.out / "matrix.jsonl",
        [
            {"problem_id": p, "index": c.index, "sha": c.sha, "tests": row}
            for p, cs in groups.items()
            for c, row in zip(cs, cells[p], strict=True)
        ],
    )
    _write_rows(
        cfg.out / "canonical.jsonl",
        [
            {
                "problem_id": p,
                "index": REFERENCE_INDEX,
                "sha": content_hash(code),
                "tests": reveal.canonical[p],
            }
            for p, code in refs.items()
        ],
    )
    write_tests(cfg.out, groups, spent)
    full = sum(len(groups[p]) * len(cols[p]) for p in groups)
    summary = budget_summary(alloc, full, cfg, reveal.calls)
    log.info(
        "budget: %s spent %d of %d tests, %d of %d executions",
        alloc.method,
        alloc.tests,
        sum(len(c) for c in cols.values()),
        alloc.executions,
        full,
    )
    return matrices, summary
