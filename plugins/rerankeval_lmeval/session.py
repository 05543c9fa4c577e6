"""One task run's shared work, done once, by the engine's loop.

lm-eval calls every filter of a task separately, each with all documents' N responses. The
filters of one task share a :class:`RerankSession`. On the first call it extracts the programs
(the benchmark's own extraction, see :mod:`rerankeval_lmeval.benchmarks`) and hands them, with the
task's rerankers (one per reranker filter), to :func:`rerankeval.pipeline.run_rerank`: the same loop
as ``rerankeval rerank``, through the benchmark's adapter. It judges every candidate with the
benchmark's own grader, runs the pass matrix against the generated tests, scores with the reward
models, ranks with every reranker and writes a run directory (``gold.jsonl``, ``matrix.jsonl``,
``rm_scores.jsonl``, ``selections.jsonl``, ``metrics.json`` with reward and unit-test quality).
The filters then read their rows from that directory, so lm-eval's numbers are ``rerank``'s.

The run directory is kept under ``--metadata run_dir=DIR`` (``DIR/<task>``; ``rerankeval view`` and
``report`` read it), else written to a temporary folder removed when the process ends.
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerankeval.core.rerank import Ranking
from rerankeval.core.types import Candidate, content_hash
from rerankeval.errors import HarnessFaultError, InputError
from rerankeval.pipeline.config import RerankerChoice
from rerankeval_lmeval.options import TaskOptions

if TYPE_CHECKING:
    from rerankeval.pipeline.inputs import Verdict
    from rerankeval_lmeval.benchmarks import TaskBenchmark

log = logging.getLogger(__name__)

__all__ = ["Evaluation", "RerankSession", "get_session", "register_session"]


@dataclass
class Evaluation:
    """Everything known about one task's candidates, read back from the engine's run directory.

    Attributes:
        task_ids: One problem per document, in document order.
        responses: The N raw responses per document.
        programs: The N extracted programs per document.
        verdicts: The benchmark's verdict on every program (every view).
        views: The benchmark's views, the primary first (``golds`` are its verdicts).
        rankings: Per reranker label, its ranking of each document.
        probs: Per label of a reranker that scores with a model, the probability of correctness it
            gave each candidate of each document.
        tests_passed: Per problem with a pass matrix, the tests each candidate passed and the
            number of tests.
        run_dir: The engine's run directory.
        metrics: Its ``metrics.json``.
    """

    task_ids: list[str]
    prompts: list[str]
    responses: list[list[str]]
    programs: list[list[str]]
    verdicts: list[list[Verdict]]
    views: tuple[str, ...]
    rankings: dict[str, list[Ranking]] = field(default_factory=dict)
    probs: dict[str, list[tuple[float, ...]]] = field(default_factory=dict)
    tests_passed: dict[str, tuple[list[int], int]] = field(default_factory=dict)
    run_dir: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def golds(self) -> list[tuple[bool, ...]]:
        """Ground-truth correctness under the primary view per document and candidate."""
        return [tuple(bool(v.passed[self.views[0]]) for v in vs) for vs in self.verdicts]


class RerankSession:
    """The shared state of one ``*_rm`` task (see the module docstring).

    Args:
        options: The task's resolved options.
        metadata: lm-eval's metadata for the task (dataset file overrides).
        task: The task's name (its run directory's name).
        rerankers: One choice per reranker filter: its label (the filter's name), the registered
            reranker and its arguments.
    """

    def __init__(
        self,
        options: TaskOptions,
        metadata: Mapping[str, Any] | None = None,
        task: str = "task",
        rerankers: Sequence[RerankerChoice] = (),
    ) -> None:
        self.options = options
        self.metadata = dict(metadata or {})
        self.task = task
        self.rerankers = tuple(rerankers)
        self._lock = threading.Lock()
        self._evaluations: dict[str, Evaluation] = {}
        self._benchmark: TaskBenchmark | None = None

    def __repr__(self) -> str:
        return f"RerankSession({self.options.dataset}, repeats={self.options.repeats})"

    @property
    def benchmark(self) -> TaskBenchmark:
        """The task's benchmark (loaded on first use)."""
        if self._benchmark is None:
            from rerankeval_lmeval.benchmarks import load_benchmark

            self._benchmark = load_benchmark(
                self.options.dataset,
                self.metadata,
                prompt_style=self.options.prompt_style,
                workers=self.options.workers,
            )
        return self._benchmark

    def evaluate(self, resps: Sequence[Sequence[str]], docs: Sequence[Mapping[str, Any]]) -> Evaluation:
        """Extracts, judges, tests, scores and ranks every response (once per distinct set of
        responses).

        Raises:
            InputError: A document whose task is not in the dataset, or bad options.
            HarnessFaultError: The sandbox, a grader, a reward model or a reranker failed.
        """
        lists = [list(r) for r in resps]
        task_ids = [str(d["task_id"]) for d in docs]
        key = content_hash(*task_ids, *itertools.chain.from_iterable(lists))
        with self._lock:
            if key not in self._evaluations:
                self._evaluations[key] = self._evaluate(lists, task_ids, len(self._evaluations))
            return self._evaluations[key]

    def _evaluate(self, resps: list[list[str]], task_ids: list[str], n_before: int) -> Evaluation:
        bench = self.benchmark
        adapter = bench.adapter
        unknown = next((t for t in task_ids if t not in adapter.problems), None)
        if unknown is not None:
            raise InputError(
                f"document {unknown!r} is not a {bench.name} problem of this run's dataset. "
                "Use the dataset the task was built from"
            )
        if len(set(task_ids)) != len(task_ids):
            raise InputError(f"{self.task}: a problem appears in two documents; each must appear once")
        programs = [[bench.extract(tid, r) for r in rs] for tid, rs in zip(task_ids, resps, strict=True)]
        if resps and all(len(rs) > 1 for rs in resps) and all(len(set(rs)) == 1 for rs in resps):
            log.warning(
                "%s: the %d responses of every problem are identical (greedy decoding, or an API "
                "server given one fixed seed): reranking cannot help. Sample with temperature > 0; "
                "for local-completions keep seed_per_repeat=auto",
                bench.name,
                len(resps[0]),
            )
        candidates = [
            Candidate(tid, i, code)
            for tid, progs in zip(task_ids, programs, strict=True)
            for i, code in enumerate(progs)
        ]
        out = self._run_dir(n_before)
        metrics = self._run(out, candidates, task_ids)
        ev = _read_run(out, task_ids, resps, programs, tuple(adapter.views), self.rerankers)
        ev.prompts = [adapter.problems[t].prompt for t in task_ids]
        ev.metrics = metrics
        return ev

    def _run_dir(self, n_before: int) -> Path:
        from rerankeval_lmeval.options import option

        name = self.task if n_before == 0 else f"{self.task}-{n_before + 1}"
        root = option("run_dir", self.metadata)
        if root:
            return Path(str(root)) / name
        tmp = Path(tempfile.mkdtemp(prefix="rerankeval-lmeval-"))
        atexit.register(shutil.rmtree, tmp, True)
        return tmp / name

    def _run(self, out: Path, candidates: list[Candidate], task_ids: list[str]) -> dict[str, Any]:
        """The engine's loop over the candidates, with every reranker of the task."""
        from rerankeval.pipeline import RerankConfig, run_rerank
        from rerankeval.rerankers.registry import reranker_needs
        from rerankeval.unittests.matrix import DEFAULT_TIME_LIMIT_S
        from rerankeval_lmeval.unit_tests import tests_path

        opts = self.options
        bench = self.benchmark
        needs_tests = any("matrix" in reranker_needs(c.name, c.args) for c in self.rerankers)
        tests = tests_path(opts, bench, task_ids) if needs_tests else None
        if tests is not None and not tests.read_text(encoding="utf-8").strip():
            log.warning("%s: %s holds no test: the unit-test rerankers score plain pass@1", self.task, tests)
            tests = None
        out.mkdir(parents=True, exist_ok=True)
        samples = out / "samples.jsonl"
        with open(samples, "w", encoding="utf-8") as f:
            for c in candidates:
                f.write(json.dumps({"task_id": c.problem_id, "solution": c.code}) + "\n")
        cfg = RerankConfig(
            dataset=bench.name,
            samples=samples,
            tests=tests,
            rerankers=self.rerankers if tests is not None or not needs_tests else self._without_tests(),
            out=out,
            draws=1,
            time_limit_s=opts.test_time_limit or DEFAULT_TIME_LIMIT_S,
            parallel=opts.workers,
            bootstrap=opts.bootstrap,
            generator=opts.test_generator if opts.tests else None,
            dedupe_tests=opts.dedupe_tests,
        )
        log.info(
            "%s: %d candidates of %d problems through the engine loop into %s",
            self.task,
            len(candidates),
            len(task_ids),
            out,
        )
        fix = "Fix it (the model backend, the rm spec or the reranker of the task) and re-run lm_eval"
        return run_rerank(cfg, bench.adapter, candidates, overwrite=True, fix=fix).metrics

    def _without_tests(self) -> tuple[RerankerChoice, ...]:
        """The task's rerankers when the generated tests are empty: a unit-test reranker ranks with no
        tests, i.e. ties every candidate (``first`` keeps its own rule)."""
        from rerankeval.rerankers.registry import reranker_needs

        return tuple(
            RerankerChoice(c.label, "random", {}) if "matrix" in reranker_needs(c.name, c.args) else c
            for c in self.rerankers
        )


def _read_run(
    out: Path,
    task_ids: list[str],
    resps: list[list[str]],
    programs: list[list[str]],
    views: tuple[str, ...],
    choices: Sequence[RerankerChoice],
) -> Evaluation:
    """The engine's results for the documents, from its run directory.

    Raises:
        HarnessFaultError: A verdict or a ranking the run should have written is missing.
    """
    from rerankeval.pipeline.inputs import verdict_of_row
    from rerankeval.runs import read_run_rows

    gold = {}
    for row in read_run_rows(out / "gold.jsonl"):
        v = verdict_of_row(row, views)
        if v is not None:
            gold[(v.problem_id, v.index)] = v
    sel: dict[tuple[str, str], Ranking] = {}
    for row in read_run_rows(out / "selections.jsonl", missing_ok=True):
        if int(row.get("draw", 0)) == 0:
            sel[(str(row["reranker"]), str(row["problem_id"]))] = Ranking(
                tuple(float(x) for x in row["scores"]), tuple(int(i) for i in row["chosen"])
            )
    probs: dict[tuple[str, str, int], float | None] = {}
    for row in read_run_rows(out / "rm_scores.jsonl", missing_ok=True):
        probs[(str(row["scorer"]), str(row["problem_id"]), int(row["index"]))] = row.get("prob")
    passed: dict[tuple[str, int], str] = {
        (str(r["problem_id"]), int(r["index"])): str(r["tests"])
        for r in read_run_rows(out / "matrix.jsonl", missing_ok=True)
    }
    try:
        verdicts = [[gold[(t, i)] for i in range(len(ps))] for t, ps in zip(task_ids, programs, strict=True)]
        rankings = {c.label: [sel[(c.label, t)] for t in task_ids] for c in choices}
    except KeyError as e:
        raise HarnessFaultError(
            f"the run in {out} lacks {e.args[0]}: the engine loop did not finish. Re-run lm_eval"
        ) from None
    ev = Evaluation(task_ids, [], resps, programs, verdicts, views, rankings, run_dir=out)
    for c in choices:
        rows = [
            [probs.get((c.label, t, i)) for i in range(len(ps))]
            for t, ps in zip(task_ids, programs, strict=True)
        ]
        if all(p is not None for r in rows for p in r) and any(rows):
            ev.probs[c.label] = [tuple(float(p) for p in r if p is not None) for r in rows]
    for t, ps in zip(task_ids, programs, strict=True):
        cells = [passed.get((t, i)) for i in range(len(ps))]
        if all(x is not None for x in cells):
            ev.tests_passed[t] = ([str(x).count("p") for x in cells], len(str(cells[0])) if cells else 0)
    return ev


_SESSIONS: dict[str, RerankSession] = {}
_COUNTER = itertools.count(1)


def register_session(session: RerankSession, task: str) -> str:
    """Keeps ``session`` under a new string key (filters receive the key, not the object,
    because lm-eval deep-copies and prints task configs)."""
    key = f"{task}#{next(_COUNTER)}"
    _SESSIONS[key] = session
    return key


def get_session(key: str) -> RerankSession:
    """The session registered under ``key``.

    Raises:
        InputError: No such session (a filter used outside its task).
    """
    try:
        return _SESSIONS[key]
    except KeyError:
        raise InputError(
            f"no rerankeval session {key!r}: the rerankeval filters only work inside the "
            "*_rm tasks (class rerankeval_lmeval.task.RerankTask)"
        ) from None
