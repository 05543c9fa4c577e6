"""Ranking every problem with every reranker, and the metrics of the result.

Pure functions of the run's items, ground truth and rerankers (no I/O), so reports and tests
can recompute any number from the files of a finished run.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rerankeval.core import metrics as M
from rerankeval.core.rerank import Ranking, Reranker, RerankItem

#: view -> per problem -> per candidate; the views the benchmark adapter names, the primary first
#: (EvalPlus: "plus" = base and extended inputs, "base" = the original inputs; SWE-bench: "resolved").
Golds = Mapping[str, Sequence[Sequence[bool]]]


@dataclass(frozen=True, slots=True)
class Draw:
    """One (possibly subsampled) version of every problem.

    Attributes:
        index: Draw number (0 when nothing is subsampled).
        items: The problems (subsampled candidates and tests).
        golds: view -> ground truth per problem, aligned with ``items``.
        kept: Per problem, the positions of the kept candidates in the full item.
    """

    index: int
    items: tuple[RerankItem, ...]
    golds: Mapping[str, tuple[tuple[bool, ...], ...]]
    kept: tuple[tuple[int, ...], ...]


def make_draws(
    items: Sequence[RerankItem],
    golds: Golds,
    *,
    num_samples: int | None,
    num_tests: int | None,
    draws: int,
    seed: int,
) -> list[Draw]:
    """The full data as one draw, or ``draws`` seeded random subsets of candidates and/or tests
    (subsets stratified on the primary view, the first of ``golds``)."""
    if num_samples is None and num_tests is None:
        return [
            Draw(
                0,
                tuple(items),
                {v: tuple(tuple(map(bool, g)) for g in golds[v]) for v in golds},
                tuple(tuple(range(len(it.candidates))) for it in items),
            )
        ]
    out = []
    primary = next(iter(golds))
    for d in range(draws):
        rng = random.Random(f"{seed}/{d}")
        sub_items, kept = [], []
        for p, it in enumerate(items):
            sub, _, keep = M.subsample_item(it, golds[primary][p], rng, num_samples, num_tests)
            sub_items.append(sub)
            kept.append(keep)
        sub_golds = {
            v: tuple(tuple(bool(golds[v][p][i]) for i in kept[p]) for p in range(len(items))) for v in golds
        }
        out.append(Draw(d, tuple(sub_items), sub_golds, tuple(kept)))
    return out


def checked_rank(
    reranker: Reranker, items: Sequence[RerankItem], label: str | None = None, fix: str | None = None
) -> list[Ranking]:
    """``reranker.rank(items)``, checked against the reranker contract.

    Raises:
        HarnessFaultError: The reranker raised (a broken reranker is never read as a pick); the
            message names it (``label``) and ``fix``.
        PluginContractError: Not one ranking per item, or a ranking with another number of scores
            than the item has candidates, or a pick that is no candidate's position.
    """
    from rerankeval.errors import HarnessFaultError, PluginContractError, RerankEvalError

    name = label or reranker.name
    try:
        rankings = list(reranker.rank(items))
    except RerankEvalError:
        raise
    except Exception as e:  # noqa: BLE001 - a reranker that breaks is the harness's fault
        raise HarnessFaultError(
            f"reranker '{name}' failed: {type(e).__name__}: {e}. "
            + (fix or "Fix the reranker (or drop it) and re-run")
        ) from e
    if len(rankings) != len(items):
        raise PluginContractError(
            f"reranker '{name}' returned {len(rankings)} rankings for {len(items)} problems"
        )
    for it, r in zip(items, rankings, strict=True):
        n = len(it.candidates)
        if len(r.scores) != n or not r.chosen or any(not 0 <= i < n for i in r.chosen):
            raise PluginContractError(
                f"reranker '{name}' ranked {it.problem_id} with {len(r.scores)} scores and picks "
                f"{list(r.chosen)} for {n} candidates"
            )
    return rankings


def rank_draw(
    reranker: Reranker, draw: Draw, label: str | None = None, fix: str | None = None
) -> dict[str, list[Ranking]]:
    """Rankings per gold view (:func:`checked_rank`). A reranker that reads gold (the oracle) ranks
    once per view."""
    if "gold" in reranker.needs:
        return {
            v: checked_rank(
                reranker,
                [replace(it, gold=g) for it, g in zip(draw.items, draw.golds[v], strict=True)],
                label,
                fix,
            )
            for v in draw.golds
        }
    rankings = checked_rank(reranker, draw.items, label, fix)
    return {v: rankings for v in draw.golds}


@dataclass(slots=True)
class RerankerResult:
    """A reranker's numbers for one gold view (means over draws when subsampled).

    Attributes:
        pass_at_1: Mean over problems of the expected accuracy of a uniform pick among the chosen set.
        gain: ``pass_at_1`` minus plain pass@1.
        per_problem: Each problem's expected accuracy (averaged over draws).
        ci_tests: Interval over generated tests (column bootstrap, or the spread over draws).
        ci_problems: Interval over problems (problem bootstrap).
        far: False acceptance rate of the chosen set as a judge (draw 0).
        frr: False rejection rate of the chosen set as a judge (draw 0).
        by_draw: pass@1 of each draw.
        pick_pass_at_1: Accuracy of the single pick written to ``selected/<reranker>.jsonl`` (the
            lowest index of each chosen set, draw 0): what ``evalplus.evaluate`` reports for that file.
    """

    pass_at_1: float
    gain: float
    per_problem: list[float]
    ci_tests: M.Interval | None = None
    ci_problems: M.Interval | None = None
    far: float = float("nan")
    frr: float = float("nan")
    by_draw: list[float] = field(default_factory=list)
    pick_pass_at_1: float = float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "pass@1": self.pass_at_1,
            "gain": self.gain,
            "ci_tests": self.ci_tests.as_dict() if self.ci_tests else None,
            "ci_problems": self.ci_problems.as_dict() if self.ci_problems else None,
            "selection_FAR": self.far,
            "selection_FRR": self.frr,
            "by_draw": self.by_draw,
            "pick_pass@1": self.pick_pass_at_1,
        }


def baseline_metrics(draws: Sequence[Draw]) -> dict[str, dict[str, float]]:
    """Plain pass@1 and oracle pass@N per view (means over draws)."""
    out: dict[str, dict[str, float]] = {}
    for v in draws[0].golds:
        out[v] = {
            "plain_pass@1": M._mean([M.plain_pass_at_1(d.golds[v]) for d in draws]),
            "oracle_pass@n": M._mean([M.oracle_pass_at_n(d.golds[v]) for d in draws]),
        }
    return out


def reranker_metrics(
    reranker: Reranker,
    draws: Sequence[Draw],
    rankings: Sequence[Mapping[str, list[Ranking]]],
    baselines: Mapping[str, Mapping[str, float]],
    *,
    bootstrap: int,
    seed: int,
    level: float = 0.95,
) -> dict[str, RerankerResult]:
    """pass@1, gain and confidence intervals of one reranker, per gold view.

    Without subsampling, the tests interval resamples each problem's test columns ``bootstrap``
    times (only for rerankers that read a matrix); with subsampling, the spread over the draws
    is the interval (CodeRM's procedure: random test subsets, averaged). The problems interval
    resamples problems (5 x ``bootstrap`` replicates) of the draw-averaged per-problem accuracy.
    """
    out: dict[str, RerankerResult] = {}
    tests_ci: dict[str, M.Interval] = {}
    if len(draws) == 1 and "matrix" in reranker.needs and "gold" not in reranker.needs and bootstrap > 0:
        tests_ci = M.bootstrap_tests_views(
            reranker.rank, draws[0].items, draws[0].golds, b=bootstrap, seed=seed, level=level
        )
    for v in draws[0].golds:
        per_draw = [
            [r.expected_accuracy(g) for r, g in zip(rk[v], d.golds[v], strict=True)]
            for rk, d in zip(rankings, draws, strict=True)
        ]
        n = len(per_draw[0])
        per_problem = [M._mean([pd[p] for pd in per_draw]) for p in range(n)]
        by_draw = [M._mean(pd) for pd in per_draw]
        acc = M._mean(by_draw)
        res = RerankerResult(acc, acc - baselines[v]["plain_pass@1"], per_problem, by_draw=by_draw)
        res.ci_problems = M.bootstrap_problems(per_problem, b=5 * bootstrap, seed=seed, level=level)
        res.ci_tests = M.interval(by_draw, level) if len(draws) > 1 else tests_ci.get(v)
        # what the selected/<reranker>.jsonl file scores: the lowest index of each chosen set (draw 0)
        d0 = zip(rankings[0][v], draws[0].golds[v], strict=True)
        res.pick_pass_at_1 = M._mean([float(g[r.pick]) if r.chosen else 0.0 for r, g in d0])
        res.far, res.frr = M.selection_far_frr(rankings[0][v], draws[0].golds[v])
        out[v] = res
    return out
