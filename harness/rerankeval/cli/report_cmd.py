"""``rerankeval report``: tables and figures from saved runs (no re-execution)."""

from __future__ import annotations

from pathlib import Path

import click

from rerankeval.cli._params import Finite, path_labels
from rerankeval.errors import InputError


def _numbers(text: str | None, kind: type, flag: str) -> tuple | None:
    if text is None or not text.strip():
        return None
    try:
        values = tuple(kind(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError(f"{flag} takes comma-separated numbers, e.g. 1,2,5,10; got {text!r}") from None
    if any(v <= 0 for v in values):
        raise InputError(f"{flag} values must be > 0; got {text!r}")
    return values


@click.command()
@click.argument(
    "runs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, file_okay=False)
)
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Folder for tables, figures and report.md."
)
@click.option(
    "--overwrite", is_flag=True, help="Write into a non-empty --out folder, replacing same-named files."
)
@click.option(
    "-r",
    "--reranker",
    "rerankers",
    multiple=True,
    default=("coderm", "codet", "mbr-exec"),
    show_default=True,
    help="Rerankers whose scaling curves are drawn (repeatable).",
)
@click.option(
    "--budgets",
    default=None,
    help="Tests per problem on the curves, comma-separated (default 1,2,3,5,10,20,... up to all).",
)
@click.option(
    "--orders",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Column orders averaged per point (1 = the artifact's order only).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of column orders and bootstrap.")
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Bootstrap replicates over problems for the bands.",
)
@click.option(
    "--allocation-budgets",
    default=None,
    help="Average tests per problem compared across allocations (default: --budgets).",
)
@click.option(
    "--allocation-reranker",
    "allocation_rerankers",
    multiple=True,
    default=("coderm",),
    show_default=True,
    help="Reranker(s) fed by the allocations (repeatable).",
)
@click.option(
    "--first-batch",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Tests spent per problem before greedy estimates difficulty.",
)
@click.option(
    "--adaptive-step",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Tests per round for the adaptive allocation.",
)
@click.option(
    "--adaptive-slack",
    type=Finite(0.0),
    default=0.5,
    show_default=True,
    help="Adaptive stops a problem when its leaders' lead exceeds slack x its remaining tests.",
)
@click.option(
    "--adaptive-patience",
    type=click.IntRange(0),
    default=2,
    show_default=True,
    help="Adaptive (stable pick) stops a problem once its reranker's pick held this many rounds.",
)
@click.option(
    "--difficulty",
    "difficulty_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Predicted pass rate per problem (JSONL/CSV problem_id,p; e.g. a trained probe's): "
    "adds a 'greedy (given difficulty)' allocation.",
)
@click.option(
    "--policy-label",
    "policy_labels",
    multiple=True,
    metavar="RUN_DIR=LABEL",
    help="Name of the policy model of a run (default: from run.json, else the samples file name).",
)
@click.option(
    "--tests-label",
    "tests_labels",
    multiple=True,
    metavar="RUN_DIR=LABEL",
    help="Name of the test generator of a run (default: from run.json, else the tests file name).",
)
@click.option(
    "--target-fraction",
    type=Finite(0.0, 1.0),
    default=0.3,
    show_default=True,
    help="Budget target: share of uniform's largest-budget executions.",
)
def report(
    runs: tuple[Path, ...],
    out: Path,
    overwrite: bool,
    rerankers: tuple[str, ...],
    budgets: str | None,
    orders: int,
    seed: int,
    n_boot: int,
    allocation_budgets: str | None,
    allocation_rerankers: tuple[str, ...],
    first_batch: int,
    adaptive_step: int,
    adaptive_slack: float,
    adaptive_patience: int,
    difficulty_path: Path | None,
    policy_labels: tuple[str, ...],
    tests_labels: tuple[str, ...],
    target_fraction: float,
) -> None:
    """Leaderboard, scaling curves, difficulty quintiles and allocation comparison of saved RUNS.

    Reads only the run directories (pass matrices, ground truth, selections): using k of a
    problem's tests is a column subset of its saved matrix, so nothing is executed again.
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from rerankeval.report.allocations import default_allocations
    from rerankeval.report.build import ReportOptions, build_report, prepare_out
    from rerankeval.report.frames import load_run
    from rerankeval.report.tables import to_markdown
    from rerankeval.rerankers.registry import load_reranker
    from rerankeval.scaling.difficulty import load_difficulty

    names = tuple(dict.fromkeys(rerankers + allocation_rerankers))
    loaded = [load_reranker(n) for n in names]
    difficulty = load_difficulty(difficulty_path) if difficulty_path is not None else None
    specs = default_allocations(
        first_batch, adaptive_step, adaptive_slack, adaptive_patience, difficulty is not None
    )
    opts = ReportOptions(
        budgets=_numbers(budgets, int, "--budgets"),
        orders=orders,
        seed=seed,
        n_boot=n_boot,
        allocations=specs,
        allocation_budgets=_numbers(allocation_budgets, float, "--allocation-budgets"),
        allocation_rerankers=allocation_rerankers,
        fraction=target_fraction,
    )
    policy_of = path_labels(policy_labels, runs, "--policy-label")
    tests_of = path_labels(tests_labels, runs, "--tests-label")
    frames = [load_run(p, policy=policy_of.get(p), test_generator=tests_of.get(p)) for p in runs]
    out = prepare_out(out, overwrite)
    with logging_redirect_tqdm(), tqdm(unit="step", desc="report", disable=None) as bar:
        rep = build_report(frames, out, loaded, opts, difficulty, progress=bar.update)
    click.echo(to_markdown(rep.frames["leaderboard"]))
    if "budget_target" in rep.frames:
        click.echo(to_markdown(rep.frames["budget_target"]))
    click.echo(f"report: {out / 'report.md'}  ({len(rep.files)} files)")
