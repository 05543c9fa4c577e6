"""Calibration maps for reward-model scores, fitted with cross-fitting over problems.

A reward model's probability (a verifier's P(YES), or a sigmoid of a scalar head) is rarely
calibrated: SWE-RM stresses that a reward used for RL must be. Two standard maps act on the
score's logit ``z`` (``logit(prob)`` when the scorer gives a probability, else the raw score):

* ``temperature``: ``p = sigmoid(z / T)`` (Guo et al. 2017), one parameter ``T > 0``; keeps the
  ranking and the 0.5 point, only sharpens or softens. Where the log loss would want ``T <= 0``
  (scores that rank backwards, or a scorer whose 0.5 point is far off: every probability above 0.5
  while most candidates are wrong), the fit stops at the boundary, ``1/T`` = :data:`MIN_INVERSE_T`:
  every probability near 0.5, the most a ranking-preserving map can do there; Platt scaling moves
  the 0.5 point instead.
* ``platt``: ``p = sigmoid(a * z + b)`` (Platt 1999), two parameters; also moves the 0.5 point
  (a verifier that says YES to everything needs ``b < 0``). A negative ``a`` is allowed: it means
  the scores rank backwards on the fitting problems.

Both are fitted by minimising the log loss (Newton's method on a convex objective, with a tiny
ridge so that separable data still gives finite parameters).

**Cross-fitting.** A map fitted on the candidates it is judged on looks better than it is. The
problems are split into ``folds`` groups (a seeded shuffle of problem ids); each group's
candidates get the map fitted on the other groups only, so no problem is scored by a map that
saw it. ECE, Brier score and log loss are then computed on these out-of-fold probabilities,
with percentile bootstrap intervals over problems, before and after, and for the difference
(paired: both from the same resamples). The map fitted on every problem is returned too, for
applying to new runs; its in-sample figures are reported only as the optimistic comparison.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rerankeval.core.metrics import interval
from rerankeval.core.rm_metrics import BinStrategy, brier_score, expected_calibration_error, reliability_bins
from rerankeval.errors import InputError

Method = Literal["temperature", "platt"]
METHODS: tuple[Method, ...] = ("temperature", "platt")
_EPS = 1e-6
_RIDGE = 1e-4
#: The smallest ``a = 1/T`` of a temperature map (``T`` at most 1e6): temperature scaling keeps the ranking.
MIN_INVERSE_T = 1e-6


@dataclass(frozen=True)
class CalibrationMap:
    """``p = sigmoid(a * z + b)``; temperature scaling is ``a = 1 / T, b = 0``."""

    method: Method
    a: float
    b: float

    def apply(self, z: float) -> float:
        """The calibrated probability of logit ``z``."""
        return _sigmoid(self.a * z + self.b)

    def as_dict(self) -> dict[str, float | str]:
        out: dict[str, float | str] = {"method": self.method, "a": self.a, "b": self.b}
        if self.method == "temperature":
            out["temperature"] = 1.0 / self.a if self.a else math.inf
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CalibrationMap:
        """The map a :meth:`as_dict` wrote.

        Raises:
            InputError: A missing or non-finite parameter, or an unknown method.
        """
        method = d.get("method")
        if method not in METHODS:
            raise InputError(f"calibration map: unknown method {method!r}. Known: {', '.join(METHODS)}")
        try:
            a, b = float(d["a"]), float(d["b"])
        except (KeyError, TypeError, ValueError):
            raise InputError("calibration map: 'a' and 'b' must be numbers") from None
        if not (math.isfinite(a) and math.isfinite(b)):
            raise InputError("calibration map: 'a' and 'b' must be finite")
        return cls(method, a, b)


@dataclass(frozen=True)
class Candidate:
    """One scored, labelled candidate: its problem, the score's logit and the label."""

    problem_id: str
    z: float
    label: bool


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def logit(p: float) -> float:
    """``log(p / (1 - p))`` with ``p`` clipped to ``[1e-6, 1 - 1e-6]``."""
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def log_loss(probs: Sequence[float], labels: Sequence[bool]) -> float:
    """Mean negative log-likelihood (probabilities clipped to ``[1e-6, 1 - 1e-6]``)."""
    if not probs:
        return math.nan
    tot = 0.0
    for p, y in zip(probs, labels, strict=True):
        p = min(max(p, _EPS), 1.0 - _EPS)
        tot -= math.log(p) if y else math.log(1.0 - p)
    return tot / len(probs)


def _objective(zs: Sequence[float], ys: Sequence[float], a: float, b: float) -> float:
    tot = 0.0
    for z, y in zip(zs, ys, strict=True):
        t = a * z + b  # log(1 + e^t) - y t, computed without overflow
        tot += (t if t > 0 else 0.0) + math.log1p(math.exp(-abs(t))) - y * t
    return tot / len(zs) + 0.5 * _RIDGE * ((a - 1.0) ** 2 + b * b)


def fit(zs: Sequence[float], labels: Sequence[bool], method: Method) -> CalibrationMap:
    """The map minimising the log loss of ``labels`` given logits ``zs``.

    Damped Newton steps (halved until the objective falls) on the mean log loss plus a ridge of
    1e-4 that pulls the map towards the identity, so separable labels still give finite parameters.

    Raises:
        InputError: No candidates, or an unknown method.
    """
    if method not in METHODS:
        raise InputError(f"unknown calibration method '{method}'. Known: {', '.join(METHODS)}")
    if not zs:
        raise InputError("nothing to fit a calibration map on (no scored, labelled candidates)")
    ys = [1.0 if y else 0.0 for y in labels]
    n = len(zs)
    a, b = 1.0, 0.0
    loss = _objective(zs, ys, a, b)
    for _ in range(200):
        ga = gb = haa = hab = hbb = 0.0
        for z, y in zip(zs, ys, strict=True):
            p = _sigmoid(a * z + b)
            r, w = p - y, p * (1.0 - p)
            ga, haa = ga + r * z, haa + w * z * z
            gb, hab, hbb = gb + r, hab + w * z, hbb + w
        ga, haa = ga / n + _RIDGE * (a - 1.0), haa / n + _RIDGE
        if method == "temperature":
            step_a, step_b = ga / haa, 0.0
        else:
            gb, hab, hbb = gb / n + _RIDGE * b, hab / n, hbb / n + _RIDGE
            det = haa * hbb - hab * hab
            step_a, step_b = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        t = 1.0
        while t > 1e-12:
            na, nb = a - t * step_a, b - t * step_b
            if method == "temperature":
                na = max(na, MIN_INVERSE_T)  # projected step: T stays positive
            new = _objective(zs, ys, na, nb)
            if new <= loss:
                break
            t /= 2
        else:
            break
        done = loss - new < 1e-13 and abs(na - a) + abs(nb - b) < 1e-9
        a, b, loss = na, nb, new
        if done:
            break
    return CalibrationMap(method, a, b)


def folds_of(problem_ids: Sequence[str], n_folds: int, seed: int) -> dict[str, int]:
    """Problem id -> fold, from a seeded shuffle of the sorted ids (round robin).

    Raises:
        InputError: Fewer than two folds, or fewer problems than folds.
    """
    ids = sorted(set(problem_ids))
    if n_folds < 2:
        raise InputError(f"--folds {n_folds}: cross-fitting needs at least 2 folds")
    if len(ids) < n_folds:
        raise InputError(
            f"{len(ids)} labelled problems cannot fill {n_folds} folds. Use --folds {max(2, len(ids))} "
            "or fewer"
            if len(ids) >= 2
            else "cross-fitting needs at least 2 labelled problems"
        )
    random.Random(seed).shuffle(ids)
    return {pid: i % n_folds for i, pid in enumerate(ids)}


@dataclass(frozen=True)
class CrossFit:
    """Out-of-fold calibrated probabilities and the maps that made them."""

    raw: tuple[float, ...]  #: sigmoid(z) per candidate, in input order
    calibrated: tuple[float, ...]  #: out-of-fold calibrated probability per candidate
    fold: tuple[int, ...]  #: the fold of each candidate's problem
    maps: tuple[CalibrationMap, ...]  #: map k was fitted on every fold but k
    full: CalibrationMap  #: fitted on every problem (for new data; in-sample here)


def cross_fit(cands: Sequence[Candidate], method: Method, n_folds: int = 5, seed: int = 0) -> CrossFit:
    """Fits one map per fold on the other folds' problems and applies it to that fold.

    Raises:
        InputError: Too few problems for the folds, or a fold whose complement has no candidates.
    """
    fold_of = folds_of([c.problem_id for c in cands], n_folds, seed)
    maps = []
    for k in range(n_folds):
        train = [c for c in cands if fold_of[c.problem_id] != k]
        maps.append(fit([c.z for c in train], [c.label for c in train], method))
    folds = tuple(fold_of[c.problem_id] for c in cands)
    return CrossFit(
        raw=tuple(_sigmoid(c.z) for c in cands),
        calibrated=tuple(maps[f].apply(c.z) for c, f in zip(cands, folds, strict=True)),
        fold=folds,
        maps=tuple(maps),
        full=fit([c.z for c in cands], [c.label for c in cands], method),
    )


def applied(cands: Sequence[Candidate], m: CalibrationMap) -> CrossFit:
    """``m`` (fitted elsewhere, e.g. on another run) applied to every candidate: no fold, no refit."""
    return CrossFit(
        raw=tuple(_sigmoid(c.z) for c in cands),
        calibrated=tuple(m.apply(c.z) for c in cands),
        fold=tuple(-1 for _ in cands),
        maps=(),
        full=m,
    )


def _figures(
    probs: Sequence[float], labels: Sequence[bool], n_bins: int, strategy: BinStrategy
) -> dict[str, float]:
    return {
        "ece": expected_calibration_error(probs, labels, n_bins, strategy),
        "brier": brier_score(probs, labels),
        "log_loss": log_loss(probs, labels),
    }


def _interval(xs: list[float], level: float) -> dict[str, float | int] | None:
    kept = [x for x in xs if not math.isnan(x)]
    return interval(kept, level).as_dict() if kept else None


def calibration_report(
    cands: Sequence[Candidate],
    result: CrossFit,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, object]:
    """ECE, Brier and log loss before and after (out of fold), with paired bootstrap intervals over problems.

    Also the in-sample figures of the map fitted on every problem (``in_sample``): what fitting
    and judging on the same problems would claim; never the headline.
    """
    labels = [c.label for c in cands]
    in_sample = [result.full.apply(c.z) for c in cands]
    before = _figures(result.raw, labels, n_bins, strategy)
    after = _figures(result.calibrated, labels, n_bins, strategy)
    by_problem: dict[str, list[int]] = {}
    for i, c in enumerate(cands):
        by_problem.setdefault(c.problem_id, []).append(i)
    groups = list(by_problem.values())
    reps: dict[str, dict[str, list[float]]] = {
        w: {k: [] for k in before} for w in ("before", "after", "change")
    }
    rng = random.Random(seed)
    for _ in range(n_boot if len(groups) > 1 else 0):
        idx = [i for _ in groups for i in groups[rng.randrange(len(groups))]]
        ys = [labels[i] for i in idx]
        b = _figures([result.raw[i] for i in idx], ys, n_bins, strategy)
        a = _figures([result.calibrated[i] for i in idx], ys, n_bins, strategy)
        for k in before:
            reps["before"][k].append(b[k])
            reps["after"][k].append(a[k])
            reps["change"][k].append(a[k] - b[k])
    out: dict[str, object] = {
        "n_problems": len(groups),
        "n_candidates": len(cands),
        "n_positive": sum(labels),
        "n_bins": n_bins,
        "strategy": strategy,
        "n_boot": n_boot,
        "seed": seed,
        "level": level,
    }
    for which, vals in (("before", before), ("after", after)):
        out[which] = {k: {"value": v, "ci": _interval(reps[which][k], level)} for k, v in vals.items()}
    out["change"] = {
        k: {"value": after[k] - before[k], "ci": _interval(reps["change"][k], level)} for k in before
    }
    out["in_sample"] = _figures(in_sample, labels, n_bins, strategy)
    out["reliability_before"] = [b.as_dict() for b in reliability_bins(result.raw, labels, n_bins, strategy)]
    out["reliability_after"] = [
        b.as_dict() for b in reliability_bins(result.calibrated, labels, n_bins, strategy)
    ]
    return out
