"""``rerankeval view``: a static site to explore saved runs in a browser (no server needed)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from rerankeval.errors import InputError
from rerankeval.runs import read_run_meta

log = logging.getLogger(__name__)


def _check_kind(run: Path) -> dict[str, Any]:
    """run.json of ``run``; refuses SWE-bench runs, whose layout differs, with what to use instead."""
    meta = read_run_meta(run)
    if str(meta.get("command", "")).startswith("swebench") or meta.get("dataset") == "swebench":
        raise InputError.at(
            run,
            None,
            "is a SWE-bench run (written by 'rerankeval swebench rerank'); "
            "'rerankeval view' reads unit-test and reward-model runs of 'rerankeval rerank'",
            f"Use 'rerankeval swebench metrics {run}' for it",
        )
    if not (run / "gold.jsonl").is_file():
        raise InputError.at(
            run,
            None,
            f"holds no ground truth yet (no gold.jsonl; run.json says {meta.get('status', 'unknown')!r})",
            f"Let the run finish (or continue it with 'rerankeval rerank ... --resume {run}'), then view it",
        )
    return dict(meta)


def _problem_infos(meta: dict[str, Any], dataset_path: Path | None) -> dict[str, Any]:
    """Prompts, canonical solutions and benchmark inputs of the run's dataset, when a file is at hand.

    The file is ``--dataset-path``, else the one the run read (run.json), else EvalPlus's override
    variable; nothing is downloaded. Returns {} (and logs why) when none is found.
    """
    from rerankeval.view import ProblemInfo

    config = meta.get("config", {})
    name = config.get("dataset") or meta.get("benchmark", {}).get("name")
    if name not in ("humaneval", "mbpp"):
        log.warning("prompts not shown: unknown dataset %r in run.json", name)
        return {}
    env = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}[name]
    candidates = [dataset_path, config.get("dataset_path"), os.environ.get(env)]
    path = next((Path(p) for p in candidates if p and Path(p).is_file()), None)
    if path is None:
        log.warning(
            "prompts and failing inputs not shown: no %s file found (run.json names %r). "
            "Pass --dataset-path FILE",
            name,
            config.get("dataset_path"),
        )
        return {}
    from rerankeval_evalplus import load_dataset

    ds = load_dataset(name, path)
    expected = meta.get("benchmark", {}).get("hash")
    if expected and expected != ds.hash:
        log.warning(
            "%s is not the dataset file the run used (hash %s, run.json says %s): "
            "prompts and failing inputs may not match",
            path,
            ds.hash,
            expected,
        )
    return {
        pid: ProblemInfo(
            prompt=p["prompt"],
            entry_point=p["entry_point"],
            reference=p["prompt"] + p["canonical_solution"],
            inputs={"base": p["base_input"], "plus": p["plus_input"]},
        )
        for pid, p in ds.problems.items()
    }


@click.command()
@click.argument(
    "runs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, file_okay=False)
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Site folder (default: ./rerankeval-view; a temporary folder with --serve). "
    "A previous view site there is replaced.",
)
@click.option("--serve", is_flag=True, help="Also serve the site on http://127.0.0.1:PORT until Ctrl-C.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port for --serve (0: any free port).",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=None,
    help="A folder written by 'rerankeval report' for these runs: its figures are shown too.",
)
@click.option(
    "--dataset-path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="EvalPlus dataset file for prompts and failing inputs (default: the file the run read).",
)
def view(
    runs: tuple[Path, ...],
    out: Path | None,
    serve: bool,
    port: int,
    report_dir: Path | None,
    dataset_path: Path | None,
) -> None:
    """Writes a static, self-contained site to explore RUNS (directories of 'rerankeval rerank').

    Open OUT/index.html in a browser: the run's table and figures, a sortable problem list, and
    per problem its candidates by pass pattern, ground truth, generated tests, the pass matrix
    and each reranker's pick. Several RUNS can be compared problem by problem. Nothing from a run
    is executed: code and tests are shown as text.
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from rerankeval.report.frames import load_run
    from rerankeval.view import build_site, prepare_out
    from rerankeval.view import serve as serve_site

    metas = [_check_kind(r) for r in runs]
    frames = [load_run(r) for r in runs]
    infos = [_problem_infos(m, dataset_path) for m in metas]
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="rerankeval-view-")) if serve else Path("rerankeval-view")
    out = prepare_out(out)
    total = sum(len(f.problem_ids) for f in frames)
    with logging_redirect_tqdm(), tqdm(total=total, unit="problem", desc="view", disable=None) as bar:
        site = build_site(frames, out, infos, progress=bar.update, report=report_dir)
    click.echo(f"view: {site.index}  ({site.problems} problem pages, {site.bytes / 1e6:.1f} MB of data)")
    if serve:
        server = serve_site(out, port)
        click.echo(f"serving on http://127.0.0.1:{server.server_address[1]}/  (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
        finally:
            server.server_close()
