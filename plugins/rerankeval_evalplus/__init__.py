"""EvalPlus integration: HumanEval+/MBPP+ problems, samples files in and out, and ground truth
identical to ``evalplus.evaluate`` 0.3.1 (computed in the rerankeval sandbox)."""

from rerankeval_evalplus.benchmark import EvalPlusBenchmark
from rerankeval_evalplus.dataset import DATASETS, EvalPlusDataset, load_dataset
from rerankeval_evalplus.judge import JudgeConfig, Verdict, count_runs, expected_outputs, judge
from rerankeval_evalplus.results import eval_results, pass_at_k_summary
from rerankeval_evalplus.samples import Sample, read_samples

__all__ = [
    "DATASETS",
    "EvalPlusBenchmark",
    "EvalPlusDataset",
    "JudgeConfig",
    "Sample",
    "Verdict",
    "count_runs",
    "eval_results",
    "expected_outputs",
    "judge",
    "load_dataset",
    "pass_at_k_summary",
    "read_samples",
]
