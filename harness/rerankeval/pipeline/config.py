"""The resolved configuration of a rerank run (what run.json records and --resume checks)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rerankeval.unittests.matrix import DEFAULT_TIME_LIMIT_S


@dataclass(frozen=True, slots=True)
class RerankerChoice:
    """One reranker of a run.

    Attributes:
        label: Its name in tables and file names (the plugin name, plus its args when given).
        name: Registered plugin name.
        args: Keyword arguments for the plugin.
    """

    label: str
    name: str
    args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def file_stem(self) -> str:
        """The label made safe for a file name."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.label).strip("_")


@dataclass(frozen=True, slots=True)
class RerankConfig:
    """Everything that determines a rerank run's results.

    Attributes:
        dataset: ``humaneval`` or ``mbpp``.
        samples: EvalPlus samples file (N lines per task).
        tests: Generated tests artifact (tests.jsonl); None when no reranker reads a pass matrix.
        rerankers: The rerankers to compare.
        out: Run directory.
        dataset_path: Local dataset file (None: EvalPlus's own resolution).
        num_tests: Use K tests per problem (random subset, per draw); None = all.
        num_samples: Use N candidates per problem (random subset, per draw); None = all.
        draws: Number of random subsets averaged when subsampling.
        time_limit_s: Per-test time limit of the pass matrix.
        parallel: Sandbox worker processes (None = all cores).
        bootstrap: Replicates of the tests bootstrap (and of the problems bootstrap x 5).
        seed: Seed of every random draw.
        cache: Use the on-disk execution caches.
        generator: Which generator's tests to use when the tests file holds several.
        dedupe_tests: Count each distinct test once (default: as often as it was generated).
        budget: Average tests per problem an allocation may execute (None: every test).
        allocation: How the budget is spread: ``uniform``, ``greedy`` or ``adaptive``.
        allocation_options: Options of the allocation (``step``, ``rule``, ``first_batch``, ...).
        difficulty: File of predicted pass rates per problem (``greedy``; see ``load_difficulty``),
            or, with ``probe``, of the policy's hidden states per problem (see ``load_probe``).
        probe: A trained linear probe applied to ``difficulty``'s hidden states.
    """

    dataset: str
    samples: Path
    tests: Path | None
    rerankers: tuple[RerankerChoice, ...]
    out: Path
    dataset_path: Path | None = None
    num_tests: int | None = None
    num_samples: int | None = None
    draws: int = 10
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    parallel: int | None = None
    bootstrap: int = 200
    seed: int = 0
    cache: bool = True
    generator: str | None = None
    dedupe_tests: bool = False
    budget: float | None = None
    allocation: str = "uniform"
    allocation_options: Mapping[str, Any] = field(default_factory=dict)
    difficulty: Path | None = None
    probe: Path | None = None

    def __post_init__(self) -> None:
        from rerankeval.errors import InputError

        t = self.time_limit_s
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not (math.isfinite(t) and t > 0):
            raise InputError(f"time limit (--time-limit) must be a finite number of seconds > 0, got {t!r}")
        if self.budget is None:
            return
        from rerankeval.scaling import check_options

        if not isinstance(self.budget, (int, float)) or not 0 <= self.budget < float("inf"):
            raise InputError(f"test budget must be a number >= 0 (tests per problem), got {self.budget!r}")
        if self.num_tests is not None:
            raise InputError("a test budget and num_tests (--num-tests) exclude each other. Drop one of them")
        check_options(self.allocation, self.allocation_options)
        if self.difficulty is not None and self.allocation != "greedy":
            raise InputError(
                f"difficulty estimates (--difficulty) are read by the greedy allocation only, "
                f"not by {self.allocation!r}. Use --allocation greedy"
            )

    @property
    def subsampled(self) -> bool:
        return self.num_tests is not None or self.num_samples is not None

    def results_key(self) -> dict[str, Any]:
        """The fields that must match for ``--resume`` to reuse finished rows."""
        return {
            "dataset": self.dataset,
            "time_limit_s": self.time_limit_s,
            "generator": self.generator,
            "dedupe_tests": self.dedupe_tests,
            "budget": self._budget_key(),
        }

    def _budget_key(self) -> dict[str, Any] | None:
        if self.budget is None:
            return None
        return {
            "budget": self.budget,
            "allocation": self.allocation,
            "options": dict(sorted(self.allocation_options.items())),
            "difficulty_sha256": _sha(self.difficulty),
            "probe_sha256": _sha(self.probe),
        }

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rerankers"] = [{"label": r.label, "name": r.name, "args": dict(r.args)} for r in self.rerankers]
        for k in ("samples", "tests", "out", "dataset_path", "difficulty", "probe"):
            d[k] = None if d[k] is None else str(d[k])
        return d


def _sha(path: Path | None) -> str | None:
    from rerankeval.pipeline.inputs import file_sha256

    return file_sha256(path) if path and Path(path).is_file() else None
