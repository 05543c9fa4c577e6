"""``rerankeval leaderboard``: the leaderboards of several reports (or runs) in one table and figure."""

from __future__ import annotations

from pathlib import Path

import click

from rerankeval.cli._params import path_labels
from rerankeval.errors import InputError


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for leaderboard.csv, leaderboard.md and fig_leaderboard.png.",
)
@click.option(
    "--overwrite", is_flag=True, help="Write into a non-empty --out folder, replacing same-named files."
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="SOURCE=LABEL",
    help="Name of a source in the table's source column (default: the path as given).",
)
@click.option("--title", default=None, help="Title of the figure.")
def leaderboard(
    sources: tuple[Path, ...], out: Path, overwrite: bool, labels: tuple[str, ...], title: str | None
) -> None:
    """The leaderboards of several SOURCES in one table, with a figure of every run's gains.

    A SOURCE is a `rerankeval report` folder (its leaderboard.csv), a leaderboard.csv, or a run
    directory (its saved selections). Each row keeps its source; runs on different problem sets
    stay apart. Nothing is executed and no model is loaded.
    """
    from rerankeval.report.build import prepare_out
    from rerankeval.report.plots import plot_leaderboard, save_figure
    from rerankeval.report.tables import merge_leaderboards, read_leaderboard, to_markdown, write_table

    given = {p.resolve(): p for p in sources}
    if len(given) < len(sources):
        twice = sorted({str(p) for p in sources if sum(q.resolve() == p.resolve() for q in sources) > 1})
        raise InputError(f"source(s) given more than once: {', '.join(twice)}. Give each report once")
    names = {p: str(p) for p in sources}
    names.update(path_labels(labels, sources, "--label", "SOURCE", "sources"))
    tables = {names[p]: read_leaderboard(p) for p in sources}
    df = merge_leaderboards(tables)
    if df.empty:
        raise InputError(
            f"no leaderboard rows in {', '.join(map(str, sources))}. Give reports of finished runs"
        )
    out = prepare_out(out, overwrite)
    files = write_table(df, out, "leaderboard")
    files.append(save_figure(plot_leaderboard(df, title), out / "fig_leaderboard.png"))
    click.echo(to_markdown(df))
    click.echo(f"leaderboard: {', '.join(str(f) for f in files)}")
