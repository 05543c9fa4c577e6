"""``rerankeval calibrate``: fit temperature or Platt scaling of a reward model's scores, cross-fitted.

Works on any run directory that holds ``rm_scores.jsonl`` and ``gold.jsonl`` (``rerankeval
rerank`` with an ``rm`` reranker, ``rerankeval swebench rerank``). Writes, under
``<run>/calibration/`` (or ``--out``), per scorer and method:

* ``<name>.json``: the maps (one per fold, and the one fitted on every problem for new data),
  ECE / Brier / log loss before and after with bootstrap intervals, their change, the in-sample
  figures for comparison, and both sets of reliability bins;
* ``<name>.scores.jsonl``: one row per candidate with the raw and the calibrated probability and
  the fold whose map made it (beside the raw ``rm_scores.jsonl``, which is never modified);
* ``<name>.before.png`` / ``<name>.after.png``: reliability diagrams.

``--apply MAP`` applies the full-data map of an earlier ``calibrate`` (e.g. fitted on another
run) instead of fitting: the figures are then plainly out of sample.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from rerankeval.errors import InputError


def _scorer_rows(run: Path, scorer: str | None) -> tuple[str, list[dict[str, Any]]]:
    from rerankeval.runs import read_run_rows

    path = run / "rm_scores.jsonl"
    if not path.is_file():
        raise InputError.at(
            run,
            None,
            "holds no rm_scores.jsonl",
            "Give a run directory of 'rerankeval rerank' with an rm reranker or of "
            "'rerankeval swebench rerank'",
        )
    rows = list(read_run_rows(path))
    names = sorted({str(r["scorer"]) for r in rows})
    if scorer is None:
        if len(names) != 1:
            raise InputError.at(
                path,
                None,
                f"holds {len(names)} scorers ({', '.join(names) or 'none'})",
                "Name one with --scorer",
            )
        scorer = names[0]
    elif scorer not in names:
        raise InputError.at(
            path,
            None,
            f"has no scorer '{scorer}'. Scorers: {', '.join(names)}",
            "Name one of them with --scorer",
        )
    return scorer, [r for r in rows if r["scorer"] == scorer]


def _candidates(run: Path, rows: list[dict[str, Any]]) -> tuple[list[Any], list[dict[str, Any]], int]:
    from rerankeval.core.calibrate import Candidate, logit
    from rerankeval.runs import read_run_rows

    gold = {
        (str(g["problem_id"]), int(g["index"])): bool(g["passed"]) for g in read_run_rows(run / "gold.jsonl")
    }
    if not gold:
        raise InputError.at(
            run,
            None,
            "holds no labels (gold.jsonl is missing or empty)",
            "Calibration needs ground truth: run the rerank with labels",
        )
    cands, kept, unlabelled = [], [], 0
    for r in rows:
        key = (str(r["problem_id"]), int(r["index"]))
        if key not in gold:
            unlabelled += 1
            continue
        prob = r.get("prob")
        if prob is not None and not 0.0 <= float(prob) <= 1.0:
            raise InputError.at(
                run / "rm_scores.jsonl",
                None,
                f"candidate {key}: prob {prob} is not in [0, 1]",
                "Fix the run file or re-score",
            )
        z = logit(float(prob)) if prob is not None else float(r["score"])
        cands.append(Candidate(key[0], z, gold[key]))
        kept.append(r)
    if not cands:
        raise InputError.at(
            run,
            None,
            "no scored candidate has a label in gold.jsonl",
            "Check that rm_scores.jsonl and gold.jsonl come from the same run",
        )
    return cands, kept, unlabelled


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "scorer"


def _pm(d: dict[str, Any]) -> str:
    ci = d.get("ci")
    return f"{d['value']:.4f}" + (f" [{ci['low']:.4f}, {ci['high']:.4f}]" if ci else "")


@click.command("calibrate")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--scorer", default=None, help="Scorer label in rm_scores.jsonl (needed when there are several)."
)
@click.option(
    "--method",
    type=click.Choice(["platt", "temperature"]),
    default="platt",
    show_default=True,
    help="platt: sigmoid(a*z+b); temperature: sigmoid(z/T); z = logit of the score's probability.",
)
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Cross-fitting folds over problems: each fold is calibrated by a map fitted on the others.",
)
@click.option(
    "--apply",
    "apply_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Apply the full-data map of an earlier calibrate output (JSON) instead of fitting.",
)
@click.option("--bins", type=click.IntRange(min=1), default=10, show_default=True, help="ECE bins.")
@click.option(
    "--bin-strategy",
    type=click.Choice(["uniform", "quantile"]),
    default="uniform",
    show_default=True,
    help="Equal-width or equal-mass bins.",
)
@click.option(
    "--n-boot",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Bootstrap resamples of the problems (0: no intervals).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the folds and the bootstrap.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: RUN/calibration).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-figures", is_flag=True, help="Skip the reliability diagrams.")
def calibrate(
    run: Path,
    scorer: str | None,
    method: str,
    folds: int,
    apply_path: Path | None,
    bins: int,
    bin_strategy: str,
    n_boot: int,
    seed: int,
    out: Path | None,
    as_json: bool,
    no_figures: bool,
) -> None:
    """Fit (cross-fitted) calibration of a run's reward-model scores; ECE and Brier before and after."""
    from rerankeval.core.calibrate import CalibrationMap, applied, calibration_report, cross_fit
    from rerankeval.runs import JsonlAppender, write_json_atomic

    label, rows = _scorer_rows(run, scorer)
    cands, kept, unlabelled = _candidates(run, rows)
    if apply_path is not None:
        try:
            saved = json.loads(apply_path.read_text(encoding="utf-8"))
            full = CalibrationMap.from_dict(saved["full_map"])
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise InputError.at(
                apply_path,
                None,
                f"is not a calibrate output ({type(e).__name__}: {e})",
                "Give a <name>.json written by 'rerankeval calibrate'",
            ) from None
        method = full.method
        result = applied(cands, full)
    else:
        result = cross_fit(cands, method, folds, seed)  # type: ignore[arg-type]
    report: dict[str, Any] = calibration_report(cands, result, bins, bin_strategy, n_boot, seed)  # type: ignore[arg-type]
    name = f"{_slug(label)}.{method}" + (".applied" if apply_path else "")
    folder = out or run / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "run": str(run),
        "scorer": label,
        "method": method,
        "folds": None if apply_path else folds,
        "seed": seed,
        "applied_from": str(apply_path) if apply_path else None,
        "n_unlabelled_skipped": unlabelled,
        "fold_maps": [m.as_dict() for m in result.maps],
        "full_map": result.full.as_dict(),
        **report,
    }
    write_json_atomic(folder / f"{name}.json", doc)
    tmp = folder / f"{name}.scores.jsonl.tmp"
    with JsonlAppender(tmp, sync_every=100_000) as f:
        for r, p_raw, p_cal, fold in zip(kept, result.raw, result.calibrated, result.fold, strict=True):
            f.write(
                {
                    "problem_id": r["problem_id"],
                    "index": r["index"],
                    "scorer": label,
                    "prob_raw": p_raw,
                    "prob_calibrated": p_cal,
                    "fold": fold,
                    "method": method,
                }
            )
    tmp.replace(folder / f"{name}.scores.jsonl")
    if not no_figures:
        from rerankeval.report.calibration import plot_reliability

        for which in ("before", "after"):
            ece = report[which]["ece"]["value"]
            title = f"{label}: {'raw' if which == 'before' else method + ' (out of fold)'}"
            fig = plot_reliability(report[f"reliability_{which}"], title, ece, bin_strategy)
            fig.savefig(folder / f"{name}.{which}.png", dpi=130)
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    how = (
        f"map from {apply_path}"
        if apply_path
        else f"{method} scaling, {folds}-fold cross-fitting over problems (seed {seed})"
    )
    click.echo(
        f"{label}: {report['n_candidates']} candidates, {report['n_problems']} problems, "
        f"{report['n_positive']} correct; {how}"
    )
    if unlabelled:
        click.echo(f"  {unlabelled} scored candidates without a label were left out")
    click.echo(f"  {'':<9} {'before':<26} {'after':<26} change")
    for k in ("ece", "brier", "log_loss"):
        b, a, c = report["before"][k], report["after"][k], report["change"][k]
        click.echo(f"  {k:<9} {_pm(b):<26} {_pm(a):<26} {_pm(c)}")
    ins = report["in_sample"]
    click.echo(
        f"  in-sample (fitted on the same problems; optimistic): ECE {ins['ece']:.4f}, "
        f"Brier {ins['brier']:.4f}"
    )
    click.echo(f"  full-data map for new runs: {result.full.as_dict()}")
    click.echo(
        f"written: {folder / name}.json, .scores.jsonl" + ("" if no_figures else ", .before.png, .after.png")
    )
