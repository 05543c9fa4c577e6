"""``rerankeval evaluate``: a samples file judged by the benchmark's own grader, in the sandbox:
EvalPlus-identical verdicts for HumanEval+ / MBPP+, LiveCodeBench-identical ones for LiveCodeBench."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import click

from rerankeval.cli._params import Finite, check_window, dataset_options
from rerankeval.errors import InputError, RunExistsError, RunWriteError
from rerankeval.runs import (
    MIN_FREE_BYTES,
    JsonlAppender,
    acquire_lock,
    iter_jsonl,
    write_error,
    write_json_atomic,
)


def default_results_path(samples: Path) -> Path:
    """EvalPlus's naming: ``x.jsonl`` -> ``x_eval_results.json``; a folder -> ``folder/eval_results.json``."""
    if samples.is_dir():
        return samples / "eval_results.json"
    return samples.with_name(
        samples.name[: -len(".jsonl")] + "_eval_results.json"
        if samples.name.endswith(".jsonl")
        else samples.name + "_eval_results.json"
    )


def verdict_journal(result_path: Path) -> Path:
    """Where :func:`evaluate` appends verdicts as they complete: ``<results>.verdicts.jsonl``."""
    return result_path.with_name(result_path.name + ".verdicts.jsonl")


def read_verdicts(journal: Path, keys: set[str]) -> dict[str, dict[str, Any]]:
    """The verdicts of an interrupted evaluation, each checked (fields, and that it belongs to this run).

    Raises:
        InputError: A malformed row, or one from other samples or options; the message names file and line.
    """
    out: dict[str, dict[str, Any]] = {}
    fix = "Delete that line and re-run with --resume (it is recomputed), or start again with --overwrite"
    for no, row in iter_jsonl(journal, missing_ok=True):
        key, status, details = row.get("key"), row.get("status"), row.get("details")
        if not isinstance(key, str) or status not in ("pass", "fail", "timeout"):
            raise InputError.at(journal, no, f"not a verdict (key {key!r}, status {status!r})", fix)
        if not isinstance(details, list) or not all(isinstance(d, bool) for d in details):
            what = f"field 'details' must be a list of true/false, got {details!r:.60}"
            raise InputError.at(journal, no, what, fix)
        if key not in keys:
            raise InputError.at(
                journal,
                no,
                "a verdict of other samples or options than this command's",
                "Resume with the same samples and options, or start again with --overwrite",
            )
        if key in out:
            raise InputError.at(journal, no, "second verdict of the same run", "Delete the duplicate line")
        out[key] = {"status": status, "details": details}
    return out


@click.command()
@dataset_options("HumanEval+, MBPP+ or LiveCodeBench (code generation).")
@click.option(
    "--samples",
    type=click.Path(path_type=Path),
    required=True,
    help="EvalPlus samples: JSONL with task_id + solution|completion, or a folder of <task>/<n>.py; "
    "LiveCodeBench: also question_id + code lines, or its code_list rows.",
)
@click.option(
    "--dataset-path",
    type=click.Path(path_type=Path),
    default=None,
    help="EvalPlus release file (default: $HUMANEVAL_OVERRIDE_PATH / $MBPP_OVERRIDE_PATH, else "
    "EvalPlus's download); LiveCodeBench: a JSONL/Parquet file in the hub dataset's schema.",
)
@click.option(
    "--timeout",
    type=click.IntRange(min=1),
    default=None,
    help="LiveCodeBench: per-test time limit in whole seconds (its default: 6).",
)
@click.option(
    "--parallel", type=click.IntRange(min=1), default=None, help="Worker processes (default: all cores)."
)
@click.option("--base-only", is_flag=True, help="Only the original base inputs.")
@click.option(
    "--test-details", is_flag=True, help="Run every input instead of stopping at the first failure."
)
@click.option(
    "--min-time-limit",
    type=Finite(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Floor of each per-input limit (s).",
)
@click.option(
    "--gt-time-limit-factor",
    type=Finite(min=0),
    default=4.0,
    show_default=True,
    help="Per-input limit as a multiple of the reference solution's time.",
)
@click.option(
    "--no-evalplus-quirks",
    is_flag=True,
    help="Judge HumanEval/32 by its oracle instead of reproducing EvalPlus 0.3.1's always-fail report.",
)
@click.option(
    "--executor",
    "executor_kind",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Run the sandboxed work on this machine or on a Ray cluster (pip install 'rerankeval[ray]').",
)
@click.option(
    "--ray-address", default=None, help="Ray cluster address (e.g. auto); default: start a local Ray."
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Results file (default: EvalPlus's <samples>_eval_results.json).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an existing results file (and an interrupted evaluation's verdicts).",
)
@click.option(
    "--resume", is_flag=True, help="Continue an interrupted evaluation: keep the verdicts it saved."
)
def evaluate(
    dataset: str,
    release: str,
    start_date: str | None,
    end_date: str | None,
    samples: Path,
    dataset_path: Path | None,
    timeout: int | None,
    parallel: int | None,
    base_only: bool,
    test_details: bool,
    min_time_limit: float,
    gt_time_limit_factor: float,
    no_evalplus_quirks: bool,
    executor_kind: str,
    ray_address: str | None,
    no_cache: bool,
    out: Path | None,
    overwrite: bool,
    resume: bool,
) -> None:
    """Judge samples with the benchmark's own grader and print pass@k as the benchmark does.

    HumanEval+ / MBPP+: base and plus inputs; the results in EvalPlus 0.3.1's own schema, so existing
    EvalPlus tooling reads them. Each verdict is appended to ``<results>.verdicts.jsonl`` as it
    completes (removed once the results are written): after a crash, Ctrl-C or a full disk,
    ``--resume`` keeps them.

    LiveCodeBench: its grader's verdicts; per problem the rows of its runner's ``*_eval_all.json``
    (default ``<samples>_eval_all.json``), and pass@k overall and per difficulty. A re-run reuses the
    verdicts already computed (the result cache).
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
    from rerankeval_evalplus.judge import PRELOAD, run_keys

    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite exclude each other")
    if dataset == "livecodebench":
        evalplus_only = {
            "--base-only": base_only,
            "--test-details": test_details,
            "--no-evalplus-quirks": no_evalplus_quirks,
            "--resume": resume,
            "--min-time-limit": min_time_limit != 1.0,
            "--gt-time-limit-factor": gt_time_limit_factor != 4.0,
        }
        misplaced = [flag for flag, on in evalplus_only.items() if on]
        if misplaced:
            raise click.UsageError(
                f"{', '.join(misplaced)} apply to HumanEval+ / MBPP+; LiveCodeBench's limit is --timeout"
            )
        _evaluate_livecodebench(
            samples,
            dataset_path,
            (release, start_date, end_date),
            timeout,
            parallel,
            executor_kind,
            ray_address,
            not no_cache,
            out,
            overwrite,
        )
        return
    check_window(dataset, release, start_date, end_date)
    if timeout is not None:
        raise click.UsageError("--timeout applies to --dataset livecodebench (EvalPlus: --min-time-limit)")
    result_path = out or default_results_path(samples)
    journal = verdict_journal(result_path)
    for flag, given in (("--samples", samples), ("--dataset-path", dataset_path)):
        if given is not None and os.path.realpath(given) in {
            os.path.realpath(p) for p in (result_path, journal)
        }:
            raise InputError(
                f"{flag} {given} is a file this evaluation writes, so it would overwrite its "
                "own input. Pass another --out"
            )
    ds = load_dataset(dataset, dataset_path)
    rows = read_samples(samples, ds)
    cfg = JudgeConfig(
        min_time_limit=min_time_limit,
        gt_time_limit_factor=gt_time_limit_factor,
        fast_check=not test_details,
        base_only=base_only,
        evalplus_quirks=not no_evalplus_quirks,
    )
    n_tasks = len({s.task_id for s in rows})
    if n_tasks < len(ds.problems):
        click.echo(
            f"note: samples cover {n_tasks} of {len(ds.problems)} {dataset} tasks; "
            "pass@k is over those tasks",
            err=True,
        )
    t0 = time.monotonic()
    try:
        result_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(result_path.parent, e) from None
    lock_path = result_path.with_name(result_path.name + ".lock")
    lock = acquire_lock(lock_path, str(result_path))
    try:
        if result_path.exists() and not overwrite:
            raise RunExistsError(
                f"{result_path} exists. Pass --overwrite to recompute it (cached runs are "
                "reused), or --out to write elsewhere"
            )
        if journal.exists() and not (resume or overwrite):
            raise RunExistsError(
                f"{journal} holds the verdicts of an interrupted evaluation. Pass --resume "
                "to continue it, --overwrite to start again, or --out to write elsewhere"
            )
        if overwrite:
            journal.unlink(missing_ok=True)
        free = shutil.disk_usage(result_path.parent).free
        if free < MIN_FREE_BYTES:
            raise RunWriteError(
                f"cannot write {result_path}: only {free // 1024} KiB free on its file "
                "system. Free space there, or pass another --out"
            )
        done = read_verdicts(journal, run_keys(ds, rows, cfg)) if resume else {}
        if resume:
            click.echo(f"resume: {len(done)} verdicts kept from {journal}", err=True)
        executor = make_executor(executor_kind, parallel, ray_address, PRELOAD)
        try:
            total = count_runs(rows, base_only)
            with (
                JsonlAppender(journal, sync_every=50) as app,
                tqdm(total=total, unit="run", desc="evaluate", disable=None) as bar,
            ):

                def keep(key: str, run: tuple[str, str, str], result: dict[str, Any]) -> None:
                    app.write({"key": key, "task_id": run[0], "segment": run[1], "sha": run[2], **result})

                verdicts = judge(
                    ds,
                    rows,
                    parallel=parallel,
                    cache=not no_cache,
                    config=cfg,
                    progress=bar.update,
                    executor=executor,
                    done=done,
                    on_result=keep,
                )
        finally:
            executor.close()
        results = eval_results(ds, rows, verdicts, test_details=test_details)
        write_json_atomic(result_path, results)
        journal.unlink(missing_ok=True)
    finally:
        os.close(lock)
        lock_path.unlink(missing_ok=True)
    summary = pass_at_k_summary(results)
    click.echo(f"{dataset} (base tests)")
    for k, v in summary["base"].items():
        click.echo(f"{k}:\t{v:.3f}")
    if summary["plus"]:
        click.echo(f"{dataset}+ (base + extra tests)")
        for k, v in summary["plus"].items():
            click.echo(f"{k}:\t{v:.3f}")
    click.echo(f"results: {result_path}  ({len(rows)} samples, {time.monotonic() - t0:.1f}s)")


def _evaluate_livecodebench(
    samples: Path,
    dataset_path: Path | None,
    window: tuple[str, str | None, str | None],
    timeout: int | None,
    parallel: int | None,
    executor_kind: str,
    ray_address: str | None,
    cache: bool,
    out: Path | None,
    overwrite: bool,
) -> None:
    """``evaluate --dataset livecodebench`` (see :mod:`rerankeval_livecodebench.evaluate`)."""
    from tqdm import tqdm

    from rerankeval.sandbox import make_executor
    from rerankeval_livecodebench import load_dataset
    from rerankeval_livecodebench.evaluate import eval_all, summary
    from rerankeval_livecodebench.grader import DEFAULT_TIMEOUT_S, PRELOAD
    from rerankeval_livecodebench.samples import read_samples

    if not samples.is_file():
        raise InputError.at(samples, None, "samples file not found", "Pass a JSONL samples file")
    stem = samples.name[: -len(".jsonl")] if samples.name.endswith(".jsonl") else samples.name
    result_path = out or samples.with_name(stem + "_eval_all.json")
    metrics_path = result_path.with_name(
        (
            result_path.name[: -len("_eval_all.json")]
            if result_path.name.endswith("_eval_all.json")
            else result_path.stem
        )
        + "_eval.json"
    )
    for path in (result_path, metrics_path):
        if os.path.realpath(path) in {os.path.realpath(p) for p in (samples, dataset_path) if p is not None}:
            raise InputError(
                f"{path} is an input of this evaluation, so it would overwrite it. Pass another --out"
            )
        if path.exists() and not overwrite:
            raise RunExistsError(
                f"{path} exists. Pass --overwrite to recompute it (verdicts are cached), or --out "
                "to write elsewhere"
            )
    ds = load_dataset(dataset_path, release=window[0], start_date=window[1], end_date=window[2])
    candidates = read_samples(samples, ds)
    if not candidates:
        raise InputError.at(
            samples, None, "no sample of this dataset's problems", "Check the file and the window"
        )
    t0 = time.monotonic()
    executor = make_executor(executor_kind, parallel, ray_address, PRELOAD)
    try:
        with tqdm(total=len(candidates), unit="program", desc="evaluate", disable=None) as bar:
            rows = eval_all(
                ds,
                candidates,
                timeout_s=timeout or DEFAULT_TIMEOUT_S,
                executor=executor,
                cache=cache,
                progress=bar.update,
            )
    finally:
        executor.close()
    metrics = summary(rows)
    metrics["timeout_s"] = timeout or DEFAULT_TIMEOUT_S
    metrics["dataset"] = {"source": ds.source, "hash": ds.hash, "window": list(ds.window)}
    try:
        result_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(result_path.parent, e) from None
    write_json_atomic(result_path, rows)
    write_json_atomic(metrics_path, metrics)
    if len(rows) < len(ds.problems):
        click.echo(
            f"note: samples cover {len(rows)} of {len(ds.problems)} problems; pass@k is over those problems",
            err=True,
        )
    for group in ("all", "easy", "medium", "hard"):
        if group in metrics:
            figures = {k: v for k, v in metrics[group].items() if k.startswith("pass@")}
            label = (
                "livecodebench" if group == "all" else f"  {group} ({metrics[group]['problems']} problems)"
            )
            click.echo(f"{label}: " + "  ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    click.echo(
        f"results: {result_path}, {metrics_path.name}  ({len(candidates)} samples, "
        f"{time.monotonic() - t0:.1f}s)"
    )
