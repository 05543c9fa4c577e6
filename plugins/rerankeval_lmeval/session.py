"""One task run's shared work: extraction, ground truth, pass matrices and rankings, done once.

lm-eval calls every filter of a task separately, each with all documents' N responses. The
filters of one task share a :class:`RerankSession`, which computes each expensive piece once per
set of responses and keeps it: the extracted programs, the benchmark's own verdict on every
candidate (the ground truth from its engine adapter, see :mod:`rerankeval_lmeval.benchmarks`,
judged once, so every filter's score is a join), the pass matrices against the generated unit
tests (run once in the sandbox, for all unit-test rerankers) and each reranker's rankings. All of
it is batched over the whole task.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from rerankeval.core.rerank import PassMatrix, Ranking, RerankItem
from rerankeval.core.types import Candidate, content_hash
from rerankeval.errors import HarnessFaultError, InputError, RerankEvalError
from rerankeval_lmeval.options import TaskOptions

if TYPE_CHECKING:
    from rerankeval.pipeline.inputs import Verdict
    from rerankeval_lmeval.benchmarks import TaskBenchmark

log = logging.getLogger(__name__)

__all__ = ["Evaluation", "RerankSession", "get_session", "register_session"]


@dataclass
class Evaluation:
    """Everything known about one task's candidates.

    Attributes:
        task_ids: One problem per document, in document order.
        responses: The N raw responses per document.
        programs: The N extracted programs per document.
        verdicts: The benchmark's verdict on every program (every view).
        views: The benchmark's views, the primary first (``golds`` are its verdicts).
        matrices: Pass matrix per problem (filled on first use by a unit-test reranker).
        rankings: Rankings per reranker key (filled on first use).
    """

    task_ids: list[str]
    prompts: list[str]
    responses: list[list[str]]
    programs: list[list[str]]
    verdicts: list[list[Verdict]]
    views: tuple[str, ...]
    matrices: dict[str, PassMatrix] | None = None
    rm_scores: dict[str, tuple[float, ...]] | None = None
    rankings: dict[str, list[Ranking]] = field(default_factory=dict)
    probs: dict[str, list[tuple[float, ...]]] = field(default_factory=dict)

    @property
    def golds(self) -> list[tuple[bool, ...]]:
        """Ground-truth correctness under the primary view per document and candidate."""
        return [tuple(bool(v.passed[self.views[0]]) for v in vs) for vs in self.verdicts]

    def items(self, needs: frozenset[str]) -> list[RerankItem]:
        """Rerank items for every document, carrying what a reranker ``needs``."""
        out = []
        for d, tid in enumerate(self.task_ids):
            cands = tuple(Candidate(tid, i, code) for i, code in enumerate(self.programs[d]))
            out.append(
                RerankItem(
                    problem_id=tid,
                    prompt=self.prompts[d],
                    candidates=cands,
                    matrix=self.matrices[tid] if "matrix" in needs and self.matrices is not None else None,
                    rm_scores=(
                        self.rm_scores[tid] if "rm_scores" in needs and self.rm_scores is not None else None
                    ),
                    gold=self.golds[d] if "gold" in needs else None,
                )
            )
        return out


class RerankSession:
    """The shared state of one ``*_rm`` task (see the module docstring).

    Args:
        options: The task's resolved options.
        metadata: lm-eval's metadata for the task (dataset file overrides).
    """

    def __init__(self, options: TaskOptions, metadata: Mapping[str, Any] | None = None) -> None:
        self.options = options
        self.metadata = dict(metadata or {})
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
        """Extracts and judges every response (once per distinct set of responses).

        Raises:
            InputError: A document whose task is not in the dataset.
        """
        lists = [list(r) for r in resps]
        task_ids = [str(d["task_id"]) for d in docs]
        key = content_hash(*task_ids, *itertools.chain.from_iterable(lists))
        with self._lock:
            if key not in self._evaluations:
                self._evaluations[key] = self._evaluate(lists, task_ids)
            return self._evaluations[key]

    def _evaluate(self, resps: list[list[str]], task_ids: list[str]) -> Evaluation:
        bench = self.benchmark
        adapter = bench.adapter
        unknown = next((t for t in task_ids if t not in adapter.problems), None)
        if unknown is not None:
            raise InputError(
                f"document {unknown!r} is not a {bench.name} problem of this run's dataset. "
                "Use the dataset the task was built from"
            )
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
        log.info(
            "%s: judging %d candidates of %d problems with its own grader",
            bench.name,
            len(candidates),
            len(task_ids),
        )
        judged = adapter.judge(candidates)
        views = tuple(adapter.views)
        if len(judged) != len(candidates) or any(
            (v.problem_id, v.index) != (c.problem_id, c.index) or set(views) - set(v.passed)
            for v, c in zip(judged, candidates, strict=False)
        ):
            raise HarnessFaultError(
                f"{bench.name}: the grader returned {len(judged)} verdicts for {len(candidates)} "
                "candidates, or verdicts out of order or without every view. Fix the benchmark adapter"
            )
        flat = iter(judged)
        verdicts = [[next(flat) for _ in progs] for progs in programs]
        prompts = [adapter.problems[t].prompt for t in task_ids]
        return Evaluation(task_ids, prompts, resps, programs, verdicts, views)

    def matrices(self, ev: Evaluation) -> dict[str, PassMatrix]:
        """Pass matrices of every candidate against the generated tests (built once)."""
        with self._lock:
            if ev.matrices is None:
                from rerankeval_lmeval.unit_tests import pass_matrices

                ev.matrices = pass_matrices(self.options, self.benchmark, ev)
            return ev.matrices

    def rankings(self, ev: Evaluation, reranker: str, args: Mapping[str, Any] | None = None) -> list[Ranking]:
        """The rankings of ``reranker`` built with ``args`` over every document (computed once).

        Raises:
            UnknownPluginError: No reranker of that name is installed.
        """
        from rerankeval.pipeline.rm_scoring import checked_score_items, scores_with_a_model
        from rerankeval.rerankers.registry import load_reranker

        key = _key(reranker, args)
        if key in ev.rankings:
            return ev.rankings[key]
        ranker = load_reranker(reranker, **dict(args or {}))
        if "matrix" in ranker.needs:
            self.matrices(ev)
        if "rm_scores" in ranker.needs:
            raise InputError(
                f"reranker '{reranker}' needs reward-model scores, which this task does not "
                "compute yet. Remove its filter from the task"
            )
        with self._lock:
            items = ev.items(ranker.needs)
            if scores_with_a_model(ranker):  # checked here: a failing backend is a fault, never a score
                scored = checked_score_items(
                    reranker,
                    ranker,
                    items,
                    fix="Fix the model backend (or the rm spec in --metadata) and re-run lm_eval",
                )
                items = [
                    replace(it, rm_scores=tuple(float(r.score) for r in rs))
                    for it, rs in zip(items, scored, strict=True)
                ]
                ev.probs[key] = [tuple(float(r.prob) for r in rs) for rs in scored]
            try:
                ev.rankings[key] = ranker.rank(items)
            except RerankEvalError:
                raise
            except Exception as e:  # noqa: BLE001 - a reranker that breaks is the harness's fault
                raise HarnessFaultError(
                    f"reranker '{reranker}' failed: {type(e).__name__}: {e}. Fix the "
                    "reranker (or remove its filter) and re-run"
                ) from e
        return ev.rankings[key]

    def probabilities(
        self, ev: Evaluation, reranker: str, args: Mapping[str, Any] | None = None
    ) -> list[tuple[float, ...]] | None:
        """Per document, the probability of correctness the reranker's model gave each candidate
        (a verifier's P(YES), a scalar head's sigmoid), or None for a reranker that scores with no
        model. Valid after :meth:`rankings`."""
        return ev.probs.get(_key(reranker, args))


def _key(reranker: str, args: Mapping[str, Any] | None) -> str:
    return f"{reranker}:{sorted((args or {}).items())!r}"


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
