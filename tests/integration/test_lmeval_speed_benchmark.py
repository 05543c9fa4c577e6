"""The pure parts of benchmarks/lmeval_speed.py: its bare paths get exactly the prompts and
generation kwargs lm-eval's evaluator hands a model for ``humaneval_plus_rm`` with
``--apply_chat_template``, and its table and verdicts read right. (The timed runs load real models
and are run by hand; see the script's docstring.)"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from lmeval_tasks import ROOT, TASKS_DIR, N, ScriptedLM, write_dataset, write_tests


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lmeval_speed", ROOT / "benchmarks" / "lmeval_speed.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["lmeval_speed"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


class _Stop(Exception):
    pass


class ChatLM(ScriptedLM):
    """Records what lm-eval's evaluator sends, rendering chats with lm-eval's own hf method."""

    def __init__(self, tokenizer: Any) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.chat_template_args: dict[str, Any] = {}
        self.batch_size = "auto"
        self.seen: list[tuple[str, dict[str, Any]]] = []

    @property
    def tokenizer_name(self) -> str:
        return "tiny"

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        from lm_eval.models.huggingface import HFLM

        return str(HFLM.apply_chat_template(self, chat_history, add_generation_prompt))  # type: ignore[arg-type]

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        self.seen = [(r.args[0], dict(r.args[1])) for r in requests]
        raise _Stop


def test_bare_prompts_are_the_prompts_lm_eval_sends(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval.evaluator import evaluate
    from tiny_models import _tokenizer
    from transformers import AutoTokenizer

    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    _tokenizer(tmp_path / "tok")
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    metadata = {
        "humaneval_path": str(write_dataset(tmp_path / "mini.jsonl.gz")),
        "tests": str(write_tests(tmp_path / "tests.jsonl")),
        "repeats": N,
    }
    requests = bench.task_requests(bench.load_task(metadata), tok, 2)
    assert [n for _, _, n in requests] == [N, N]
    prompt, kwargs, _ = requests[0]
    # the answer prefix opens a code block and the model continues it (no end-of-turn after it)
    assert prompt.endswith("```python\n") and "<|im_start|>assistant\n" in prompt
    assert kwargs["temperature"] == 0.8 and kwargs["top_p"] == 0.95 and "\n```\n" in kwargs["until"]

    lm = ChatLM(tok)
    with pytest.raises(_Stop):
        evaluate(
            lm=lm, task_dict=_load(metadata), limit=2, apply_chat_template=True, confirm_run_unsafe_code=True
        )
    assert sorted(c for c, _ in lm.seen) == sorted(p for p, _, n in requests for _ in range(n))
    assert all(kw == kwargs for c, kw in lm.seen if c == prompt)
    bench.check_same_prompts([p for p, _, _ in requests], N, [c for c, _ in lm.seen], "test")
    with pytest.raises(SystemExit, match="other prompts"):
        bench.check_same_prompts([p for p, _, _ in requests], N, [c for c, _ in lm.seen][1:], "test")


def _load(metadata: dict[str, Any]) -> dict[str, Any]:
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata).load(
        ["humaneval_plus_rm"]
    )


def test_table_pairs_each_lm_eval_row_with_its_bare_baseline(bench: ModuleType) -> None:
    Row = bench.Row
    rows = [
        Row("vllm", "lm_eval --model vllm --batch_size auto", 10.0, 1000, 80, 2.5, 20.0, 40.0),
        Row("vllm", "bare LLM.generate (n=8)", 8.0, 1000, 80),
        Row("vllm", "bare LLM.generate (8 copies, n=1)", 9.0, 1000, 80),
        Row("hf", "lm_eval --model hf --batch_size 8", 10.0, 500, 80, 1.0, 5.0, 20.0),
        Row("hf", "bare generate (8 per call)", 10.0, 550, 80),
    ]
    out = bench.table(rows).splitlines()
    assert len(out) == 2 + len(rows) and all(len(line) == len(out[0]) for line in out)
    vllm = next(line for line in out if "lm_eval --model vllm" in line)
    assert "| 100.0 " in vllm and "| 1.25 " in vllm and "| 2.5 " in vllm  # tok/s, bare/lm-eval, filters
    block = bench.readme_block(rows, "qwen", 10, 8, 384, "python benchmarks/lmeval_speed.py").splitlines()
    assert len(block) == 4 + len(rows) and "10 problems x 8 repeats, max 384 tokens" in block[0]
    assert block[4] == "| `lm_eval --model vllm --batch_size auto` | 10.0 | 100.0 | 1.25 | 2.5 |"
    assert block[5] == "| `bare LLM.generate (n=8)` | 8.0 | 125.0 |  |  |"
    verdicts = bench.verdicts(rows)
    assert len(verdicts) == 2
    assert "is 25% slower" in verdicts[0] and "NOT within the 15% goal" in verdicts[0]
    assert "is 10% slower" in verdicts[1] and "(within the 15% goal)" in verdicts[1]
    faster = [
        Row("hf", "lm_eval --model hf --batch_size 4", 10.0, 600, 16),
        Row("hf", "bare generate", 10.0, 500, 16),
    ]
    assert "lm-eval is 17% faster per token (within the 15% goal)" in bench.verdicts(faster)[0]


def test_patched_restores_methods_and_static_methods(bench: ModuleType) -> None:
    class C:
        def f(self) -> int:
            return 1

        @staticmethod
        def g(x: int) -> int:
            return x

    acc = bench.Timers()
    with (
        bench.patched(C, "f", lambda orig: bench._timed(acc, "generate", orig)),
        bench.patched(C, "g", lambda orig: lambda x: orig(x) + 1),
    ):
        assert C().f() == 1 and C.g(1) == 2 and C().g(1) == 2
    assert acc.generate > 0
    assert C().f() == 1 and C.g(1) == 1 and isinstance(vars(C)["g"], staticmethod)
