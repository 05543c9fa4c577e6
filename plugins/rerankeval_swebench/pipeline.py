"""``rerankeval swebench rerank`` and ``metrics``: score candidate patches, pick one per instance,
write a predictions file the harness accepts, and measure the selection and the reward model.

A run goes through the engine's one loop (:func:`rerankeval.pipeline.run_rerank`) with the
SWE-bench adapter (:class:`~rerankeval_swebench.benchmark.SweBenchmark`): the engine writes
``run.json``, ``candidates.jsonl``, ``gold.jsonl`` (known labels), ``rm_scores.jsonl`` (appended
as scores arrive; ``--resume`` scores only what is missing), ``selections.jsonl`` and
``metrics.json``; the adapter adds ``predictions.jsonl`` (model name ``<model>+rerank.<name>``),
``predictions/<reranker>.jsonl`` and ``report/`` (reliability diagram, RM@k curve). This module
checks a run's options before any work, and recomputes a saved run's metrics without a model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rerankeval.core.rerank import Ranking, Reranker, RerankItem
from rerankeval.core.rm_quality import QualityConfig
from rerankeval.core.types import Candidate, content_hash
from rerankeval.errors import InputError
from rerankeval.generation.scoring import ORACLE, TemplateSet, verifier_prompt_from_file
from rerankeval.pipeline.config import RerankerChoice
from rerankeval.pipeline.evaluate import checked_rank
from rerankeval.pipeline.rm_scoring import scores_candidates
from rerankeval.pipeline.run import run_fingerprint, run_versions
from rerankeval.rerankers.registry import load_reranker, reranker_accepts
from rerankeval.runs import JsonlAppender, read_run_rows, write_json_atomic
from rerankeval_swebench.benchmark import SweBenchmark, harness_summary
from rerankeval_swebench.data import (
    SweCandidate,
    SweInstance,
    group_by_instance,
    read_candidates,
    read_instances,
)
from rerankeval_swebench.harness import default_base_name, reranked_model_name
from rerankeval_swebench.labels import Key, fully_labelled, labels_from_field, labels_from_reports
from rerankeval_swebench.metrics import all_metrics
from rerankeval_swebench.prompts import TEMPLATES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RerankConfig:
    """One ``swebench rerank`` run.

    Attributes:
        instances: SWE-bench instances (JSONL/JSON, parquet or a dataset name).
        candidates: Predictions files with several candidates per instance.
        rm: Scorer spec (see :mod:`rerankeval.generation.scoring`), or None: no candidate is scored
            (rerankers that need no reward model only).
        out: Run directory.
        rerankers: Rerankers from the registry, each run on every instance; the first one writes
            ``predictions.jsonl``. Empty: see :func:`rerankers_of`.
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
    rm: str | None
    out: Path
    rerankers: tuple[RerankerChoice, ...] = ()
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


#: The rerankers of a run that names none, after the reward model's own argmax (with ``--rm``): the
#: reference points every selection is read against (``oracle`` only where every candidate is labelled).
REFERENCE_RERANKERS = ("first", "random", "oracle")


def rerankers_of(cfg: RerankConfig, all_labelled: bool) -> tuple[RerankerChoice, ...]:
    """The rerankers a run compares: ``cfg.rerankers``, or by default the argmax of the ``--rm``
    scores (registry reranker ``rm``, labelled with the scorer's name) and :data:`REFERENCE_RERANKERS`."""
    if cfg.rerankers:
        return cfg.rerankers
    out = [RerankerChoice(cfg.name or scorer_name(cfg.rm), "rm")] if cfg.rm else []
    out += [RerankerChoice(n, n) for n in REFERENCE_RERANKERS if n != "oracle" or all_labelled]
    return tuple(out)


def _load_rerankers(
    cfg: RerankConfig, choices: Sequence[RerankerChoice], unlabelled: Sequence[str]
) -> list[Reranker]:
    """Every reranker of the run, built and checked against what SWE-bench candidates carry, before
    any model runs.

    Raises:
        InputError: A reranker that reads a pass matrix (SWE-bench candidates have no generated tests),
            reward-model scores without ``--rm``, or labels that some instances lack.
    """
    out = []
    for choice in choices:
        r = load_reranker(choice.name, **choice.args)
        if "matrix" in r.needs:
            raise InputError(
                f"reranker '{choice.label}' reads a pass matrix of generated tests, and "
                "SWE-bench candidates have none. Choose rerankers that read reward-model scores "
                "or nothing (rerankeval plugins lists them)"
            )
        if "rm_scores" in r.needs and cfg.rm is None:
            raise InputError(
                f"reranker '{choice.label}' reads reward-model scores: pass --rm SPEC to score the candidates"
            )
        if "gold" in r.needs and unlabelled:
            raise InputError(
                f"reranker '{choice.label}' reads the labels, and {len(unlabelled)} instance(s) "
                f"have unlabelled candidates (e.g. {unlabelled[0]}). Label them (--report) "
                "or drop the reranker"
            )
        out.append(r)
    if cfg.rm is not None and not any(c.args.get("rm") == cfg.rm for c in choices):
        raise InputError(
            f"--rm {cfg.rm} names the reward model of the rerankers that take one (rm), and none of "
            f"{', '.join(c.label for c in choices)} does: add --reranker rm, or drop --rm"
        )
    return out


def _items(
    instances: Mapping[str, SweInstance],
    groups: Mapping[str, Sequence[SweCandidate]],
    labels: Mapping[Key, bool],
    scores: Mapping[Key, tuple[float, float]] | None,
) -> list[RerankItem]:
    """One :class:`RerankItem` per instance: the issue, the patches, the scores (with ``--rm``) and
    the labels (where every candidate has one)."""
    out = []
    for iid, cs in groups.items():
        keys = [(iid, c.index) for c in cs]
        gold = [labels.get(k) for k in keys]
        out.append(
            RerankItem(
                iid,
                instances[iid].problem_statement if iid in instances else "",
                tuple(Candidate(iid, c.index, c.model_patch) for c in cs),
                rm_scores=tuple(scores[k][0] for k in keys) if scores is not None else None,
                gold=tuple(bool(g) for g in gold) if all(g is not None for g in gold) else None,
            )
        )
    return out


def _rank(choice: RerankerChoice, reranker: Reranker, items: Sequence[RerankItem]) -> dict[str, Ranking]:
    """One reranker's ranking of every instance (:func:`~rerankeval.pipeline.evaluate.checked_rank`)."""
    fix = "Fix the reranker (or drop it) and re-run with --resume: the scores are kept"
    got = checked_rank(reranker, items, choice.label, fix)
    return {it.problem_id: r for it, r in zip(items, got, strict=True)}


def _load(cfg: RerankConfig) -> tuple[dict[str, SweInstance], dict[str, list[SweCandidate]], dict[Key, bool]]:
    instances = read_instances(cfg.instances)
    cands = read_candidates(cfg.candidates)
    groups = group_by_instance(cands)
    missing = [iid for iid in groups if iid not in instances]
    if missing:
        raise InputError.at(
            cfg.instances,
            None,
            f"{len(missing)} candidate instance(s) are not in the instances file (e.g. {missing[0]})",
            "Give the SWE-bench split the candidates were made for",
        )
    if cfg.mixed_only:
        every = [c for cs in groups.values() for c in cs]
        known = labels_from_reports(every, cfg.reports) if cfg.reports else labels_from_field(every)
        groups = {
            iid: cs
            for iid, cs in groups.items()
            if len({known.get((c.instance_id, c.index)) for c in cs} - {None}) == 2
        }
        if not groups:
            raise InputError(
                "--mixed-only: no instance has both resolved and unresolved candidates. "
                "Check the labels (--report or the candidates' `resolved` fields)"
            )
    if cfg.limit is not None:
        groups = dict(list(groups.items())[: cfg.limit])
    kept = [c for cs in groups.values() for c in cs]
    labels = labels_from_reports(kept, cfg.reports) if cfg.reports else labels_from_field(kept)
    return instances, groups, labels


def _write_inputs(
    out: Path, groups: Mapping[str, Sequence[SweCandidate]], labels: Mapping[Key, bool]
) -> None:
    rows_c = [
        {
            "problem_id": c.instance_id,
            "index": c.index,
            "run": c.run,
            "model_name_or_path": c.model_name_or_path,
            "sha": content_hash(c.model_patch),
            "source": c.source,
        }
        for cs in groups.values()
        for c in cs
    ]
    rows_g = [{"problem_id": k[0], "index": k[1], "passed": v} for k, v in labels.items()]
    for name, rows in (("candidates.jsonl", rows_c), ("gold.jsonl", rows_g)):
        tmp = out / (name + ".tmp")
        with JsonlAppender(tmp, sync_every=10_000) as f:
            for r in rows:
                f.write(r)
        tmp.replace(out / name)


def saved_rankings(run_dir: Path) -> dict[str, dict[str, Ranking]]:
    """The rankings ``selections.jsonl`` holds, per reranker label, in the order the run wrote them."""
    out: dict[str, dict[str, Ranking]] = {}
    for r in read_run_rows(run_dir / "selections.jsonl", missing_ok=True):
        out.setdefault(str(r["reranker"]), {})[str(r["problem_id"])] = Ranking(
            tuple(float(x) for x in r["scores"]), tuple(int(i) for i in r["chosen"])
        )
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
        fig = plot_reliability(
            q["reliability"], f"reliability: {name}", q["ece"]["value"], q["ece"]["strategy"]
        )
        paths.append(out / "report" / "fig_reliability.png")
        fig.savefig(paths[-1], dpi=150)
    return paths


def engine_choices(
    cfg: RerankConfig, choices: Sequence[RerankerChoice], template: str
) -> tuple[RerankerChoice, ...]:
    """The run's rerankers as the engine loads them: a reranker that takes a reward model and
    names none gets ``--rm``, the scorer options (``-R``), the SWE-bench prompt template and
    ``--prompt``, so that the engine scores the candidates with it."""
    out = []
    for c in choices:
        args = dict(c.args)
        if reranker_accepts(c.name, "rm"):
            if cfg.rm is not None:
                args.setdefault("rm", cfg.rm)
            if args.get("rm") is not None:
                extra: dict[str, Any] = {**cfg.scorer_options, "template": template}
                if cfg.prompt is not None:
                    extra["prompt"] = str(cfg.prompt)
                for key, value in extra.items():
                    if reranker_accepts(c.name, key):
                        args.setdefault(key, value)
        out.append(RerankerChoice(c.label, c.name, args))
    return tuple(out)


def run_rerank(cfg: RerankConfig) -> dict[str, Any]:
    """Runs the whole pipeline through the engine's loop (:func:`rerankeval.pipeline.run_rerank`)
    with the SWE-bench adapter (:class:`~rerankeval_swebench.benchmark.SweBenchmark`); returns the
    summary also written to ``metrics.json``.

    Raises:
        InputError: Bad inputs (missing instances, labels that do not match, unknown template).
        RunExistsError: ``out`` holds a run and neither resume nor overwrite was asked.
        HarnessUnavailableError: ``harness`` was asked and no Docker daemon answers.
    """
    import json

    from rerankeval.pipeline import RerankConfig as EngineConfig
    from rerankeval.pipeline import run_rerank as engine_run

    template = template_of(cfg)
    instances, groups, labels = _load(cfg)
    unlabelled = [iid for iid, cs in groups.items() if any((iid, c.index) not in labels for c in cs)]
    # the reranker applies --prompt to the registered template itself (as template_of does)
    choices = engine_choices(cfg, rerankers_of(cfg, not unlabelled), TEMPLATES[cfg.template].name)
    if len({c.label for c in choices}) < len(choices):
        raise InputError(f"a reranker is given twice ({', '.join(c.label for c in choices)}): give each once")
    rerankers = _load_rerankers(cfg, choices, unlabelled)  # fail on a bad reranker before any model runs
    scored = next(
        (
            (c, r)
            for c, r in zip(choices, rerankers, strict=True)
            if c.args.get("rm") == cfg.rm and scores_candidates(r)
        ),
        None,
    )
    scorer = getattr(scored[1], "scorer", None) if scored is not None else None
    meta_path = cfg.out / "run.json"
    previous = json.loads(meta_path.read_text(encoding="utf-8")) if cfg.resume and meta_path.is_file() else {}
    if scorer is not None and previous.get("template") and previous["template"] != template.name:
        raise InputError(
            f"{cfg.out} was scored with the prompt '{previous['template']}', this run asks for "
            f"'{template.name}'. Resume with the same --template/--prompt, or use another --out"
        )
    if cfg.prompt is not None and (scorer is None or scorer.kind != "verifier"):
        raise InputError(
            f"--prompt sets a yes/no verifier's prompt, but {cfg.rm or 'no --rm'} is not a "
            "verifier scorer. Use --rm verifier:..., or drop --prompt"
        )
    trajectory = scorer is not None and "trajectory" in template.long_fields
    if trajectory:
        bare = next((c for cs in groups.values() for c in cs if c.trajectory is None), None)
        if bare is not None:
            raise InputError.at(
                bare.source,
                None,
                "the trajectory template needs a 'trajectory' field",
                "Add the agent's trajectory to each candidate row, or use --template patch",
            )
    primary = choices[0]
    name = cfg.name or primary.file_stem
    base = cfg.model_name or default_base_name([c for cs in groups.values() for c in cs])
    model = reranked_model_name(base, name)
    reports = [Path(r.rpartition("=")[2]) for r in cfg.reports]
    bench = SweBenchmark(
        instances,
        groups,
        labels,
        sources=[p for p in (Path(cfg.instances), *map(Path, cfg.candidates), *reports) if p.is_file()],
        trajectory=trajectory,
        primary=primary.label,
        model_base=base,
        model_name=model,
        quality=cfg.quality,
        scored=scored[0].label if scored is not None else None,
        scorer_spec=scorer.spec if scorer is not None else None,
        scorer_name=name,
        harness=cfg.harness,
        run_id=cfg.run_id or cfg.out.name,
        harness_dataset=cfg.harness_dataset,
        max_workers=cfg.max_workers,
        figures=cfg.figures,
    )
    inputs: dict[str, Path | None] = {"--instances": Path(cfg.instances)}
    inputs.update({f"--candidates ({i + 1})": Path(c) for i, c in enumerate(cfg.candidates)})
    inputs.update({f"--reports ({i + 1})": r for i, r in enumerate(reports)})
    if cfg.prompt is not None:
        inputs["--prompt"] = Path(cfg.prompt)
    meta: dict[str, Any] = {
        "command": "swebench rerank",
        "dataset": "swebench",
        "policy": "candidates",
        "test_generator": name,
        "config": {**asdict(cfg), "quality": asdict(cfg.quality)},
        "scorer": {
            "spec": scorer.spec,
            "kind": scorer.kind,
            "fingerprint": scorer.fingerprint,
            "label": bench.scored,
        }
        if scorer is not None
        else None,
        "template": template.name if scorer is not None else None,
        "prompt": {"file": str(cfg.prompt), "messages": [list(m) for m in template.verifier.messages]}
        if cfg.prompt is not None
        else None,
        "model_name": model,
        "versions": run_versions(("swebench",)),
    }
    ecfg = EngineConfig(
        dataset="swebench",
        samples=Path(cfg.candidates[0]),
        tests=None,
        rerankers=choices,
        out=cfg.out,
        bootstrap=cfg.quality.n_boot,
        seed=cfg.quality.seed,
        cache=cfg.cache,
    )
    if previous and "fingerprint" not in previous:
        _upgrade(cfg, previous, run_fingerprint(ecfg, bench))
    fix = "Fix it, then re-run the same command with --resume: the candidates scored before are kept"
    result = engine_run(
        ecfg,
        bench,
        bench.candidates(),
        resume=cfg.resume,
        overwrite=cfg.overwrite,
        fix=fix,
        inputs=inputs,
        meta=meta,
    )
    return result.metrics


def _upgrade(cfg: RerankConfig, previous: dict[str, Any], fingerprint: dict[str, Any]) -> None:
    """Lets ``--resume`` continue a run written before SWE-bench ran through the engine's loop (its
    ``run.json`` has no fingerprint; its scores are keyed by the scorer's spec, which the engine
    reads as the scoring reranker's): the inputs and the instance selection must be the ones its
    config names, and its ``run.json`` then gets the fingerprint of those inputs.

    Raises:
        InputError: Other inputs or another selection than the run's.
    """
    old = previous.get("config") or {}
    now = {  # by file name: a run moves between machines (its scores name candidates by instance and index)
        "instances": Path(cfg.instances).name,
        "candidates": [Path(c).name for c in cfg.candidates],
        "reports": [Path(r.rpartition("=")[2]).name for r in cfg.reports],
        "mixed_only": cfg.mixed_only,
        "limit": cfg.limit,
    }
    was = {
        "instances": Path(str(old.get("instances"))).name,
        "candidates": [Path(str(c)).name for c in old.get("candidates") or []],
        "reports": [Path(str(r).rpartition("=")[2]).name for r in old.get("reports") or []],
        "mixed_only": bool(old.get("mixed_only")),
        "limit": old.get("limit"),
    }
    diff = [k for k in now if now[k] != was[k]]
    if diff:
        raise InputError(
            f"{cfg.out}: cannot resume, the inputs differ from the run's ({', '.join(diff)}). "
            "Give the files and options of its run.json config, or start a new run with another --out"
        )
    write_json_atomic(cfg.out / "run.json", {**previous, "fingerprint": fingerprint})
    log.info("%s: a run from before the engine loop; resuming it with its recorded inputs", cfg.out)


def _saved_candidates(run_dir: Path) -> dict[str, list[SweCandidate]]:
    cands = [
        SweCandidate(
            str(r["problem_id"]),
            int(r["index"]),
            str(r.get("run", "")),
            str(r.get("model_name_or_path", "")),
            "",
            str(r.get("source", "")),
        )
        for r in read_run_rows(run_dir / "candidates.jsonl")
    ]
    return group_by_instance(sorted(cands, key=lambda c: c.index))


def restore_inputs(run_dir: Path, candidates: Sequence[Path]) -> int:
    """Rebuilds a run's ``candidates.jsonl`` and ``gold.jsonl`` from the candidates files it was made
    from, with the run's own selection of instances (``--mixed-only``, ``--limit``).

    A committed run keeps neither (the patches and labels are the data's, not the run's); this
    makes its metrics recomputable from what it keeps. Returns the number of candidates.

    Raises:
        InputError: Not a run directory, a run labelled by harness reports (relabel with
            ``--report``), or candidates that are not the ones the run ranked (other instances or
            other numbers of candidates than its selections, or scores for missing candidates).
    """
    import json

    run_dir = Path(run_dir)
    meta_path = run_dir / "run.json"
    if not meta_path.is_file():
        raise InputError.at(run_dir, None, "no run.json", "Give a `swebench rerank` run directory")
    conf = json.loads(meta_path.read_text(encoding="utf-8")).get("config", {})
    if conf.get("reports"):
        raise InputError(
            f"{run_dir} was labelled from harness reports: give them with --report instead of --candidates"
        )
    groups = group_by_instance(read_candidates(tuple(Path(c) for c in candidates)))
    if conf.get("mixed_only"):
        every = [c for cs in groups.values() for c in cs]
        known = labels_from_field(every)
        groups = {
            iid: cs
            for iid, cs in groups.items()
            if len({known.get((c.instance_id, c.index)) for c in cs} - {None}) == 2
        }
    if conf.get("limit") is not None:
        groups = dict(list(groups.items())[: int(conf["limit"])])
    ranked = {str(r["problem_id"]): int(r["n_samples"]) for r in read_run_rows(run_dir / "selections.jsonl")}
    have = {iid: len(cs) for iid, cs in groups.items()}
    if have != ranked:
        other = sorted(set(have.items()) ^ set(ranked.items()))
        raise InputError(
            f"{', '.join(str(c) for c in candidates)}: not the candidates {run_dir} ranked "
            f"(instances or candidate counts differ, e.g. {other[0]}). Give the files of its run.json config"
        )
    keys = {(c.instance_id, c.index) for cs in groups.values() for c in cs}
    stray = [
        r
        for r in read_run_rows(run_dir / "rm_scores.jsonl", missing_ok=True)
        if (r["problem_id"], int(r["index"])) not in keys
    ]
    if stray:
        raise InputError(
            f"{run_dir}/rm_scores.jsonl scores {stray[0]['problem_id']} #{stray[0]['index']}, which these "
            "candidates do not hold. Give the files of its run.json config"
        )
    kept = [c for cs in groups.values() for c in cs]
    _write_inputs(run_dir, groups, labels_from_field(kept))
    return len(kept)


def recompute_metrics(
    run_dir: Path,
    reports: Sequence[str] = (),
    quality: QualityConfig | None = None,
    selection_reports: Sequence[Path] = (),
    figures: bool = True,
) -> dict[str, Any]:
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
    import json

    run_dir = Path(run_dir)
    rankings = saved_rankings(run_dir)
    if not (run_dir / "run.json").is_file() or not rankings:
        raise InputError.at(
            run_dir,
            None,
            "no run.json or selections.jsonl",
            "Give a finished `swebench rerank` run directory",
        )
    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    spec = (meta.get("scorer") or {}).get("spec")
    # rows keyed by the scoring reranker's label, or (runs before the engine loop) by the scorer's spec
    keys = {spec, (meta.get("scorer") or {}).get("label")} - {None}
    score_rows = [r for r in read_run_rows(run_dir / "rm_scores.jsonl") if spec and r.get("scorer") in keys]
    groups = _saved_candidates(run_dir)
    scores = {(r["problem_id"], int(r["index"])): (float(r["score"]), float(r["prob"])) for r in score_rows}
    cands = [c for cs in groups.values() for c in cs]
    if reports:
        labels = labels_from_reports(cands, reports)
        _write_inputs(run_dir, groups, labels)
    else:
        labels = {
            (r["problem_id"], int(r["index"])): bool(r["passed"])
            for r in read_run_rows(run_dir / "gold.jsonl", missing_ok=True)
        }
    if spec == ORACLE and not scores:  # its scores are the labels (a committed run keeps no copy)
        scores = {k: (float(v), float(v)) for k, v in labels.items()}
    missing = [k for cs in groups.values() for k in [(c.instance_id, c.index) for c in cs] if k not in scores]
    if spec and missing:
        raise InputError.at(
            run_dir,
            None,
            f"{len(missing)} candidates have no score (e.g. {missing[0]})",
            "Finish the run first: rerankeval swebench rerank ... --resume",
        )
    # a reranker that reads the labels ranks again under the new ones; the others never saw them
    choices = [
        RerankerChoice(str(r["label"]), str(r["name"]), dict(r.get("args") or {}))
        for r in meta.get("rerankers") or []
    ]
    partly = len(fully_labelled(groups, labels)) < len(groups)
    for choice in choices:
        reranker = load_reranker(choice.name, **choice.args)
        if "gold" not in reranker.needs:
            continue
        if partly:  # its saved ranking read labels that may have changed, and it cannot rank again
            log.warning(
                "reranker '%s' reads the labels and some instances are not fully labelled: "
                "its ranking is left out",
                choice.label,
            )
            rankings.pop(choice.label, None)
        else:
            items = _items({}, groups, labels, scores if spec else None)
            rankings[choice.label] = _rank(choice, reranker, items)
    old: dict[str, Any] = {}
    if (run_dir / "metrics.json").is_file():
        old = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    saved = meta.get("config", {}).get("quality", {})
    q = quality or QualityConfig(**{**saved, "ks": tuple(saved.get("ks", (1, 2, 4, 8)))})
    n_bench = int(old.get("selection", {}).get("n_instances_benchmark") or len(groups))
    primary = next((c.label for c in choices if c.label in rankings), next(iter(rankings), None))
    if primary is None:
        raise InputError.at(
            run_dir,
            None,
            "no reranker's ranking is left to score",
            "Label every candidate (--report), so that the rerankers that read labels can rank again",
        )
    metrics = all_metrics(groups, scores if spec else None, labels, n_bench, q, rankings, primary)
    for key in ("scorer", "model_name", "predictions", "n_candidates", "n_truncated"):
        if key in old:
            metrics[key] = old[key]
    if selection_reports:
        metrics["harness"] = [harness_summary(Path(p), n_bench) for p in selection_reports]
    write_json_atomic(run_dir / "metrics.json", metrics)
    if figures and spec:
        write_figures(run_dir, metrics, scorer_name(spec))
    return metrics
