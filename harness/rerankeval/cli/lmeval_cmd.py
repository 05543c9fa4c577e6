"""``rerankeval lmeval``: the lm-eval tasks ``humaneval_plus_rm`` and ``mbpp_plus_rm``.

``install-tasks`` copies the task YAMLs into the installed lm-eval (needed after an editable
install; a wheel carries them already), ``--uninstall`` removes them. ``export-samples`` turns
lm-eval's ``--log_samples`` file into an EvalPlus samples file of the programs lm-eval scored.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def lmeval() -> None:
    """lm-eval tasks scored with and without reranking."""


@lmeval.command("install-tasks")
@click.option("--uninstall", is_flag=True, help="Remove the YAMLs an earlier install-tasks copied.")
@click.option(
    "--target",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Destination folder (default: <installed lm_eval>/tasks/rerankeval).",
)
def install_tasks(uninstall: bool, target: Path | None) -> None:
    """Make `lm_eval --tasks humaneval_plus_rm` work without --include_path."""
    from rerankeval_lmeval.install import install_tasks as install
    from rerankeval_lmeval.install import uninstall_tasks

    if uninstall:
        report = uninstall_tasks(target)
        click.echo(f"{report.target}: removed {len(report.removed)} file(s)")
        return
    report = install(target)
    if report.in_place:
        click.echo(f"{report.target}: the task YAMLs are installed there already (wheel install)")
        return
    click.echo(
        f"{report.target}: {len(report.written)} written, {len(report.unchanged)} unchanged"
        + (f", {len(report.removed)} stale removed" if report.removed else "")
    )


@lmeval.command("export-samples")
@click.argument("log_samples", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="EvalPlus samples .jsonl to write (task_id, solution).",
)
def export_samples(log_samples: Path, out: Path) -> None:
    """Write the programs of LOG_SAMPLES (lm-eval's samples_<task>_<time>.jsonl) as EvalPlus samples."""
    from rerankeval_lmeval.export import export_samples as export

    n = export(log_samples, out)
    click.echo(f"{out}: {n} samples")
