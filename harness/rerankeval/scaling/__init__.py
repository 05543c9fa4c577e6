"""Allocation of a unit-test budget across problems (uniform, greedy, adaptive) and difficulty estimates.

Pure functions over :class:`~rerankeval.core.rerank.PassMatrix` rows: an allocation says which
test columns each problem pays for (in the artifact's order); running them costs
``candidates x tests`` executions. ``allocate_tests`` replays an allocation on saved matrices
(``rerankeval report``); ``allocate_online`` runs one while executing (``rerankeval rerank --budget``).
"""

from rerankeval.scaling.adaptive import (
    Reveal,
    Rule,
    Select,
    adaptive,
    adaptive_online,
    coderm_choice,
    settle_state,
)
from rerankeval.scaling.allocation import Allocation, greedy, greedy_first_batch, marginal_gain, uniform
from rerankeval.scaling.budget import (
    METHODS,
    Method,
    allocate,
    allocate_online,
    allocate_tests,
    check_options,
)
from rerankeval.scaling.difficulty import (
    ESTIMATORS,
    Estimator,
    estimate_difficulty,
    first_batch_consensus,
    first_batch_pass_rate,
    linear_probe,
    load_difficulty,
    load_probe,
    sample_agreement,
)

__all__ = [
    "ESTIMATORS",
    "METHODS",
    "Allocation",
    "Reveal",
    "Rule",
    "Select",
    "coderm_choice",
    "Estimator",
    "Method",
    "adaptive",
    "adaptive_online",
    "allocate",
    "allocate_online",
    "allocate_tests",
    "check_options",
    "estimate_difficulty",
    "first_batch_consensus",
    "first_batch_pass_rate",
    "greedy",
    "greedy_first_batch",
    "linear_probe",
    "load_difficulty",
    "load_probe",
    "marginal_gain",
    "sample_agreement",
    "settle_state",
    "uniform",
]
