"""stdout carries the commands' tables and JSON: model backends log to stderr."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_vllm_logs_go_to_stderr_under_the_cli() -> None:
    pytest.importorskip("vllm")
    code = (
        "from rerankeval.cli.main import setup_logging; setup_logging()\n"
        "import vllm.logger as L\n"
        "L._configure_vllm_root_logger()\n"  # what building an engine does (LLM(...) calls it)
        "L.init_logger('vllm.check').warning('hello from vllm')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "hello from vllm" in res.stderr and "hello from vllm" not in res.stdout
