"""SWE-bench integration: candidate patches in, reranked predictions out, labels from ``resolved``
fields or harness reports, the harness itself where Docker exists, and prompt templates."""

from rerankeval_swebench.data import (
    SweCandidate,
    SweInstance,
    group_by_instance,
    read_candidates,
    read_instances,
)
from rerankeval_swebench.harness import (
    HarnessUnavailableError,
    docker_problem,
    reranked_model_name,
    run_harness,
    write_predictions,
)
from rerankeval_swebench.labels import HarnessReport, labels_from_field, labels_from_reports, read_report
from rerankeval_swebench.prompts import PATCH_TEMPLATE, TEMPLATES, TRAJECTORY_TEMPLATE

__all__ = [
    "PATCH_TEMPLATE",
    "TEMPLATES",
    "TRAJECTORY_TEMPLATE",
    "HarnessReport",
    "HarnessUnavailableError",
    "SweCandidate",
    "SweInstance",
    "docker_problem",
    "group_by_instance",
    "labels_from_field",
    "labels_from_reports",
    "read_candidates",
    "read_instances",
    "read_report",
    "reranked_model_name",
    "run_harness",
    "write_predictions",
]
