"""Figures of reward-model quality: the reliability diagram and the best-of-k (RM@k) curve.

Both take the JSON-ready values :func:`rerankeval.core.rm_quality.rm_quality` returns (so they
redraw a saved ``metrics.json`` without recomputation) and return a matplotlib ``Figure`` built
without pyplot (no global state, Agg rendering). :func:`write_calibration_report` draws them for
every run directory that carries ``rm_scores.jsonl`` (it is what ``rerankeval report`` calls).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerankeval.core.rm_metrics import UNIT_TEST_REWARD, CalibrationBin, ScoredProblem, unit_test_reward
from rerankeval.core.rm_quality import QualityConfig, ks_up_to, rm_quality

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)


def _bin_dict(b: CalibrationBin | Mapping[str, Any]) -> Mapping[str, Any]:
    return b.as_dict() if isinstance(b, CalibrationBin) else b


def plot_reliability(
    bins: Sequence[CalibrationBin | Mapping[str, Any]],
    title: str | None = None,
    ece: float | None = None,
    strategy: str = "uniform",
) -> Figure:
    """Reliability diagram: accuracy against mean predicted probability per bin, with counts below.

    Args:
        bins: Bins from :func:`~rerankeval.core.rm_metrics.reliability_bins` or their dicts.
        title: Figure title.
        ece: ECE to print in the legend.
        strategy: Binning named in the x label (``uniform`` or ``quantile``).
    """
    from matplotlib.figure import Figure

    rows = [_bin_dict(b) for b in bins]
    full = [r for r in rows if r["count"]]
    fig = Figure(figsize=(5.2, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], color="0.5", linestyle="--", linewidth=1, label="perfect calibration")
    top.bar(
        [(r["lo"] + r["hi"]) / 2 for r in full],
        [r["frac_pos"] for r in full],
        width=[max(r["hi"] - r["lo"], 0.01) for r in full],
        color="#9ecae1",
        edgecolor="#3182bd",
        label="fraction correct",
    )
    label = "mean predicted" + (f" (ECE {ece:.3f})" if ece is not None and not math.isnan(ece) else "")
    top.plot([r["mean_prob"] for r in full], [r["frac_pos"] for r in full], "o", color="#08519c", label=label)
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("fraction correct")
    top.legend(loc="upper left", fontsize=8)
    if title:
        top.set_title(title, fontsize=10)
    bottom.bar(
        [(r["lo"] + r["hi"]) / 2 for r in full],
        [r["count"] for r in full],
        width=[max(r["hi"] - r["lo"], 0.01) for r in full],
        color="0.6",
    )
    bottom.set_ylabel("candidates")
    bottom.set_xlabel(f"predicted probability ({strategy} bins)")
    return fig


def plot_rm_at_k(curves: Mapping[str, Sequence[Mapping[str, Any]]], title: str | None = None) -> Figure:
    """Best-of-k curves with their bootstrap bands, and the random and oracle bounds.

    Args:
        curves: Reranker name -> the ``rm_at_k`` rows of :func:`rm_quality` (``k``, ``rm``,
            ``random``, ``oracle``). The bounds are drawn from the first curve.
        title: Figure title.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 4.2), layout="constrained")
    ax = fig.subplots()
    first = next(iter(curves.values()), [])
    ks = [r["k"] for r in first]
    for name, rows in curves.items():
        x = [r["k"] for r in rows]
        y = [100 * r["rm"]["value"] for r in rows]
        ax.plot(x, y, marker="o", label=name)
        if all("ci" in r["rm"] for r in rows):
            ax.fill_between(
                x,
                [100 * r["rm"]["ci"]["low"] for r in rows],
                [100 * r["rm"]["ci"]["high"] for r in rows],
                alpha=0.2,
            )
    if first:
        ax.plot(
            ks, [100 * r["oracle"]["value"] for r in first], color="black", linestyle=":", label="oracle@k"
        )
        ax.plot(ks, [100 * r["random"]["value"] for r in first], color="0.4", linestyle="--", label="random")
    if ks and min(ks) > 0:
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks)
        ax.set_xticklabels([str(k) for k in ks])
    ax.set_xlabel("k (candidates per problem)")
    ax.set_ylabel("resolved / correct (%)")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def problems_from_frames(rm_scores: Any, gold: Any) -> dict[str, list[ScoredProblem]]:
    """Scorer -> scored problems from ``rm_scores`` and ``gold`` frames (problems with every label)."""
    labels = {
        (p, int(i)): bool(v)
        for p, i, v in zip(gold["problem_id"], gold["index"], gold["passed"], strict=True)
    }
    out: dict[str, list[ScoredProblem]] = {}
    scorer_col = rm_scores["scorer"] if "scorer" in rm_scores.columns else ["rm"] * len(rm_scores)
    probs_col = rm_scores["prob"] if "prob" in rm_scores.columns else [math.nan] * len(rm_scores)
    table: dict[str, dict[str, list[tuple[int, float, float]]]] = {}
    for s, p, i, sc, pr in zip(
        scorer_col, rm_scores["problem_id"], rm_scores["index"], rm_scores["score"], probs_col, strict=True
    ):
        table.setdefault(str(s), {}).setdefault(p, []).append((int(i), float(sc), float(pr)))
    for scorer, per in table.items():
        probs = []
        for pid, cells in sorted(per.items()):
            cells.sort()
            if not all((pid, i) in labels for i, _, _ in cells):
                continue
            has_prob = not any(math.isnan(pr) for _, _, pr in cells)
            probs.append(
                ScoredProblem(
                    pid,
                    tuple(c[1] for c in cells),
                    tuple(labels[(pid, c[0])] for c in cells),
                    tuple(c[2] for c in cells) if has_prob else None,
                )
            )
        out[scorer] = probs
    return out


def problems_from_matrices(
    matrices: Mapping[str, Any], golds: Mapping[str, Sequence[bool]]
) -> list[ScoredProblem]:
    """The unit-test reward of every problem with a pass matrix and gold (see :func:`unit_test_reward`)."""
    return [
        unit_test_reward(m, golds[pid])
        for pid, m in sorted(matrices.items())
        if pid in golds and len(golds[pid]) == len(m.rows)
    ]


def write_calibration_report(
    runs: Sequence[Any], out: Path, config: QualityConfig | None = None
) -> list[Path]:
    """Reliability diagrams and RM@k curves for every run (``RunFrames``) with ``rm_scores`` or a pass matrix.

    Each execution-free scorer of a run, and the unit-test reward of its pass matrices (tests
    passed; probability = fraction passed), gets ``fig_reliability_<run>_<scorer>.png``; the
    run's RM@k curves share ``fig_rm_at_k_<run>.png``. Returns the paths written under ``out``.
    """
    import re

    paths: list[Path] = []
    for run in runs:
        sources: dict[str, list[ScoredProblem]] = {}
        if not run.rm_scores.empty:
            sources.update(problems_from_frames(run.rm_scores, run.gold))
        matrices = getattr(run, "matrices", None)
        if matrices:
            sources[UNIT_TEST_REWARD] = problems_from_matrices(matrices, run.golds())
        if not sources:
            continue
        tag = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(run.path).name).strip("-")
        curves = {}
        for scorer, problems in sources.items():
            if not problems:
                continue
            n_max = max(len(p.labels) for p in problems)
            q = rm_quality(problems, config or QualityConfig(ks=ks_up_to(n_max), n_boot=200))
            curves[scorer] = q["rm_at_k"]
            if q["reliability"]:
                ece = q["ece"]["value"]  # type: ignore[index]
                strategy = config.strategy if config else "uniform"
                fig = plot_reliability(q["reliability"], f"{scorer}", ece, strategy)  # type: ignore[arg-type]
                name = re.sub(r"[^A-Za-z0-9._-]+", "-", scorer).strip("-")
                paths.append(_save(fig, Path(out) / f"fig_reliability_{tag}_{name}.png"))
        if curves:
            paths.append(_save(plot_rm_at_k(curves, f"RM@k: {tag}"), Path(out) / f"fig_rm_at_k_{tag}.png"))  # type: ignore[arg-type]
    return paths


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    return path
