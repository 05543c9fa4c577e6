"""A run stopped by SIGTERM (``kill``, a job scheduler) ends as Ctrl-C ends it: run.json says so, the
lock is freed, the rows are kept and ``--resume`` continues."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rerankeval.runs import RunDir

CHILD = """
import sys, time
from pathlib import Path
from rerankeval.runs import RunDir, JsonlAppender
with RunDir(Path(sys.argv[1]), resume=False) as run:
    run.write_meta({"status": "running", "kind": "test"})
    with JsonlAppender(Path(sys.argv[1]) / "rows.jsonl") as app:
        app.write({"problem_id": "P", "index": 0})
    print("ready", flush=True)
    time.sleep(60)
"""


def test_sigterm_marks_the_run_interrupted_and_frees_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "interrupted" and meta["error"] == "stopped by SIGTERM"
    assert (out / "rows.jsonl").read_text().count("\n") == 1
    with RunDir(out, resume=True) as run:  # the lock is free: the run resumes
        assert run.previous is not None and run.previous["status"] == "interrupted"


def test_the_sigterm_handler_is_the_callers_again_after_the_run(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("no SIGTERM handler to compare")
    before = signal.getsignal(signal.SIGTERM)
    with RunDir(tmp_path / "r", resume=False) as run:
        run.write_meta({"status": "running"})
        assert signal.getsignal(signal.SIGTERM) is not before
        time.sleep(0)
    assert signal.getsignal(signal.SIGTERM) is before
