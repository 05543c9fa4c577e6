"""Pure core: types, estimators, selection and metrics. Standard library only, no I/O."""

from rerankeval.core.passk import estimate_pass_at_k, pass_at_k
from rerankeval.core.types import (
    Candidate,
    ExecOutcome,
    Problem,
    Status,
)

__all__ = [
    "Candidate",
    "ExecOutcome",
    "Problem",
    "Status",
    "estimate_pass_at_k",
    "pass_at_k",
]
