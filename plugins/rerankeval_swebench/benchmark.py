"""The SWE-bench benchmark adapter (:class:`rerankeval.pipeline.Benchmark`).

One view, ``resolved``: the SWE-bench harness resolved the instance with the candidate's patch,
from known labels (``resolved`` fields or harness reports). Labels may be missing
(``partial_labels``): every instance is ranked and gets a prediction; the metrics cover the
instances whose candidates are all labelled. The adapter's ``finish`` hook writes what SWE-bench
users read: one predictions file per reranker (``<model>+rerank.<reranker>``), the resolve rates
over the labelled instances and over the whole benchmark file, the per-agent-run table, the
reward model's quality with the run's :class:`~rerankeval.core.rm_quality.QualityConfig`, the
harness's grade of the predictions (``--harness``) and the figures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rerankeval.core.rm_quality import QualityConfig
from rerankeval.core.types import Candidate, Problem, content_hash
from rerankeval.pipeline.inputs import RunOutcome, Verdict, file_sha256
from rerankeval.runs import read_run_rows
from rerankeval_swebench.data import SweCandidate, SweInstance
from rerankeval_swebench.harness import reranked_model_name, run_harness, write_predictions
from rerankeval_swebench.labels import Key, read_report
from rerankeval_swebench.metrics import all_metrics

log = logging.getLogger(__name__)

#: The files a SWE-bench run writes besides the engine's (``--overwrite`` removes them; ``host/`` is
#: the harness's).
SWEBENCH_FILES = ("predictions.jsonl", "report/fig_rm_at_k.png", "report/fig_reliability.png")


def prediction_files(labels: Sequence[str]) -> list[str]:
    """The per-reranker predictions files of a run, relative to its directory."""
    from rerankeval.pipeline.config import RerankerChoice

    return [f"predictions/{RerankerChoice(label, '').file_stem}.jsonl" for label in labels]


@dataclass
class SweBenchmark:
    """SWE-bench candidates as a benchmark adapter of the engine.

    Attributes:
        instances: The benchmark file's instances (its size is the leaderboard's denominator).
        groups: instance_id -> its candidates, in candidate order (the instances the run ranks).
        labels: (instance_id, index) -> resolved, for the candidates that have a label.
        sources: The input files (their content makes the dataset hash).
        trajectory: The prompt template reads the agents' trajectories (``score_fields`` adds them).
        primary: The reranker whose picks are ``predictions.jsonl``.
        model_base: Base of the predictions' model names (``<base>+rerank.<reranker>``).
        model_name: The model name of ``predictions.jsonl``.
        quality: How the reward model's quality is computed.
        scored: Label of the reranker whose scores ``rm_quality`` judges (None: none scored).
        scorer_spec: Its scorer's spec.
        scorer_name: Its name in the figures' titles.
        harness: Grade the predictions with the SWE-bench harness (``run_id``, ``harness_dataset``,
            ``max_workers``).
        figures: Draw the reliability diagram and the RM@k curve under ``report/``.
    """

    instances: Mapping[str, SweInstance]
    groups: Mapping[str, Sequence[SweCandidate]]
    labels: Mapping[Key, bool]
    sources: Sequence[Path] = ()
    trajectory: bool = False
    primary: str = ""
    model_base: str = "candidates"
    model_name: str = "candidates+rerank"
    quality: QualityConfig = field(default_factory=QualityConfig)
    scored: str | None = None
    scorer_spec: str | None = None
    scorer_name: str = ""
    harness: bool = False
    run_id: str = "rerankeval"
    harness_dataset: str = "SWE-bench/SWE-bench_Lite"
    max_workers: int = 4
    figures: bool = True
    name: str = field(init=False, default="swebench")
    views: dict[str, str] = field(init=False)
    problems: dict[str, Problem] = field(init=False)
    hash: str = field(init=False)
    partial_labels: bool = field(init=False, default=True)
    selected_files: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.views = {"resolved": "SWE-bench (resolved)"}
        self.problems = {iid: Problem(iid, self.instances[iid].problem_statement) for iid in self.groups}
        self._by_key = {(c.instance_id, c.index): c for cs in self.groups.values() for c in cs}
        labels = sorted((k[0], k[1], v) for k, v in self.labels.items())
        self.hash = content_hash(
            *(file_sha256(p) for p in self.sources), repr(sorted(self.groups)), repr(labels)
        )

    def candidates(self) -> list[Candidate]:
        """The engine's candidates: each patch, numbered as in its instance."""
        return [Candidate(c.instance_id, c.index, c.model_patch) for cs in self.groups.values() for c in cs]

    def judge(
        self, candidates: Sequence[Candidate], progress: Callable[[int], None] | None = None
    ) -> list[Verdict]:
        """The known labels (a candidate without one gets no verdict)."""
        out = [
            Verdict(c.problem_id, c.index, {"resolved": self.labels[(c.problem_id, c.index)]})
            for c in candidates
            if (c.problem_id, c.index) in self.labels
        ]
        if progress is not None:
            progress(len(candidates))
        return out

    def judge_total(self, candidates: Sequence[Candidate]) -> int:
        return len(candidates)

    def score_fields(self, candidate: Candidate) -> dict[str, str]:
        """The prompt templates' SWE-bench slots: the repository and, for the trajectory
        template, the agent's trajectory."""
        swe = self._by_key[(candidate.problem_id, candidate.index)]
        out = {"repo": self.instances[candidate.problem_id].repo}
        if self.trajectory:
            out["trajectory"] = swe.trajectory or ""
        return out

    def candidate_record(self, candidate: Candidate) -> dict[str, Any]:
        """The agent run, the model name the harness keys its reports by, and the source line."""
        swe = self._by_key[(candidate.problem_id, candidate.index)]
        return {"run": swe.run, "model_name_or_path": swe.model_name_or_path, "source": swe.source}

    def own_files(self, meta: Mapping[str, Any]) -> list[str]:
        """What ``--overwrite`` removes besides the engine's files."""
        labels = [str(r.get("label")) for r in meta.get("rerankers") or [] if isinstance(r, dict)]
        return [*SWEBENCH_FILES, *prediction_files(labels)]

    def finish(self, outcome: RunOutcome) -> dict[str, Any]:
        """Writes the predictions files (and grades them with ``harness``) and the figures; returns
        the SWE-bench metrics (:func:`~rerankeval_swebench.metrics.all_metrics`)."""
        out = outcome.out
        labels = list(outcome.rankings)
        picks = {
            label: [cs[outcome.rankings[label][iid].pick] for iid, cs in self.groups.items()]
            for label in labels
        }
        for label, rel in zip(labels, prediction_files(labels), strict=True):
            write_predictions(out / rel, picks[label], reranked_model_name(self.model_base, Path(rel).stem))
        model = self.model_name
        preds = write_predictions(out / "predictions.jsonl", picks[self.primary], model)
        scores = None
        if self.scored is not None:
            table = outcome.scores[self.scored]
            scores = {
                (iid, c.index): table[iid][k] for iid, cs in self.groups.items() for k, c in enumerate(cs)
            }
        metrics = all_metrics(
            self.groups,
            scores,
            self.labels,
            len(self.instances),
            self.quality,
            outcome.rankings,
            self.primary,
        )
        rows = read_run_rows(out / "rm_scores.jsonl", missing_ok=True)
        mine = {self.scored, self.scorer_spec} - {None}  # rows keyed by label, or by spec (older runs)
        metrics.update(
            {
                "scorer": self.scorer_spec,
                "model_name": model,
                "predictions": str(preds),
                "n_candidates": sum(len(cs) for cs in self.groups.values()),
                "n_truncated": sum(1 for r in rows if r.get("scorer") in mine and r.get("truncated")),
            }
        )
        if metrics["n_truncated"]:
            log.warning(
                "%d of %d prompts were cut to fit the model's context (%s)",
                metrics["n_truncated"],
                metrics["n_candidates"],
                self.scored,
            )
        if self.harness:
            report = run_harness(
                preds,
                self.run_id,
                self.harness_dataset,
                max_workers=self.max_workers,
                report_dir=out / "host",
            )
            metrics["harness"] = harness_summary(report, len(self.instances))
        if self.figures and scores is not None:
            from rerankeval_swebench.pipeline import write_figures

            write_figures(out, metrics, self.scorer_name)
        return metrics


def harness_summary(report: Path, n_benchmark: int) -> dict[str, Any]:
    """The harness's resolved count of a predictions file and its rate over the benchmark."""
    rep = read_report(report)
    return {
        "report": str(report),
        "resolved": len(rep.resolved),
        "rate_benchmark": len(rep.resolved) / n_benchmark if n_benchmark else None,
    }
