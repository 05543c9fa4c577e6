"""The committed leaderboard across the reference runs (results/reference/leaderboard) reproduces from
the committed reports with its commands.sh, and its rows are the reports' own rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "results" / "reference"


def test_the_committed_leaderboard_reproduces_from_the_committed_reports(tmp_path: Path) -> None:
    env = {**os.environ, "OUT": str(tmp_path), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    subprocess.run(
        ["bash", str(REF / "leaderboard" / "commands.sh")], cwd=ROOT, env=env, check=True, capture_output=True
    )
    committed = pd.read_csv(REF / "leaderboard" / "leaderboard.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "leaderboard.csv"), committed)
    assert (tmp_path / "leaderboard.md").read_text() == (REF / "leaderboard" / "leaderboard.md").read_text()
    # every row is its report's row, unchanged
    old = pd.read_csv(REF / "scaling" / "leaderboard.csv")
    mine = committed[committed.source == "CodeT release (scaling/)"].drop(columns="source")
    key = ["policy", "reranker"]
    pd.testing.assert_frame_equal(
        mine.sort_values(key, ignore_index=True), old.sort_values(key, ignore_index=True)
    )
    assert {"CodeGen-Mono-16B", "code-davinci-002", "Qwen2.5-Coder-0.5B-Instruct"} <= set(committed.policy)
