"""Reports from saved runs: pandas frames, markdown/CSV tables and matplotlib figures.

Every report is a pure function of run directories (see :mod:`rerankeval.runs`): read them with
:func:`load_run`, compute frames (:func:`leaderboard`, :func:`scaling_curve`,
:func:`quintile_table`, :func:`allocation_curve`, :func:`budget_target`), draw them
(:func:`plot_gain_vs_tests`, :func:`plot_gain_by_quintile`, :func:`plot_allocation`), or do all of
it with :func:`build_report` (what ``rerankeval report`` calls). :func:`merge_leaderboards` puts the
leaderboards of several reports in one table (``rerankeval leaderboard``); :func:`plot_leaderboard`
draws it. pandas and matplotlib are imported only when a function needs them.
"""

from rerankeval.report.allocations import (
    DEFAULT_ALLOCATIONS,
    AllocationSpec,
    allocation_curve,
    allocation_points,
    budget_target,
    clairvoyant_points,
    default_allocations,
)
from rerankeval.report.build import Report, ReportOptions, build_report
from rerankeval.report.curves import difficulty_quintiles, quintile_table, scaling_curve, scaling_points
from rerankeval.report.frames import RunFrames, load_run
from rerankeval.report.plots import (
    plot_allocation,
    plot_gain_by_quintile,
    plot_gain_vs_tests,
    plot_leaderboard,
    save_figure,
)
from rerankeval.report.tables import (
    leaderboard,
    merge_leaderboards,
    read_leaderboard,
    to_markdown,
    write_table,
)

__all__ = [
    "DEFAULT_ALLOCATIONS",
    "AllocationSpec",
    "Report",
    "ReportOptions",
    "RunFrames",
    "allocation_curve",
    "allocation_points",
    "budget_target",
    "build_report",
    "clairvoyant_points",
    "default_allocations",
    "difficulty_quintiles",
    "leaderboard",
    "load_run",
    "merge_leaderboards",
    "plot_allocation",
    "plot_gain_by_quintile",
    "plot_gain_vs_tests",
    "plot_leaderboard",
    "quintile_table",
    "read_leaderboard",
    "save_figure",
    "scaling_curve",
    "scaling_points",
    "to_markdown",
    "write_table",
]
