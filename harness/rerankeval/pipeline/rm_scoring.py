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
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rerankeval.core.rerank import PassMatrix, Reranker, RerankItem
from rerankeval.core.rm_metrics import UNIT_TEST_REWARD, ScoredProblem, unit_test_reward
from rerankeval.core.rm_quality import QualityConfig, ks_up_to, rm_quality
from rerankeval.core.types import Candidate
from rerankeval.errors import HarnessFaultError, InputError, RerankEvalError
from rerankeval.pipeline.config import RerankerChoice
from rerankeval.runs import JsonlAppender, check_run_row, iter_jsonl

log = logging.getLogger(__name__)

#: Per scorer label: problem_id -> one (score, prob) per candidate, in candidate order.
Scores = dict[str, dict[str, tuple[tuple[float, float], ...]]]


def scoring_rerankers(
    choices: Sequence[RerankerChoice], rerankers: Sequence[Reranker]
) -> list[tuple[RerankerChoice, Any]]:
    """The rerankers that score candidates (``score_items``), each scored once by the engine."""
    return [(c, r) for c, r in zip(choices, rerankers, strict=True) if scores_candidates(r)]


def scores_candidates(reranker: Any) -> bool:
    """Whether ``reranker`` scores candidates (``score_items`` and a ``scorer``): such scores are
    computed once, checked, written and judged by the engine. A scorer that reads the labels
    (``oracle-labels``) is scored too, from the items' labels: a check that the metrics reach
    their bounds."""
    return callable(getattr(reranker, "score_items", None)) and getattr(reranker, "scorer", None) is not None


#: Candidates per call of a reward model, at least (whole problems; a scorer with a batch size
#: gets that many): their rows are on disk before the next call, so a kill loses at most one call.
CHUNK = 8


def _chunk_size(reranker: Any) -> int:
    options = getattr(getattr(reranker, "scorer", None), "options", None)
    batch = getattr(options, "batch_size", None)
    return batch if isinstance(batch, int) and not isinstance(batch, bool) and batch > 0 else CHUNK


def score_run(
    out: Any,
    items: Sequence[RerankItem],
    scoring: Sequence[tuple[RerankerChoice, Any]],
    *,
    resume: bool = False,
    chunk: int | None = None,
    fix: str | None = None,
    gold: Mapping[str, tuple[bool, ...]] | None = None,
) -> Scores:
    """Scores every candidate with every reward-model reranker and writes ``rm_scores.jsonl``.

    Scores are written (and fsynced) after every ``chunk`` candidates; with ``resume`` the rows
    already in the file are kept and only the missing candidates are scored, so a killed or failed
    run loses at most one chunk and never writes a row twice.

    Args:
        out: The run directory.
        items: One item per problem (prompt and candidates).
        scoring: The ``(choice, reranker)`` pairs of :func:`scoring_rerankers`.
        resume: Keep the rows already in ``rm_scores.jsonl``.
        chunk: Candidates per model call, at least (whole problems; default: the scorer's batch
            size, else :data:`CHUNK`).
        fix: What a fault's message tells the user to do (default: fix and re-run with --resume).
        gold: problem_id -> each candidate's label (primary view), given to the items of a scorer
            that reads them (``oracle-labels``) and to no other.

    Returns:
        label -> problem_id -> ``(score, prob)`` per candidate.

    Raises:
        HarnessFaultError: The reward model raised or returned malformed scores (no row is written
            for them; the rows before stay, so ``--resume`` continues after the fix).
        InputError: A malformed row in ``rm_scores.jsonl`` (on resume).
    """
    from tqdm.auto import tqdm

    path = out / "rm_scores.jsonl"
    # rows keyed by the scorer's spec (SWE-bench runs before they ran through this loop) count for its label
    aliases = {
        str(getattr(r.scorer, "spec", "")): c.label
        for c, r in scoring
        if getattr(r, "scorer", None) is not None
    }
    done = _finished_scores(path, items, aliases) if resume else {}
    if not resume:
        path.unlink(missing_ok=True)
    result: Scores = {}
    total = sum(len(it.candidates) for it in items)
    with JsonlAppender(path, sync_every=10_000) as app:
        for choice, reranker in scoring:
            have = done.get(choice.label, {})
            mine = items
            if "gold" in reranker.needs:
                mine = [replace(it, gold=(gold or {}).get(it.problem_id)) for it in items]
            todo = [it for it in mine if any((it.problem_id, c.index) not in have for c in it.candidates)]
            n_todo = sum(len(it.candidates) for it in todo)
            if resume:
                log.info("%s: %d of %d candidates already scored", choice.label, total - n_todo, total)
            with tqdm(
                total=total,
                initial=total - n_todo,
                unit="cand",
                desc=f"scores {choice.label}",
                disable=None,
                file=sys.stderr,
            ) as bar:
                for batch in _chunks(todo, chunk or _chunk_size(reranker)):
                    scored = checked_score_items(choice.label, reranker, batch, bar.update, fix)
                    for it, res in zip(batch, scored, strict=True):
                        for c, r in zip(it.candidates, res, strict=True):
                            if (it.problem_id, c.index) not in have:
                                have[(it.problem_id, c.index)] = r.as_dict()
                                app.write(
                                    {
                                        "problem_id": it.problem_id,
                                        "index": c.index,
                                        "scorer": choice.label,
                                        **r.as_dict(),
                                    }
                                )
                    app.flush()
            table = result.setdefault(choice.label, {})
            cut = 0
            for it in items:
                rows = [have[(it.problem_id, c.index)] for c in it.candidates]
                cut += sum(bool(r.get("truncated")) for r in rows)
                table[it.problem_id] = tuple(
                    (float(r["score"]), float(r["score"] if r.get("prob") is None else r["prob"]))
                    for r in rows
                )
            log.info(
                "%s: %d candidates scored, %d prompts cut to the model's context", choice.label, total, cut
            )
    return result


def _chunks(items: Sequence[RerankItem], size: int) -> list[list[RerankItem]]:
    """Whole problems per chunk, at least ``size`` candidates where the problems allow it."""
    out: list[list[RerankItem]] = []
    cur: list[RerankItem] = []
    n = 0
    for it in items:
        cur.append(it)
        n += len(it.candidates)
        if n >= size:
            out.append(cur)
            cur, n = [], 0
    if cur:
        out.append(cur)
    return out


def checked_score_items(
    label: str, reranker: Any, batch: Sequence[RerankItem], progress: Any = None, fix: str | None = None
) -> list[list[Any]]:
    """``reranker.score_items(batch)``, checked: a backend that raises or returns malformed output is a
    :class:`~rerankeval.errors.HarnessFaultError` naming the reranker, the problems and ``fix``."""
    where = f"{batch[0].problem_id}" + (f" .. {batch[-1].problem_id}" if len(batch) > 1 else "")
    fix = fix or (
        "Fix the model backend (or its spec), then re-run the same command with --resume: the candidates "
        "scored before are kept"
    )
    try:
        res = reranker.score_items(batch, progress=progress)
    except RerankEvalError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of the backend is reported as such, never a score
        raise HarnessFaultError(
            f"reward model {label!r} failed on {where}: {type(e).__name__}: {e}. {fix}"
        ) from e
    bad = _malformed(batch, res)
    if bad:
        raise HarnessFaultError(f"reward model {label!r} returned malformed output on {where}: {bad}. {fix}")
    return list(res)


def _malformed(batch: Sequence[RerankItem], res: Any) -> str | None:
    if not isinstance(res, (list, tuple)) or len(res) != len(batch):
        return f"expected {len(batch)} result lists, got {type(res).__name__}"
    for it, rs in zip(batch, res, strict=True):
        if not isinstance(rs, (list, tuple)) or len(rs) != len(it.candidates):
            return f"{it.problem_id}: expected {len(it.candidates)} scores, got {rs!r:.80}"
        for c, r in zip(it.candidates, rs, strict=True):
            score, prob = getattr(r, "score", None), getattr(r, "prob", None)
            if not _finite(score) or not (prob is None or _finite(prob)):
                return f"{it.problem_id} #{c.index}: score {score!r}, prob {prob!r} (finite numbers expected)"
    return None


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _finished_scores(
    path: Path, items: Sequence[RerankItem], aliases: Mapping[str, str] | None = None
) -> dict[str, dict[tuple[str, int], dict[str, Any]]]:
    """label -> (problem_id, index) -> row, from a previous invocation's rm_scores.jsonl (a row
    whose ``scorer`` is a key of ``aliases`` counts for that label)."""
    aliases = aliases or {}
    known = {(it.problem_id, c.index) for it in items for c in it.candidates}
    done: dict[str, dict[tuple[str, int], dict[str, Any]]] = {}
    for no, row in iter_jsonl(path, missing_ok=True):
        check_run_row(path, no, row)
        key = (row["problem_id"], row["index"])
        if key not in known:
            raise InputError.at(
                path,
                no,
                f"score of {key[0]} #{key[1]}, which is not a candidate of this run",
                "Delete that line and re-run with --resume",
            )
        mine = done.setdefault(aliases.get(row["scorer"], row["scorer"]), {})
        if key in mine:
            raise InputError.at(
                path,
                no,
                f"second score of {key[0]} #{key[1]} by {row['scorer']}",
                "Delete the duplicate line",
            )
        mine[key] = row
    return done


def reward_quality(
    groups: Mapping[str, Sequence[Candidate]],
    golds: Mapping[str, Sequence[Sequence[bool]]],
    scores: Scores,
    matrices: Mapping[str, PassMatrix],
    *,
    n_boot: int,
    seed: int,
    fractions: Mapping[str, Sequence[Sequence[float | None]]] | None = None,
) -> dict[str, dict[str, Any]]:
    """RM@k, AUC, accuracy and ECE per reward and gold view (see :func:`rm_quality`), and the
    Scoring Verifiers ranking metrics where every candidate's fraction of inputs passed is known.

    Args:
        groups: problem_id -> candidates (the order of ``golds``).
        golds: view -> per problem (in ``groups`` order) -> correctness per candidate.
        scores: The reward models' scores (:func:`score_run`).
        matrices: problem_id -> pass matrix; their reward is judged too when there are tests.
        n_boot: Bootstrap replicates over problems.
        seed: Bootstrap seed.
        fractions: view -> per problem -> each candidate's fraction of the benchmark's inputs
            passed (None where unknown: a problem is ranked only when all its fractions are known).

    Returns:
        reward name -> view -> the :func:`rm_quality` dict.
    """
    pids = list(groups)

    def frac(v: str, p: int) -> tuple[float, ...] | None:
        row = (fractions or {}).get(v)
        if row is None or any(x is None for x in row[p]):
            return None
        return tuple(float(x) for x in row[p] if x is not None)

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
                        frac(v, p),
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
                    replace(unit_test_reward(matrices[pid], golds[v][p]), fractions=frac(v, p))
                    for p, pid in enumerate(pids)
                    if pid in matrices
                ],
                cfg,
            )
            for v in golds
        }
    return out
