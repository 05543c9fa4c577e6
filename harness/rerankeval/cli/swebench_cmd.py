"""``rerankeval swebench``: rerank SWE-bench candidate patches with an execution-free reward model.

``rerank`` scores every candidate (``--rm``), runs the rerankers (the reward model's argmax and the
reference points first / random / oracle by default; any registered reranker that needs no pass
matrix with ``--reranker``), picks one patch per instance for each, writes predictions files the
SWE-bench harness accepts and, from known labels, each selection's resolve rate and the reward
model's RM@k curve, ROC-AUC, accuracy and ECE. ``metrics`` recomputes those from a saved run
(new labels, other bins) without loading a model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from rerankeval.cli._params import Finite
from rerankeval.core.rm_quality import QualityConfig
from rerankeval.errors import InputError


def _ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(k) for k in text.split(","))
    except ValueError:
        raise InputError(
            f"--ks '{text}' is not a comma-separated list of integers. Write e.g. 1,2,4,8"
        ) from None
    if not ks or min(ks) < 1:
        raise InputError(f"--ks '{text}' must list integers >= 1")
    return ks


def _options(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise InputError(f"-R '{p}' is not key=value. Write e.g. -R batch_size=8")
        low = value.lower()
        out[key] = (low == "true") if low in ("true", "false") else int(value) if value.isdigit() else value
    return out


def _quality(ks: str, threshold: float, bins: int, strategy: str, n_boot: int, seed: int) -> QualityConfig:
    return QualityConfig(
        ks=_ks(ks),
        threshold=threshold,
        n_bins=bins,
        strategy=strategy,  # type: ignore[arg-type]
        n_boot=n_boot,
        seed=seed,
    )


def _quality_options(f: Any) -> Any:
    for opt in reversed(
        [
            click.option("--ks", default="1,2,4,8", show_default=True, help="k values of the RM@k curve."),
            click.option(
                "--threshold",
                type=Finite(min=0, max=1),
                default=0.5,
                show_default=True,
                help="Decision threshold on the probability for accuracy.",
            ),
            click.option(
                "--bins",
                type=click.IntRange(min=1),
                default=10,
                show_default=True,
                help="Bins of ECE and the reliability diagram.",
            ),
            click.option(
                "--bin-strategy",
                type=click.Choice(["uniform", "quantile"]),
                default="uniform",
                show_default=True,
                help="Equal-width or equal-mass bins.",
            ),
            click.option(
                "--n-boot",
                type=click.IntRange(min=0),
                default=1000,
                show_default=True,
                help="Bootstrap resamples of the instances (0: no intervals).",
            ),
            click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed."),
        ]
    ):
        f = opt(f)
    return f


def _summary(metrics: dict[str, Any]) -> None:
    sel, q = metrics["selection"], metrics["rm_quality"]

    def pct(x: Any) -> str:
        return "n/a" if x is None or x != x else f"{100 * x:.1f}%"

    n_l, n_b = sel["n_instances_labelled"], sel["n_instances_benchmark"]
    click.echo(
        f"instances: {n_l} labelled of {metrics['n_instances_with_candidates']} with candidates "
        f"({n_b} in the benchmark)"
    )
    if "n_candidates" in metrics and metrics.get("scorer"):
        click.echo(
            f"candidates: {metrics['n_candidates']} scored by {metrics.get('scorer')}, "
            f"{metrics.get('n_truncated', 0)} cut to fit the context"
        )
    if sel.get("rerankers"):
        click.echo(
            f"resolved by each reranker's pick (expected: a uniform pick among its tied candidates); "
            f"predictions.jsonl holds {sel['primary']}'s"
        )
        width = max(16, *(len(k) for k in sel["rerankers"]))
        for key, r in sel["rerankers"].items():
            p, e = r["pick"], r["expected"]
            click.echo(
                f"  {key:<{width}} resolved {p['resolved']:5.0f}  {pct(p['rate_labelled'])} of "
                f"labelled, {pct(p['rate_benchmark'])} of benchmark  (expected {e['resolved']:7.2f}, "
                f"{pct(e['rate_labelled'])})"
            )
    else:  # a run written before the rerankers ran through the registry
        for key in ("rerank", "rerank_expected", "first", "random", "oracle"):
            r = sel[key]
            click.echo(
                f"  {key:<16} resolved {r['resolved']:7.1f}  {pct(r['rate_labelled'])} of labelled, "
                f"{pct(r['rate_benchmark'])} of benchmark"
            )
    if q is None:
        return
    auc = q["auc"]["value"]
    within = q["auc_within"]["value"]
    click.echo(f"AUC {auc:.3f}  within-instance AUC {within:.3f}" if auc == auc else "AUC n/a")
    if q.get("ece"):
        click.echo(
            f"accuracy@{q['accuracy']['threshold']} {q['accuracy']['value']:.3f}  "
            f"ECE {q['ece']['value']:.3f} ({q['ece']['n_bins']} {q['ece']['strategy']} bins)"
        )
    for row in q["rm_at_k"]:
        click.echo(
            f"  RM@{row['k']:<3} {pct(row['rm']['value'])}  random {pct(row['random']['value'])}  "
            f"oracle {pct(row['oracle']['value'])}"
        )
    if metrics.get("per_run"):
        click.echo("per run: candidates, resolved, mean prob (resolved / unresolved), AUC, picked (resolved)")
        for run, r in metrics["per_run"].items():
            click.echo(
                f"  {run:<32} {r['n_candidates']:4d} {r['n_resolved']:4d}  "
                f"{r['mean_prob_resolved']:.3f} / {r['mean_prob_unresolved']:.3f}  {r['auc']:.3f}  "
                f"{r['picked']:4d} ({r['picked_resolved']})"
            )


@click.group("swebench")
def swebench() -> None:
    """Rerank SWE-bench candidate patches with an execution-free reward model."""


@swebench.command("rerank")
@click.option(
    "--instances",
    type=click.Path(path_type=Path),
    required=True,
    help="SWE-bench instances: JSONL/JSON with problem_statement, a parquet file or a dataset name.",
)
@click.option(
    "--candidates",
    type=click.Path(exists=True, path_type=Path),
    multiple=True,
    required=True,
    help="Predictions file(s) with candidate patches (repeat for several runs).",
)
@click.option(
    "--rm",
    "rm",
    default=None,
    help="Scorer: vllm:M | hf:M | openai:URL#M (scalar head), verifier:<same> (yes/no), "
    "oracle-labels. Its argmax is the first reranker unless --reranker says otherwise.",
)
@click.option(
    "--reranker",
    "reranker_specs",
    multiple=True,
    help="Registered reranker name[:key=value,...] (repeatable; the first one writes "
    "predictions.jsonl). Default: the --rm scores' argmax, first, random, oracle. `rm` ranks "
    "by the --rm scores; rerankers that read a pass matrix do not apply.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Run directory.")
@click.option(
    "--template",
    type=click.Choice(["patch", "trajectory"]),
    default="patch",
    show_default=True,
    help="Issue + patch, or issue + trajectory + patch.",
)
@click.option(
    "--prompt",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Text file with the verifier's prompt ({repo}, {problem}, {candidate}, {trajectory}, "
    "{yes}, {no} slots; '### system' / '### user' lines split messages).",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    help="Harness report <model>.<run_id>.json (or MODEL=PATH) labelling the candidates; "
    "default: their `resolved` fields.",
)
@click.option(
    "--model-name", default=None, help="Base model name in the predictions (default: the candidates')."
)
@click.option(
    "--name",
    default=None,
    help="Reranker name in <model>+rerank.<name> of predictions.jsonl (default: the first "
    "reranker's label; with --rm, from the scorer).",
)
@click.option(
    "-R",
    "rm_args",
    multiple=True,
    help="Scorer option key=value: batch_size, max_length, yes, no, chat_template.",
)
@_quality_options
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Only the first N instances (smoke runs)."
)
@click.option(
    "--mixed-only",
    is_flag=True,
    help="Only instances whose candidates disagree (some resolved, some not): the only ones "
    "where the pick matters.",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the score cache.")
@click.option("--resume", is_flag=True, help="Continue the run in --out (scores only what is missing).")
@click.option("--overwrite", is_flag=True, help="Replace the run in --out.")
@click.option(
    "--run-harness", is_flag=True, help="Grade the predictions with the SWE-bench harness (needs Docker)."
)
@click.option(
    "--harness-dataset",
    default="SWE-bench/SWE-bench_Lite",
    show_default=True,
    help="Dataset the harness loads (name or local file).",
)
@click.option("--run-id", default=None, help="Harness run id (default: the run directory's name).")
@click.option(
    "--max-workers",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Harness containers in parallel.",
)
@click.option("--no-figures", is_flag=True, help="Skip the reliability diagram and RM@k figure.")
def rerank(
    instances: Path,
    candidates: tuple[Path, ...],
    rm: str | None,
    reranker_specs: tuple[str, ...],
    out: Path,
    template: str,
    prompt: Path | None,
    reports: tuple[str, ...],
    model_name: str | None,
    name: str | None,
    rm_args: tuple[str, ...],
    ks: str,
    threshold: float,
    bins: int,
    bin_strategy: str,
    n_boot: int,
    seed: int,
    limit: int | None,
    mixed_only: bool,
    no_cache: bool,
    resume: bool,
    overwrite: bool,
    run_harness: bool,
    harness_dataset: str,
    run_id: str | None,
    max_workers: int,
    no_figures: bool,
) -> None:
    """Score candidate patches, pick one per instance, write predictions and metrics."""
    from tqdm.contrib.logging import logging_redirect_tqdm

    from rerankeval.cli.rerank_cmd import parse_rerankers
    from rerankeval_swebench.pipeline import RerankConfig, run_rerank

    choices = parse_rerankers(reranker_specs, ())
    cfg = RerankConfig(
        instances=instances,
        candidates=candidates,
        rm=rm,
        rerankers=choices,
        out=out,
        template=template,
        prompt=prompt,
        reports=reports,
        model_name=model_name,
        name=name,
        scorer_options=_options(rm_args),
        quality=_quality(ks, threshold, bins, bin_strategy, n_boot, seed),
        cache=not no_cache,
        resume=resume,
        overwrite=overwrite,
        limit=limit,
        mixed_only=mixed_only,
        harness=run_harness,
        harness_dataset=harness_dataset,
        run_id=run_id,
        max_workers=max_workers,
        figures=not no_figures,
    )
    with logging_redirect_tqdm():
        metrics = run_rerank(cfg)
    _summary(metrics)
    click.echo(f"predictions: {metrics['predictions']}  ({metrics['model_name']})")
    click.echo(f"run: {out}")


@swebench.command("metrics")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--report",
    "reports",
    multiple=True,
    help="Harness report(s) of the candidates' runs to relabel them (rewrites gold.jsonl).",
)
@click.option(
    "--selection-report",
    "selection_reports",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Harness report of the reranked predictions: adds its resolved count.",
)
@click.option(
    "--candidates",
    "candidates",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The candidates file(s) the run was made from: rebuilds candidates.jsonl and gold.jsonl "
    "(a committed run keeps neither).",
)
@_quality_options
@click.option("--json", "as_json", is_flag=True, help="Print metrics.json instead of the summary.")
@click.option("--no-figures", is_flag=True, help="Skip redrawing the figures.")
def metrics(
    run_dir: Path,
    reports: tuple[str, ...],
    selection_reports: tuple[Path, ...],
    candidates: tuple[Path, ...],
    ks: str,
    threshold: float,
    bins: int,
    bin_strategy: str,
    n_boot: int,
    seed: int,
    as_json: bool,
    no_figures: bool,
) -> None:
    """Recompute a saved run's metrics and figures (no model is loaded)."""
    from rerankeval_swebench.pipeline import recompute_metrics, restore_inputs

    if candidates:
        restore_inputs(run_dir, candidates)
    m = recompute_metrics(
        run_dir,
        reports,
        _quality(ks, threshold, bins, bin_strategy, n_boot, seed),
        selection_reports,
        figures=not no_figures,
    )
    if as_json:
        click.echo(json.dumps(m, indent=2))
    else:
        _summary(m)
        for h in m.get("harness", []):
            click.echo(f"harness report {h['report']}: resolved {h['resolved']}")
