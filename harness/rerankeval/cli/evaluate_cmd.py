"""``rerankeval evaluate``: EvalPlus-identical verdicts for a samples file, in the sandbox."""

from __future__ import annotations

import time
from pathlib import Path

import click

from rerankeval.errors import RunExistsError
from rerankeval.runs import write_json_atomic


def default_results_path(samples: Path) -> Path:
    """EvalPlus's naming: ``x.jsonl`` -> ``x_eval_results.json``; a folder -> ``folder/eval_results.json``."""
    if samples.is_dir():
        return samples / "eval_results.json"
    return samples.with_name(samples.name[: -len(".jsonl")] + "_eval_results.json" if samples.name.endswith(".jsonl")
                             else samples.name + "_eval_results.json")


@click.command()
@click.option("--dataset", type=click.Choice(["humaneval", "mbpp"]), required=True, help="HumanEval+ or MBPP+.")
@click.option("--samples", type=click.Path(path_type=Path), required=True,
              help="EvalPlus samples: JSONL with task_id + solution|completion, or a folder of <task>/<n>.py.")
@click.option("--dataset-path", type=click.Path(path_type=Path), default=None,
              help="EvalPlus release file (default: $HUMANEVAL_OVERRIDE_PATH / $MBPP_OVERRIDE_PATH, else EvalPlus's download).")
@click.option("--parallel", type=int, default=None, help="Worker processes (default: all cores).")
@click.option("--base-only", is_flag=True, help="Only the original base inputs.")
@click.option("--test-details", is_flag=True, help="Run every input instead of stopping at the first failure.")
@click.option("--min-time-limit", type=float, default=1.0, show_default=True, help="Floor of each per-input limit (s).")
@click.option("--gt-time-limit-factor", type=float, default=4.0, show_default=True,
              help="Per-input limit as a multiple of the reference solution's time.")
@click.option("--no-evalplus-quirks", is_flag=True,
              help="Judge HumanEval/32 by its oracle instead of reproducing EvalPlus 0.3.1's always-fail report.")
@click.option("--executor", "executor_kind", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Run the sandboxed work on this machine or on a Ray cluster (pip install 'rerankeval[ray]').")
@click.option("--ray-address", default=None, help="Ray cluster address (e.g. auto); default: start a local Ray.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Results file (default: EvalPlus's <samples>_eval_results.json).")
@click.option("--overwrite", is_flag=True, help="Replace an existing results file.")
def evaluate(dataset: str, samples: Path, dataset_path: Path | None, parallel: int | None, base_only: bool,
             test_details: bool, min_time_limit: float, gt_time_limit_factor: float, no_evalplus_quirks: bool,
             executor_kind: str, ray_address: str | None, no_cache: bool, out: Path | None, overwrite: bool) -> None:
    """Judge EvalPlus samples (base and plus inputs) and print pass@k as EvalPlus does.

    Writes the results in EvalPlus 0.3.1's own schema, so existing EvalPlus tooling reads them.
    """
    from tqdm import tqdm

    from rerankeval.sandbox import make_executor
    from rerankeval_evalplus import (
        JudgeConfig,
        count_runs,
        eval_results,
        judge,
        load_dataset,
        pass_at_k_summary,
        read_samples,
    )
    from rerankeval_evalplus.judge import PRELOAD

    result_path = out or default_results_path(samples)
    if result_path.exists() and not overwrite:
        raise RunExistsError(f"{result_path} exists. Pass --overwrite to recompute it (cached runs are reused), "
                             "or --out to write elsewhere")
    ds = load_dataset(dataset, dataset_path)
    rows = read_samples(samples, ds)
    cfg = JudgeConfig(min_time_limit=min_time_limit, gt_time_limit_factor=gt_time_limit_factor,
                      fast_check=not test_details, base_only=base_only, evalplus_quirks=not no_evalplus_quirks)
    n_tasks = len({s.task_id for s in rows})
    if n_tasks < len(ds.problems):
        click.echo(f"note: samples cover {n_tasks} of {len(ds.problems)} {dataset} tasks; pass@k is over those tasks",
                   err=True)
    t0 = time.monotonic()
    executor = make_executor(executor_kind, parallel, ray_address, PRELOAD)
    try:
        with tqdm(total=count_runs(rows, base_only), unit="run", desc="evaluate", disable=None) as bar:
            verdicts = judge(ds, rows, parallel=parallel, cache=not no_cache, config=cfg, progress=bar.update,
                             executor=executor)
    finally:
        executor.close()
    results = eval_results(ds, rows, verdicts, test_details=test_details)
    write_json_atomic(result_path, results)
    summary = pass_at_k_summary(results)
    click.echo(f"{dataset} (base tests)")
    for k, v in summary["base"].items():
        click.echo(f"{k}:\t{v:.3f}")
    if summary["plus"]:
        click.echo(f"{dataset}+ (base + extra tests)")
        for k, v in summary["plus"].items():
            click.echo(f"{k}:\t{v:.3f}")
    click.echo(f"results: {result_path}  ({len(rows)} samples, {time.monotonic() - t0:.1f}s)")
