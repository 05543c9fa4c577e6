"""The whole scaling report of one or more saved runs: tables, figures and an index page.

``build_report`` is what ``rerankeval report`` calls. It reads only the run directories' files;
re-ranking a column subset of a saved pass matrix is the only computation, so a report can be
rebuilt at any time with identical numbers (every random choice is seeded).
"""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerankeval.core.rerank import Reranker
from rerankeval.errors import InputError
from rerankeval.report.allocations import (
    DEFAULT_ALLOCATIONS,
    AllocationSpec,
    allocation_curve,
    allocation_points,
    budget_target,
    clairvoyant_points,
    difficulty_table,
)
from rerankeval.report.curves import quintile_table, scaling_curve, scaling_points
from rerankeval.report.frames import RunFrames
from rerankeval.report.plots import plot_allocation, plot_gain_by_quintile, plot_gain_vs_tests, save_figure
from rerankeval.report.tables import leaderboard, to_markdown, write_table

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportOptions:
    """What the report computes.

    Attributes:
        budgets: Tests per problem on the scaling curves (None: 1, 2, 3, 5, 10, ... up to all).
        orders: Column orders averaged on every curve (order 0 = the artifact's; others seeded random).
        seed: Seed of the column orders and of the bootstrap.
        n_boot: Bootstrap replicates (resampling problems) for the bands.
        allocations: Allocations compared on the accuracy-vs-compute figure.
        allocation_budgets: Budgets of that comparison (None: the scaling budgets).
        allocation_rerankers: Rerankers (by name, among those given) whose picks the allocations feed.
        quintile_budgets: Budgets shown on the quintile figure (None: all scaling budgets).
        fraction: Share of the uniform allocation's largest-budget executions the budget target allows.
        clairvoyant_step: Step of the clairvoyant stopping bound drawn with the allocations (0: none).
        figures: Draw the PNG figures (False: tables only).
    """

    budgets: tuple[int, ...] | None = None
    orders: int = 5
    seed: int = 0
    n_boot: int = 1000
    allocations: tuple[AllocationSpec, ...] = DEFAULT_ALLOCATIONS
    allocation_budgets: tuple[float, ...] | None = None
    allocation_rerankers: tuple[str, ...] = ("coderm",)
    quintile_budgets: tuple[int, ...] | None = None
    fraction: float = 0.3
    clairvoyant_step: int = 5
    figures: bool = True


@dataclass
class Report:
    """Frames and files of a built report.

    Attributes:
        frames: Name -> DataFrame (leaderboard, gain_vs_tests, quintiles, allocation, budget_target).
        files: Every file written, in order.
    """

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def prepare_out(out: Path, overwrite: bool) -> Path:
    """Creates the output folder; refuses to mix into a non-empty one unless ``overwrite``.

    Raises:
        InputError: ``out`` exists, is not empty and ``overwrite`` is False.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(
            f"{out} already holds files. Choose another --out, or pass --overwrite to replace them"
        )
    out.mkdir(parents=True, exist_ok=True)
    return out


def _title(runs: Sequence[RunFrames], what: str) -> str:
    ds = ", ".join(dict.fromkeys(r.dataset for r in runs))
    return f"{ds}: {what}"


def _scaling(
    runs: Sequence[RunFrames],
    rerankers: Sequence[Reranker],
    opts: ReportOptions,
    progress: Callable[[int], None] | None,
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    import pandas as pd

    exec_rr = [r for r in rerankers if "matrix" in r.needs]
    with_matrix = [r for r in runs if r.matrices]
    if not exec_rr or not with_matrix:
        log.info("no pass matrix or no unit-test reranker: skipping the scaling curves")
        return None
    parts = []
    for run in with_matrix:
        parts.append(scaling_points(run, exec_rr, opts.budgets, opts.orders, opts.seed))
        if progress is not None:
            progress(1)
    points = pd.concat(parts, ignore_index=True)
    return scaling_curve(points, with_matrix, opts.n_boot, opts.seed), points


def _allocations(
    runs: Sequence[RunFrames],
    rerankers: Sequence[Reranker],
    opts: ReportOptions,
    difficulty: Mapping[str, float] | None,
    progress: Callable[[int], None] | None,
) -> pd.DataFrame | None:
    import pandas as pd

    chosen = [r for r in rerankers if r.name in opts.allocation_rerankers and "matrix" in r.needs]
    specs = [s for s in opts.allocations if s.difficulty != "given" or difficulty is not None]
    if not chosen or not specs:
        return None
    parts = []
    for run in (r for r in runs if r.matrices):
        for rr in chosen:
            budgets = opts.allocation_budgets or opts.budgets
            parts.append(
                allocation_points(run, rr, specs, budgets, opts.orders, opts.seed, difficulty, progress)
            )
            if opts.clairvoyant_step > 0:
                parts.append(clairvoyant_points(run, rr, opts.clairvoyant_step, opts.orders, opts.seed))
    return allocation_curve(pd.concat(parts, ignore_index=True), opts.n_boot, opts.seed) if parts else None


def build_report(
    runs: Sequence[RunFrames],
    out: Path,
    rerankers: Sequence[Reranker],
    options: ReportOptions | None = None,
    difficulty: Mapping[str, float] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Writes the leaderboard, the scaling curves, the quintile and allocation figures, and ``report.md``.

    Args:
        runs: Loaded run directories (:func:`~rerankeval.report.frames.load_run`).
        out: Output folder (created; see :func:`prepare_out`).
        rerankers: Rerankers to re-rank column subsets with (those needing a matrix draw curves).
        options: What to compute.
        difficulty: Predicted pass rate per problem (e.g. a trained probe's) for a ``greedy`` allocation
            whose spec says ``difficulty="given"``.
        progress: Called with 1 after each unit of work.

    Returns:
        The frames and the files written.
    """
    import pandas as pd

    opts = options or ReportOptions()
    out = Path(out)
    rep = Report()
    scaling = _scaling(runs, rerankers, opts, progress)
    curve = scaling[0] if scaling else None
    rep.frames["leaderboard"] = leaderboard(*runs, curve=curve)
    rep.files += write_table(rep.frames["leaderboard"], out, "leaderboard")
    if scaling is not None:
        curve, points = scaling
        rep.frames["gain_vs_tests"] = curve
        rep.files += write_table(curve, out, "gain_vs_tests")
        rep.files += _draw(opts, lambda: plot_gain_vs_tests(curve), out / "fig_gain_vs_tests.png")
        quint = quintile_table(points, [r for r in runs if r.matrices])
        rep.frames["quintiles"] = quint
        rep.files += write_table(quint, out, "quintiles")
        shown = quint if opts.quintile_budgets is None else quint[quint.budget.isin(opts.quintile_budgets)]
        rep.files += _draw(opts, lambda: plot_gain_by_quintile(shown), out / "fig_gain_by_quintile.png")
    alloc = _allocations(runs, rerankers, opts, difficulty, progress)
    if alloc is not None:
        rep.frames["allocation"] = alloc
        rep.files += write_table(alloc, out, "allocation")
        target = budget_target(alloc, "uniform", opts.fraction)
        rep.frames["budget_target"] = target
        rep.files += write_table(target, out, "budget_target")
        rep.files += _draw(
            opts, lambda: plot_allocation(alloc, "uniform", opts.fraction), out / "fig_allocation.png"
        )
        tested = [r for r in runs if r.matrices]
        rep.frames["difficulty"] = pd.concat(
            [difficulty_table(r, 5, difficulty) for r in tested], ignore_index=True
        )
        rep.files += write_table(rep.frames["difficulty"], out, "difficulty")
    rep.files += _calibration(runs, out) if opts.figures else []
    rep.files.append(_index(runs, rep, out, opts))
    rep.files.append(_provenance(runs, rerankers, opts, out))
    return rep


def _draw(opts: ReportOptions, plot: Callable[[], Figure], path: Path) -> list[Path]:
    return [save_figure(plot(), path)] if opts.figures else []


def _calibration(runs: Sequence[RunFrames], out: Path) -> list[Path]:
    """Reliability diagrams and RM@k curves of every reward: reward-model scores and the unit-test reward."""
    if not any(not r.rm_scores.empty or r.matrices for r in runs):
        return []
    try:
        from rerankeval.report import calibration
    except ImportError:
        log.warning(
            "runs carry rm_scores but rerankeval.report.calibration is not available: no calibration figures"
        )
        return []
    write = getattr(calibration, "write_calibration_report", None)
    if write is None:
        log.warning("rerankeval.report.calibration has no write_calibration_report(runs, out): skipped")
        return []
    return [Path(p) for p in write(runs, out)]


_CAPTIONS = {
    "fig_gain_vs_tests.png": "pass@1 vs number of unit tests per problem (CodeRM Fig. 1)",
    "fig_gain_by_quintile.png": "gain over plain pass@1 by difficulty quintile (CodeRM Fig. 2)",
    "fig_allocation.png": "accuracy vs test executions for uniform, greedy and adaptive allocation",
}


def _caption(name: str) -> str:
    """The heading of a figure in report.md (calibration figures are named per run and reward)."""
    if name in _CAPTIONS:
        return _CAPTIONS[name]
    stem = name.removesuffix(".png")
    if stem.startswith("fig_rm_at_k_"):
        return f"best-of-k (RM@k) curves of every reward, run {stem.removeprefix('fig_rm_at_k_')}"
    if stem.startswith("fig_reliability_"):
        return f"reliability diagram (run and reward: {stem.removeprefix('fig_reliability_')})"
    return stem


def _index(runs: Sequence[RunFrames], rep: Report, out: Path, opts: ReportOptions) -> Path:
    lines = [
        f"# {_title(runs, 'reranking report')}",
        "",
        "Runs: " + ", ".join(f"`{r.path}` ({r.name})" for r in runs),
        "",
        f"Curves average {opts.orders} column order(s) (seed {opts.seed}); bands are 95% bootstrap intervals "
        f"over problems ({opts.n_boot} replicates). pass@1 values are in percent.",
        "",
    ]
    lines += ["## Leaderboard", "", to_markdown(rep.frames["leaderboard"]), ""]
    if "budget_target" in rep.frames:
        lines += [
            f"## Budget target: reach uniform's largest-budget pass@1 with <= {100 * opts.fraction:.0f}% "
            "of its executions",
            "",
            to_markdown(rep.frames["budget_target"]),
            "",
        ]
    if "difficulty" in rep.frames:
        lines += [
            "## Difficulty estimates (no ground truth) vs the policy's real pass rate",
            "",
            to_markdown(rep.frames["difficulty"]),
            "",
        ]
    for f in rep.files:
        if f.suffix == ".png":
            lines += [f"## {_caption(f.name)}", "", f"![{f.stem}]({f.name})", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _provenance(
    runs: Sequence[RunFrames], rerankers: Sequence[Reranker], opts: ReportOptions, out: Path
) -> Path:
    from rerankeval import __version__

    info: dict[str, Any] = {
        "runs": [
            {
                "path": str(r.path),
                "policy": r.policy,
                "test_generator": r.test_generator,
                "dataset": r.dataset,
            }
            for r in runs
        ],
        "rerankers": [r.name for r in rerankers],
        "options": {k: v for k, v in asdict(opts).items() if k != "allocations"},
        "allocations": [
            {"label": s.label, "method": s.method, "options": dict(s.options), "difficulty": s.difficulty}
            for s in opts.allocations
        ],
        "rerankeval": __version__,
        "python": platform.python_version(),
    }
    path = out / "report.json"
    path.write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
    return path
