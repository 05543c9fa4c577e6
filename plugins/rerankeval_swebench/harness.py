"""Predictions files for the SWE-bench harness, and running it where Docker exists.

The harness (``swebench.harness.run_evaluation``, SWE-bench 5.0.2) builds and runs one Docker
container per instance; without a reachable Docker daemon it cannot grade anything, so
:func:`run_harness` checks the daemon first and says so in one line.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from rerankeval.errors import SandboxUnavailableError
from rerankeval_swebench.data import SweCandidate

log = logging.getLogger(__name__)


class HarnessUnavailableError(SandboxUnavailableError):
    """The SWE-bench harness cannot run here (no Docker daemon or no swebench package)."""


def reranked_model_name(base: str, reranker: str) -> str:
    """``<base>+rerank.<reranker>``: distinct harness log folders for every reranked selection."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", reranker).strip("-") or "rm"
    return f"{base}+rerank.{safe}"


def default_base_name(candidates: Sequence[SweCandidate]) -> str:
    """The candidates' model name when they share one, else ``ensemble-<n>-models``."""
    models = sorted({c.model_name_or_path for c in candidates})
    return models[0] if len(models) == 1 else f"ensemble-{len(models)}-models"


def write_predictions(path: Path, picks: Sequence[SweCandidate], model_name: str) -> Path:
    """Writes one prediction per instance, in the harness's JSONL format.

    Rows are ``{instance_id, model_name_or_path, model_patch}``; the file is written to a
    temporary name and renamed into place.

    Raises:
        ValueError: Two picks for one instance (the harness would keep only one).
    """
    ids = [c.instance_id for c in picks]
    if len(ids) != len(set(ids)):
        raise ValueError("several picks for one instance")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for c in picks:
            f.write(
                json.dumps(
                    {
                        "instance_id": c.instance_id,
                        "model_name_or_path": model_name,
                        "model_patch": c.model_patch,
                    }
                )
                + "\n"
            )
    tmp.replace(path)
    return path


def docker_problem() -> str | None:
    """Why the harness cannot reach Docker, or None when a daemon answers a ping."""
    try:
        import docker
    except ImportError:
        return "the 'docker' Python package is missing (pip install 'rerankeval[swebench]')"
    try:
        client = docker.from_env(timeout=5)
        client.ping()
        client.close()
    except Exception as e:  # noqa: BLE001 - any failure here means "no usable daemon"
        return f"no Docker daemon answers ({type(e).__name__}: {str(e)[:160]})"
    return None


def run_harness(
    predictions: Path,
    run_id: str,
    dataset: str = "SWE-bench/SWE-bench_Lite",
    split: str = "test",
    max_workers: int = 4,
    timeout: int = 1800,
    report_dir: Path = Path("."),
    instance_ids: Sequence[str] = (),
) -> Path:
    """Grades a predictions file with ``swebench.harness.run_evaluation.main``; returns the report path.

    Args:
        predictions: The predictions JSONL.
        run_id: Harness run id (names its log folders and the report).
        dataset: Dataset name or local file the harness loads the instances from.
        split: Dataset split.
        max_workers: Containers run in parallel.
        timeout: Seconds per instance.
        report_dir: Where the report is written.
        instance_ids: Restrict to these instances (default: every instance in the predictions).

    Raises:
        HarnessUnavailableError: No Docker daemon (or no swebench package).
    """
    problem = docker_problem()
    if problem is not None:
        raise HarnessUnavailableError(
            f"the SWE-bench harness needs a running Docker daemon: {problem}. "
            "Start Docker, or score the selection from known labels "
            "(resolved fields or --report <model>.<run_id>.json)"
        )
    try:
        from swebench.harness.run_evaluation import main
    except ImportError as e:
        raise HarnessUnavailableError(
            f"swebench is not installed ({e}): pip install 'rerankeval[swebench]'"
        ) from None
    log.info("running the SWE-bench harness on %s (run id %s)", predictions, run_id)
    report = main(
        dataset_name=dataset,
        split=split,
        instance_ids=list(instance_ids),
        predictions_path=str(predictions),
        max_workers=max_workers,
        open_file_limit=4096,
        run_id=run_id,
        timeout=timeout,
        rewrite_reports=False,
        modal=False,
        report_dir=str(report_dir),
    )
    return Path(report)
