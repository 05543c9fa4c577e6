"""Execution-free reward scores in a rerank run, and how good each reward is as a judge.

Every reward-model reranker of a run (``--reranker rm --rm SPEC``) scores each candidate once,
before any ranking: the scores go to ``rm_scores.jsonl`` (one row per candidate and scorer, with
the probability reading and whether the prompt was cut to the model's context) and into the
items the reranker then ranks, so subsampled draws reuse them. The score cache makes a resumed
or repeated run load no model for inputs it has scored before.

:func:`reward_quality` judges every reward of the run against the ground truth: each reward
model's scores, and the unit-test reward of the pass matrices (tests passed, probability =
fraction passed), with the same RM@k, ROC-AUC, accuracy and ECE numbers as the SWE-bench runs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rerankeval.core.rerank import PassMatrix, Reranker, RerankItem
from rerankeval.core.rm_metrics import UNIT_TEST_REWARD, ScoredProblem, unit_test_reward
from rerankeval.core.rm_quality import QualityConfig, ks_up_to, rm_quality
from rerankeval.core.types import Candidate
from rerankeval.pipeline.config import RerankerChoice
from rerankeval.runs import JsonlAppender

log = logging.getLogger(__name__)

#: Per scorer label: problem_id -> one (score, prob) per candidate, in candidate order.
Scores = dict[str, dict[str, tuple[tuple[float, float], ...]]]


def scoring_rerankers(
    choices: Sequence[RerankerChoice], rerankers: Sequence[Reranker]
) -> list[tuple[RerankerChoice, Any]]:
    """The rerankers that score candidates with a model (``score_items``), not from ground truth."""
    return [
        (c, r)
        for c, r in zip(choices, rerankers, strict=True)
        if callable(getattr(r, "score_items", None))
        and getattr(r, "scorer", None) is not None
        and "gold" not in r.needs
    ]


def score_run(
    out: Any,
    items: Sequence[RerankItem],
    scoring: Sequence[tuple[RerankerChoice, Any]],
) -> Scores:
    """Scores every candidate with every reward-model reranker and writes ``rm_scores.jsonl``.

    Args:
        out: The run directory.
        items: One item per problem (prompt and candidates).
        scoring: The ``(choice, reranker)`` pairs of :func:`scoring_rerankers`.

    Returns:
        label -> problem_id -> ``(score, prob)`` per candidate.
    """
    from tqdm.auto import tqdm

    path = out / "rm_scores.jsonl"
    path.unlink(missing_ok=True)
    result: Scores = {}
    total = sum(len(it.candidates) for it in items)
    with JsonlAppender(path, sync_every=10_000) as app:
        for choice, reranker in scoring:
            with tqdm(
                total=total, unit="cand", desc=f"scores {choice.label}", disable=None, file=sys.stderr
            ) as bar:
                per_item = reranker.score_items(items, progress=bar.update)
            cut = 0
            table = result.setdefault(choice.label, {})
            for it, res in zip(items, per_item, strict=True):
                table[it.problem_id] = tuple((r.score, r.prob) for r in res)
                for c, r in zip(it.candidates, res, strict=True):
                    cut += bool(r.truncated)
                    app.write(
                        {"problem_id": it.problem_id, "index": c.index, "scorer": choice.label, **r.as_dict()}
                    )
            log.info(
                "%s: %d candidates scored, %d prompts cut to the model's context", choice.label, total, cut
            )
    return result


def reward_quality(
    groups: Mapping[str, Sequence[Candidate]],
    golds: Mapping[str, Sequence[Sequence[bool]]],
    scores: Scores,
    matrices: Mapping[str, PassMatrix],
    *,
    n_boot: int,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """RM@k, AUC, accuracy and ECE per reward and gold view (see :func:`rm_quality`).

    Args:
        groups: problem_id -> candidates (the order of ``golds``).
        golds: view -> per problem (in ``groups`` order) -> correctness per candidate.
        scores: The reward models' scores (:func:`score_run`).
        matrices: problem_id -> pass matrix; their reward is judged too when there are tests.
        n_boot: Bootstrap replicates over problems.
        seed: Bootstrap seed.

    Returns:
        reward name -> view -> the :func:`rm_quality` dict.
    """
    pids = list(groups)
    cfg = QualityConfig(
        ks=ks_up_to(max((len(g) for g in groups.values()), default=1)), n_boot=n_boot, seed=seed
    )
    out: dict[str, dict[str, Any]] = {}
    for label, table in scores.items():
        out[label] = {
            v: rm_quality(
                [
                    ScoredProblem(
                        pid,
                        tuple(s for s, _ in table[pid]),
                        tuple(map(bool, golds[v][p])),
                        tuple(pr for _, pr in table[pid]),
                    )
                    for p, pid in enumerate(pids)
                ],
                cfg,
            )
            for v in golds
        }
    if any(m.test_ids for m in matrices.values()):
        out[UNIT_TEST_REWARD] = {
            v: rm_quality(
                [
                    unit_test_reward(matrices[pid], golds[v][p])
                    for p, pid in enumerate(pids)
                    if pid in matrices
                ],
                cfg,
            )
            for v in golds
        }
    return out
