"""Figures of the scaling report. Each function takes a frame and returns a matplotlib ``Figure``.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot, so no global state
and no GUI backend): tests read their axes, labels and series, and :func:`save_figure` writes
them as PNG at 150 dpi. Values are shown in percent.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PANEL_W, PANEL_H = 5.6, 4.2
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
PLAIN_STYLE: dict[str, Any] = {"color": "0.35", "linestyle": "--", "linewidth": 1.2}
ORACLE_STYLE: dict[str, Any] = {"color": "black", "linestyle": ":", "linewidth": 1.2}


def _figure(n_rows: int, n_cols: int, extra_h: float = 0.6) -> tuple[Figure, list[list[Axes]]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(PANEL_W * n_cols, 7.0), PANEL_H * n_rows + extra_h), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    return fig, [list(r) for r in axes]


def _suptitle(fig: Figure, text: str) -> None:
    """A figure title wrapped to the figure's width (about 11 characters per inch at 12 pt)."""
    import textwrap

    fig.suptitle(textwrap.fill(text, width=int(11 * fig.get_figwidth())), fontsize=12)


def _colors(names: Sequence[str]) -> dict[str, Any]:
    """One fixed colour per series name, the same in every panel."""
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {n: cmap(i % 10) for i, n in enumerate(dict.fromkeys(names))}


def _shared_legend(fig: Figure, axes: Sequence[Axes]) -> None:
    """One legend under the panels, with every distinct label once (2 columns per 7 inches of width)."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    n_cols = max(1, min(4, int(fig.get_figwidth() / 3.5)))
    fig.legend(
        list(seen.values()), list(seen), loc="outside lower center", ncols=n_cols, fontsize=9, frameon=False
    )


def _log_x(ax: Axes, ticks: Sequence[float]) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    ax.set_xscale("log")
    ticks = sorted({float(t) for t in ticks if t > 0})
    if len(ticks) > 9:  # keep about 8 labelled ticks, always the first and last
        keep = {ticks[0], ticks[-1]} | {ticks[round(i * (len(ticks) - 1) / 7)] for i in range(8)}
        ticks = sorted(keep)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([_short(t) for t in ticks])


def _short(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.3g}M"
    if x >= 1e3:
        return f"{x / 1e3:.3g}k"
    return f"{x:.3g}"


def _groups(df: pd.DataFrame) -> list[tuple[str, str, str]]:
    return list(dict.fromkeys(zip(df["policy"], df["test_generator"], df["dataset"], strict=True)))


def _pct(xs: Sequence[float]) -> list[float]:
    return [100.0 * float(x) for x in xs]


def _datasets(df: pd.DataFrame) -> str:
    return ", ".join(dict.fromkeys(str(d) for d in df["dataset"]))


def plot_gain_vs_tests(curve: pd.DataFrame, title: str | None = None) -> Figure:
    """pass@1 vs number of generated unit tests per problem (CodeRM's Figure 1).

    One panel per (policy, test generator); one line per reranker with its 95% bootstrap band;
    dashed: plain pass@1 (no reranking); dotted: oracle pass@N.

    Args:
        curve: :func:`~rerankeval.report.curves.scaling_curve` output.
        title: Figure title (default names the dataset).
    """
    groups = _groups(curve)
    fig, axes = _figure(1, max(1, len(groups)), extra_h=1.2)
    colors = _colors(sorted(curve["reranker"].unique()))
    for ax, (policy, gen, ds) in zip(axes[0], groups, strict=False):
        sub = curve[(curve.policy == policy) & (curve.test_generator == gen) & (curve.dataset == ds)]
        for rr, g in sub.groupby("reranker", sort=True):
            g = g.sort_values("budget")
            color = colors[str(rr)]
            ax.plot(g["budget"], _pct(g["pass@1"]), marker="o", markersize=4, color=color, label=str(rr))
            ax.fill_between(
                g["budget"], _pct(g["low"]), _pct(g["high"]), color=color, alpha=0.12, linewidth=0
            )
        ax.axhline(100 * float(sub["plain"].iloc[0]), label="plain pass@1 (no reranking)", **PLAIN_STYLE)
        ax.axhline(
            100 * float(sub["oracle"].iloc[0]),
            label="oracle pass@N (a correct sample exists)",
            **ORACLE_STYLE,
        )
        _log_x(ax, list(sub["budget"]))
        ax.set_xlabel("generated unit tests per problem (log scale)")
        ax.set_ylabel("pass@1 (%)")
        ax.set_title(f"policy: {policy}\ntests: {gen}", fontsize=10)
        ax.grid(True, alpha=0.3)
    _shared_legend(fig, axes[0])
    _suptitle(
        fig,
        title or f"{_datasets(curve)}: pass@1 vs unit tests per problem (bands: 95% bootstrap over problems)",
    )
    return fig


def plot_gain_by_quintile(table: pd.DataFrame, title: str | None = None) -> Figure:
    """Gain over plain pass@1 vs number of tests, one line per difficulty quintile (CodeRM's Figure 2).

    Quintile 1 holds the problems with the highest pass rate of the policy, quintile 5 the lowest.
    One panel per (policy, test generator) and reranker.

    Args:
        table: :func:`~rerankeval.report.curves.quintile_table` output.
        title: Figure title (default names the dataset).
    """
    from matplotlib import colormaps

    groups = _groups(table)
    rerankers = sorted(dict.fromkeys(table["reranker"]))
    fig, axes = _figure(max(1, len(groups)), max(1, len(rerankers)))
    cmap = colormaps["viridis"]
    for row, (policy, gen, ds) in zip(axes, groups, strict=False):
        for ax, rr in zip(row, rerankers, strict=False):
            sub = table[
                (table.policy == policy)
                & (table.test_generator == gen)
                & (table.dataset == ds)
                & (table.reranker == rr)
            ]
            for q, g in sub.groupby("quintile", sort=True):
                g = g.sort_values("budget")
                lo, hi = 100 * g["pass_rate_min"].min(), 100 * g["pass_rate_max"].max()
                ax.plot(
                    g["budget"],
                    _pct(g["gain"]),
                    marker="o",
                    markersize=3.5,
                    color=cmap((int(q) - 1) / 4),
                    label=f"Q{int(q)}: pass rate {lo:.0f}-{hi:.0f}% (n={int(g['n_problems'].iloc[0])})",
                )
            ax.axhline(0.0, color="0.5", linewidth=0.8)
            _log_x(ax, list(sub["budget"]))
            ax.set_xlabel("generated unit tests per problem (log scale)")
            ax.set_ylabel("gain over plain pass@1 (points)")
            ax.set_title(f"{rr} | policy: {policy}\ntests: {gen}", fontsize=10)
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7.5, loc="upper left", title="difficulty quintile", title_fontsize=8)
    _suptitle(fig, title or f"{_datasets(table)}: gain by difficulty quintile (Q1 easiest, Q5 hardest)")
    return fig


def plot_leaderboard(table: pd.DataFrame, title: str | None = None) -> Figure:
    """pass@1 of every run and reranker in a merged leaderboard: one row per run, one panel per dataset.

    Each row spans plain pass@1 (grey bar) to oracle pass@N (black bar); a marker per reranker
    shows where its pick lands, so the gain each reranker takes of the room the oracle leaves
    can be read across models at a glance. ``random`` is left out: its expected pass@1 is plain's.

    Args:
        table: :func:`~rerankeval.report.tables.merge_leaderboards` output (or a
            :func:`~rerankeval.report.tables.leaderboard`, without ``source``).
        title: Figure title.
    """
    from matplotlib.figure import Figure

    table = table.copy()
    if "source" not in table.columns:
        table["source"] = ""
    datasets = list(dict.fromkeys(table["dataset"]))
    key = ["policy", "test_generator", "n_problems", "n_samples", "source"]
    runs_of = {
        ds: list(dict.fromkeys(table[table.dataset == ds][key].itertuples(index=False))) for ds in datasets
    }
    heights = [max(1, len(runs_of[ds])) for ds in datasets] or [1]
    fig = Figure(figsize=(12.0, 0.75 * sum(heights) + 1.2 * len(heights) + 1.0), layout="constrained")
    axes = fig.subplots(len(heights), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    shown = [r for r in dict.fromkeys(table["reranker"]) if r not in ("oracle", "random")]
    colors = _colors(sorted(shown))
    marker_of = {r: MARKERS[i % len(MARKERS)] for i, r in enumerate(sorted(shown))}
    for ax, ds in zip(axes, datasets, strict=False):
        runs = runs_of[ds]
        labels = []
        for y, run in enumerate(runs):
            sub = table[(table.dataset == ds)]
            for col, value in zip(key, run, strict=True):
                sub = sub[sub[col] == value]
            plain, oracle = 100 * float(sub["plain"].iloc[0]), 100 * float(sub["oracle"].iloc[0])
            ax.plot([plain, oracle], [y, y], color="0.8", linewidth=6, solid_capstyle="butt", zorder=1)
            ax.plot([plain], [y], marker="|", markersize=16, color="0.35", linestyle="", label="plain pass@1")
            ax.plot(
                [oracle], [y], marker="|", markersize=16, color="black", linestyle="", label="oracle pass@N"
            )
            for rec in sub[sub.reranker.isin(shown)].itertuples(index=False):
                rr = str(rec.reranker)
                ax.plot(
                    [100 * float(rec.reranked)],
                    [y],
                    marker=marker_of[rr],
                    markersize=7,
                    color=colors[rr],
                    linestyle="",
                    label=rr,
                    alpha=0.9,
                    zorder=3,
                )
            policy, gen, n_problems, n_samples, source = run
            where = f"; {source}" if source else ""
            labels.append(
                f"{policy}\ntests: {gen}\n{int(n_problems)} problems x {int(n_samples)} samples{where}"
            )
        ax.set_yticks(range(len(runs)), labels, fontsize=7.5)
        ax.set_ylim(len(runs) - 0.5, -0.5)
        ax.set_xlabel("pass@1 (%)")
        ax.set_title(str(ds), fontsize=10)
        ax.grid(True, axis="x", alpha=0.3)
    _shared_legend(fig, list(axes))
    _suptitle(fig, title or "pass@1 with and without reranking, per run (grey: plain to oracle)")
    return fig


def plot_allocation(
    curve: pd.DataFrame, baseline: str = "uniform", fraction: float = 0.3, title: str | None = None
) -> Figure:
    """Accuracy vs test executions for each allocation of the same budgets.

    One panel per (policy, test generator, reranker); one line per allocation (points = budgets)
    with its 95% bootstrap band. Dashed: the baseline's pass@1 at its largest budget; dotted
    vertical: ``fraction`` of the baseline's executions there.

    Args:
        curve: :func:`~rerankeval.report.curves.allocation_curve` output.
        baseline: The allocation whose largest budget sets the target.
        fraction: Share of the baseline's executions marked on the figure.
        title: Figure title (default names the dataset).
    """
    keys = list(
        dict.fromkeys(
            zip(curve["policy"], curve["test_generator"], curve["dataset"], curve["reranker"], strict=True)
        )
    )
    fig, axes = _figure(1, max(1, len(keys)), extra_h=1.4)
    for ax, (policy, gen, ds, rr) in zip(axes[0], keys, strict=False):
        sub = curve[
            (curve.policy == policy)
            & (curve.test_generator == gen)
            & (curve.dataset == ds)
            & (curve.reranker == rr)
        ]
        for i, (label, g) in enumerate(sub.groupby("allocation", sort=False)):
            g = g.sort_values("executions")
            is_base = label == baseline
            if "method" in g.columns and (g["method"] == "bound").all():  # a bound, not an allocation: a star
                ax.plot(
                    g["executions"],
                    _pct(g["pass@1"]),
                    marker="*",
                    markersize=13,
                    linestyle="none",
                    color="black",
                    label=str(label),
                    zorder=5,
                )
                continue
            (line,) = ax.plot(
                g["executions"],
                _pct(g["pass@1"]),
                marker=MARKERS[i % len(MARKERS)],
                markersize=5 if is_base else 4.5,
                linewidth=2.2 if is_base else 1.4,
                linestyle="-" if is_base else (0, (4, 1.5)),
                label=str(label),
                zorder=3 if is_base else 4,
            )
            if is_base:  # one band (the baseline's) keeps the figure readable
                ax.fill_between(
                    g["executions"],
                    _pct(g["low"]),
                    _pct(g["high"]),
                    color=line.get_color(),
                    alpha=0.15,
                    linewidth=0,
                    label=f"{label}: 95% bootstrap band",
                )
        base = sub[sub.allocation == baseline]
        if not base.empty:
            top = base.loc[base["executions"].idxmax()]
            target = 100 * float(top["pass@1"])
            ax.axhline(
                target, color="0.35", linestyle="--", linewidth=1.1, label=f"{baseline} at its largest budget"
            )
            ax.annotate(
                f"{target:.1f}%",
                (0.01, target),
                xycoords=("axes fraction", "data"),
                fontsize=8,
                va="bottom",
                color="0.25",
            )
            ax.axvline(
                fraction * float(top["executions"]),
                color="crimson",
                linestyle=":",
                linewidth=1.3,
                label=f"{100 * fraction:.0f}% of the executions of that budget",
            )
        _executions_axis(ax, sub)
        ax.set_xlabel("test executions (candidates x tests, log scale)")
        ax.set_ylabel(f"pass@1 (%) reranked by {rr}")
        ax.set_title(f"policy: {policy}\ntests: {gen}", fontsize=10)
        ax.grid(True, alpha=0.3)
    _shared_legend(fig, axes[0])
    _suptitle(
        fig, title or f"{_datasets(curve)}: accuracy vs test executions, same budgets, different allocations"
    )
    return fig


def _executions_axis(ax: Axes, sub: pd.DataFrame) -> None:
    """Log x axis of executions (``20k``, ``1M``) with tests per problem on a second axis on top."""
    from matplotlib.ticker import FuncFormatter

    xs = [x for x in sub["executions"] if x > 0]
    if not xs:
        return
    ax.set_xscale("log")
    ax.set_xlim(min(xs) / 1.3, max(xs) * 1.3)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _short(v)))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: _short(v) if str(round(v))[0] in "25" else ""))
    ratios = sorted(e / t for e, t in zip(sub["executions"], sub["tests_per_problem"], strict=True) if t > 0)
    if ratios:
        per = ratios[len(ratios) // 2]  # executions per (test per problem): candidates x problems
        top = ax.secondary_xaxis("top", functions=(lambda e: e / per, lambda t: t * per))
        top.set_xlabel("tests per problem (average)", fontsize=9)
        top.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        top.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))


def save_figure(fig: Figure, path: Path) -> Path:
    """Writes a figure as PNG at 150 dpi (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    return path
