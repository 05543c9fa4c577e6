"""``rerankeval demo`` end to end on a tiny local model (CI runs the README's first command, the demo on
its real default models, as written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rerankeval.cli.main import _register, cli


@pytest.mark.realdata
@pytest.mark.model
def test_demo_samples_tests_reranks_and_reports(
    shared_data: Path, tiny_lm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    _register()
    out = tmp_path / "demo"
    args = [
        "demo",
        "--model",
        f"hf:{tiny_lm_dir}",
        "--test-generator",
        f"hf:{tiny_lm_dir}",
        "--limit",
        "2",
        "-n",
        "2",
        "--tests-n",
        "2",
        "--out",
        str(out),
        "--dataset-path",
        str(shared_data / "humanevalplus" / "HumanEvalPlus.jsonl.gz"),
    ]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    assert metrics["n_problems"] == 2 and metrics["n_samples"] == {"min": 2, "max": 2}
    # a tiny random model writes no test that parses: the demo says so and ranks without unit tests
    assert "wrote no test that parses" in res.output
    assert set(metrics["rerankers"]) == {"random", "first", "oracle"}
    assert "plain pass@1" in res.output and "oracle pass@N" in res.output
    assert (out / "report" / "report.md").exists()
    board = (out / "report" / "leaderboard.md").read_text()
    assert f"hf:{tiny_lm_dir}" in board  # the report names the model, not the file stem
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "--overwrite" in again.output
