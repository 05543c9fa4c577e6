"""Known outcomes of candidate patches: a ``resolved`` field, or SWE-bench harness reports.

A harness report is the final JSON that ``swebench.harness.run_evaluation`` writes as
``<model>.<run_id>.json`` (``<model>`` is ``model_name_or_path`` with ``/`` as ``__``). It holds
one verdict per instance for one model: ``resolved_ids`` are resolved; ``unresolved_ids``,
``error_ids`` (the patch did not apply or the run failed) and ``empty_patch_ids`` are not, as the
leaderboard counts them. Instances it lists as ``incomplete_ids`` or ``infra_failure_ids`` say
nothing about the patch and stay unlabelled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rerankeval.errors import InputError
from rerankeval_swebench.data import SweCandidate

#: Candidate key: (instance_id, index).
Key = tuple[str, int]


@dataclass(frozen=True, slots=True)
class HarnessReport:
    """The verdicts of one harness report.

    Attributes:
        path: The report file.
        resolved: Instance ids resolved.
        unresolved: Ids judged not resolved (unresolved, error and empty-patch ids).
        unknown: Ids the report cannot vouch for (incomplete or infrastructure failures).
    """

    path: Path
    resolved: frozenset[str]
    unresolved: frozenset[str]
    unknown: frozenset[str]

    def label(self, instance_id: str) -> bool | None:
        if instance_id in self.unknown:
            return None
        if instance_id in self.resolved:
            return True
        return False if instance_id in self.unresolved else None


def read_report(path: Path) -> HarnessReport:
    """Reads a harness report (``resolved_ids`` and friends).

    Raises:
        InputError: Not a JSON object with ``resolved_ids``.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise InputError.at(
            path,
            None,
            f"cannot read the harness report ({e})",
            "Give the <model>.<run_id>.json file that swebench.harness.run_evaluation wrote",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("resolved_ids"), list):
        raise InputError.at(path, None, "no resolved_ids list", "Give a SWE-bench harness final report")

    def ids(*keys: str) -> frozenset[str]:
        return frozenset(i for k in keys for i in data.get(k) or [])

    return HarnessReport(
        path,
        ids("resolved_ids"),
        ids("unresolved_ids", "error_ids", "empty_patch_ids"),
        ids("incomplete_ids", "infra_failure_ids") - ids("resolved_ids"),
    )


def report_model(path: Path, models: Sequence[str]) -> str | None:
    """The model a report belongs to: the longest candidate model whose harness name prefixes the file."""
    name = Path(path).name
    matches = [m for m in models if name.startswith(m.replace("/", "__") + ".")]
    return max(matches, key=len) if matches else None


def labels_from_field(candidates: Sequence[SweCandidate]) -> dict[Key, bool]:
    """Labels from the candidates' own ``resolved`` fields (unlabelled candidates are absent)."""
    return {(c.instance_id, c.index): c.resolved for c in candidates if c.resolved is not None}


def labels_from_reports(candidates: Sequence[SweCandidate], reports: Sequence[str | Path]) -> dict[Key, bool]:
    """Labels from harness reports, matched to candidates by model name.

    Args:
        candidates: The candidates.
        reports: Report paths, or ``MODEL=PATH`` to name the model explicitly.

    Raises:
        InputError: A report that matches no candidate model, or a model with several candidates
            for one instance (one report cannot tell them apart).
    """
    models = sorted({c.model_name_or_path for c in candidates})
    by_model: dict[str, HarnessReport] = {}
    for spec in reports:
        model, sep, path = str(spec).rpartition("=") if "=" in str(spec) else ("", "", str(spec))
        owner = model if sep else report_model(Path(path), models)
        if owner is None or owner not in models:
            raise InputError.at(
                path,
                None,
                f"matches none of the candidate models ({', '.join(models)})",
                "Name it as <model>.<run_id>.json, or pass MODEL=PATH",
            )
        by_model[owner] = read_report(Path(path))
    seen: dict[tuple[str, str], str] = {}
    for c in candidates:
        if c.model_name_or_path in by_model:
            key = (c.model_name_or_path, c.instance_id)
            if key in seen:
                raise InputError.at(
                    c.source,
                    None,
                    f"model '{c.model_name_or_path}' has several "
                    f"candidates for {c.instance_id} (also {seen[key]}), so its report "
                    "cannot label them",
                    "Give each run its own model_name_or_path, or use resolved fields",
                )
            seen[key] = c.source
    out: dict[Key, bool] = {}
    for c in candidates:
        rep = by_model.get(c.model_name_or_path)
        label = rep.label(c.instance_id) if rep else None
        if label is not None:
            out[(c.instance_id, c.index)] = label
    return out


def fully_labelled(groups: Mapping[str, Sequence[SweCandidate]], labels: Mapping[Key, bool]) -> list[str]:
    """Instances whose every candidate has a label (the only ones metrics can use without bias)."""
    return [iid for iid, cs in groups.items() if all((c.instance_id, c.index) in labels for c in cs)]
