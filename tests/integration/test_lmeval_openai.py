"""The *_rm tasks through lm-eval's ``local-completions`` backend against a real OpenAI-compatible
server (vLLM on CPU, tiny model): lm-eval sends one fixed seed with every request, so the N
repeats come back as N copies of one sample unless each repeat carries its own seed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lmeval_tasks import TASKS_DIR, write_dataset, write_tests

pytestmark = pytest.mark.model
REPEATS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tiny_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("vllm")
    port = _free_port()
    log = open(tmp_path_factory.mktemp("server") / "server.log", "w")  # noqa: SIM115 - closed below
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(tiny_lm_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--enforce-eager",
        "--dtype",
        "float32",
        "--max-model-len",
        "1024",
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the vLLM server did not start: see {log.name}")
                time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1/completions"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def _run(base_url: str, model: Path, tmp: Path, extra: dict[str, Any]) -> dict[str, list[str]]:
    """Runs lm_eval on the server; returns each problem's N responses."""
    tmp.mkdir(parents=True, exist_ok=True)
    meta = {
        "humaneval_path": str(write_dataset(tmp / "mini.jsonl.gz")),
        "tests": str(write_tests(tmp / "t.jsonl")),
        "repeats": REPEATS,
        "workers": 2,
        **extra,
    }
    out = tmp / "out"
    cmd = [
        shutil.which("lm_eval") or "lm_eval",
        "--model",
        "local-completions",
        "--model_args",
        f"model={model},base_url={base_url},tokenizer_backend=huggingface,tokenizer={model},num_concurrent=2",
        "--tasks",
        "humaneval_plus_rm",
        "--include_path",
        str(TASKS_DIR),
        "--confirm_run_unsafe_code",
        "--gen_kwargs",
        "max_gen_toks=16",
        "--metadata",
        json.dumps(meta),
        "--output_path",
        str(out),
        "--log_samples",
    ]
    env = {**os.environ, "RERANKEVAL_CACHE_DIR": str(tmp / "cache")}
    proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in next(out.rglob("samples_*.jsonl")).read_text().splitlines()]
    return {r["doc"]["task_id"]: [x for rs in r["resps"] for x in rs] for r in rows if r["filter"] == "plain"}


def test_each_repeat_is_an_independent_reproducible_sample(
    server: str, tiny_lm_dir: Path, tmp_path: Path
) -> None:
    first = _run(server, tiny_lm_dir, tmp_path / "a", {})
    assert all(len(rs) == REPEATS for rs in first.values())
    assert all(len(set(rs)) > 1 for rs in first.values()), first
    again = _run(server, tiny_lm_dir, tmp_path / "b", {})
    assert again == first  # seeds base + i: the same samples on every run


def test_lm_evals_fixed_seed_alone_returns_copies_of_one_sample(
    server: str, tiny_lm_dir: Path, tmp_path: Path
) -> None:
    fixed = _run(server, tiny_lm_dir, tmp_path, {"seed_per_repeat": "false"})
    assert all(len(set(rs)) == 1 for rs in fixed.values()), fixed
