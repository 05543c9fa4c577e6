"""Reading a saved run directory (see :mod:`rerankeval.runs`) into pandas frames and pass matrices.

Reports are pure functions of these files: nothing here executes code or calls a model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerankeval.core.rerank import PassMatrix
from rerankeval.core.types import Candidate
from rerankeval.errors import InputError
from rerankeval.runs import read_run_meta, read_run_rows

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

#: Where a run's labels may be recorded in run.json (first match wins; dotted = nested).
LABEL_KEYS: Mapping[str, tuple[str, ...]] = {
    "policy": (
        "policy",
        "labels.policy",
        "config.policy",
        "config.policy_model",
        "policy_model",
        "model",
        "config.model",
    ),
    "test_generator": (
        "test_generator",
        "labels.test_generator",
        "config.test_generator",
        "config.tests_from",
        "tests_from",
        "config.generator",
    ),
    # gold.jsonl's ``passed`` is the benchmark's "plus" view when it has one (HumanEval+, MBPP+)
    "dataset": (
        "dataset",
        "labels.dataset",
        "benchmark.views.plus",
        "config.dataset",
        "benchmark.name",
        "task",
    ),
}
#: Fallbacks when no label is recorded: the stem of the input file the run read.
LABEL_FILES: Mapping[str, str] = {"policy": "config.samples", "test_generator": "config.tests"}


def _lookup(meta: Mapping[str, Any], dotted: str) -> Any:
    cur: Any = meta
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def run_label(meta: Mapping[str, Any], key: str, default: str) -> str:
    """A run's policy / test generator / dataset label from run.json.

    Looks at :data:`LABEL_KEYS` first, then at the name of the input file in :data:`LABEL_FILES`
    (``config.samples``'s stem names the policy, ``config.tests``'s the test generator).
    """
    for dotted in LABEL_KEYS[key]:
        value = _lookup(meta, dotted)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, Mapping):
            for sub in ("name", "label", "model"):
                if isinstance(value.get(sub), str) and value[sub]:
                    return str(value[sub])
    path = _lookup(meta, LABEL_FILES[key]) if key in LABEL_FILES else None
    if isinstance(path, str) and path:
        name = Path(path).name
        for suffix in (".gz", ".jsonl", ".json"):
            name = name.removesuffix(suffix)
        return name or default
    return default


@dataclass(frozen=True)
class RunFrames:
    """Everything a report reads from one run directory.

    Attributes:
        path: The run directory.
        meta: run.json.
        policy: Label of the policy model that sampled the candidates.
        test_generator: Label of what generated the unit tests.
        dataset: Benchmark label.
        candidates: problem_id, index, sha (one row per candidate).
        gold: problem_id, index, passed (bool).
        matrices: problem_id -> pass matrix, rows in candidate-index order (empty without matrix.jsonl).
        tests: problem_id, test_id, column (+ n_tokens when the tests were generated on the fly).
        selections: selections.jsonl as a frame (empty when absent).
        rm_scores: rm_scores.jsonl as a frame (empty when absent).
        metrics: metrics.json ({} when absent).
    """

    path: Path
    meta: Mapping[str, Any]
    policy: str
    test_generator: str
    dataset: str
    candidates: pd.DataFrame
    gold: pd.DataFrame
    matrices: Mapping[str, PassMatrix]
    tests: pd.DataFrame
    selections: pd.DataFrame
    rm_scores: pd.DataFrame
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``policy / test generator`` (how series and panels are labelled)."""
        return f"{self.policy} / {self.test_generator}"

    @property
    def problem_ids(self) -> list[str]:
        """Problems with ground truth, in sorted order."""
        return sorted(self.gold["problem_id"].unique())

    def golds(self) -> dict[str, tuple[bool, ...]]:
        """problem_id -> correctness of each candidate, in candidate-index order."""
        g = self.gold.sort_values(["problem_id", "index"])
        return {pid: tuple(bool(x) for x in grp["passed"]) for pid, grp in g.groupby("problem_id", sort=True)}

    def candidate_objects(self) -> dict[str, tuple[Candidate, ...]]:
        """problem_id -> candidates (code as saved, "" when candidates.jsonl holds no code)."""
        c = self.candidates.sort_values(["problem_id", "index"])
        codes = c["code"] if "code" in c.columns else [""] * len(c)
        out: dict[str, list[Candidate]] = {}
        for pid, idx, code in zip(c["problem_id"], c["index"], codes, strict=True):
            out.setdefault(pid, []).append(Candidate(pid, int(idx), code if isinstance(code, str) else ""))
        return {p: tuple(v) for p, v in out.items()}

    def problems(self) -> pd.DataFrame:
        """One row per problem: n_candidates, n_correct, pass_rate, solvable, n_tests."""
        import pandas as pd

        golds = self.golds()
        rows = [
            {
                "problem_id": pid,
                "n_candidates": len(g),
                "n_correct": sum(g),
                "pass_rate": sum(g) / len(g) if g else 0.0,
                "solvable": any(g),
                "n_tests": len(self.matrices[pid].test_ids) if pid in self.matrices else 0,
            }
            for pid, g in golds.items()
        ]
        return pd.DataFrame(
            rows, columns=["problem_id", "n_candidates", "n_correct", "pass_rate", "solvable", "n_tests"]
        )


def _frame(path: Path, columns: Sequence[str], required: bool) -> pd.DataFrame:
    import pandas as pd

    rows = list(read_run_rows(path, missing_ok=not required))
    if not rows:
        return pd.DataFrame(columns=list(columns))
    df = pd.DataFrame(rows)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError.at(
            path,
            None,
            f"rows lack the field(s) {missing}",
            "Write this file with rerankeval (see rerankeval.runs for the format)",
        )
    return df


def _matrices(path: Path, tests: pd.DataFrame) -> tuple[dict[str, PassMatrix], dict[str, list[int]]]:
    ids: dict[str, list[str]] = {}
    for pid, tid in zip(tests.get("problem_id", []), tests.get("test_id", []), strict=True):
        ids.setdefault(str(pid), []).append(str(tid))
    rows: dict[str, list[tuple[int, str]]] = {}
    for no, row in enumerate(read_run_rows(path / "matrix.jsonl", missing_ok=True), 1):
        try:
            rows.setdefault(str(row["problem_id"]), []).append((int(row["index"]), str(row["tests"])))
        except (KeyError, TypeError, ValueError):
            raise InputError.at(
                path / "matrix.jsonl",
                no,
                "a row needs problem_id, index and tests",
                "Rebuild the pass matrix with rerankeval",
            ) from None
    out: dict[str, PassMatrix] = {}
    indexes: dict[str, list[int]] = {}
    for pid, cells in rows.items():
        cells.sort()
        indexes[pid] = [i for i, _ in cells]
        width = {len(c) for _, c in cells}
        if len(width) != 1:
            raise InputError.at(
                path / "matrix.jsonl",
                None,
                f"rows of {pid} have different lengths {sorted(width)}",
                "Rebuild the pass matrix with rerankeval",
            )
        n = width.pop()
        test_ids = ids.get(pid) or [f"t{j}" for j in range(n)]
        if len(test_ids) != n:
            raise InputError.at(
                path / "tests.jsonl",
                None,
                f"{pid} lists {len(test_ids)} tests but its matrix rows have {n} cells",
                "Use the tests.jsonl written with this matrix",
            )
        out[pid] = PassMatrix(pid, tuple(test_ids), tuple(c for _, c in cells))
    return out, indexes


def load_run(
    path: Path | str,
    *,
    policy: str | None = None,
    test_generator: str | None = None,
    dataset: str | None = None,
) -> RunFrames:
    """Reads a run directory into frames (no execution, no model).

    Args:
        path: A directory written by ``rerankeval rerank`` (run.json, gold.jsonl, ...).
        policy: Label of the policy model (default: from run.json, see :func:`run_label`).
        test_generator: Label of the test generator (default: from run.json).
        dataset: Label of the dataset (default: from run.json).

    Raises:
        InputError: A missing run.json or gold.jsonl, malformed rows, or a matrix inconsistent
            with its tests or its ground truth.
    """
    path = Path(path)
    meta = read_run_meta(path)
    gold = _frame(path / "gold.jsonl", ["problem_id", "index", "passed"], required=True)
    gold["passed"] = gold["passed"].astype(bool)
    candidates = _frame(path / "candidates.jsonl", ["problem_id", "index"], required=False)
    tests = _frame(path / "tests.jsonl", ["problem_id", "test_id"], required=False)
    matrices, indexes = _matrices(path, tests)
    _check_alignment(path, gold, indexes)
    if candidates.empty:
        candidates = gold[["problem_id", "index"]].copy()
    metrics_path = path / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.exists() else {}
    return RunFrames(
        path=path,
        meta=meta,
        policy=policy or run_label(meta, "policy", path.name),
        test_generator=test_generator or run_label(meta, "test_generator", "generated tests"),
        dataset=dataset or run_label(meta, "dataset", "unknown dataset"),
        candidates=candidates,
        gold=gold,
        matrices=matrices,
        tests=tests,
        selections=_frame(path / "selections.jsonl", ["problem_id", "reranker"], required=False),
        rm_scores=_frame(path / "rm_scores.jsonl", ["problem_id", "index", "score"], required=False),
        metrics=metrics,
    )


def _check_alignment(path: Path, gold: pd.DataFrame, indexes: Mapping[str, list[int]]) -> None:
    """Every matrix row has a gold row with the same candidate index, and vice versa."""
    by_problem = {pid: sorted(int(i) for i in grp) for pid, grp in gold.groupby("problem_id")["index"]}
    for pid, idx in indexes.items():
        if by_problem.get(pid) != idx:
            raise InputError.at(
                path / "matrix.jsonl",
                None,
                f"{pid}: matrix rows cover candidates {idx[:5]}... ({len(idx)}) but gold.jsonl "
                f"has {len(by_problem.get(pid, []))}",
                "Use gold.jsonl and matrix.jsonl from the same run",
            )
