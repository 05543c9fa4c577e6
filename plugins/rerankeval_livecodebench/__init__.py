"""LiveCodeBench integration: code-generation problems (stdin and functional), graded with verdicts
identical to LiveCodeBench's own grader, computed in the rerankeval sandbox."""

from rerankeval_livecodebench.benchmark import LiveCodeBenchBenchmark
from rerankeval_livecodebench.data import LcbDataset, LcbProblem, LcbTest, load_dataset
from rerankeval_livecodebench.grader import grade, passed

__all__ = [
    "LcbDataset",
    "LcbProblem",
    "LcbTest",
    "LiveCodeBenchBenchmark",
    "grade",
    "load_dataset",
    "passed",
]
