"""The *_rm tasks warn once, in lm-eval's log, when lm-eval will hand the model the repeats one
request at a time; lm-eval's model found both through --apply_chat_template and through its evaluator."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lmeval_tasks import TASKS_DIR, N, ScriptedLM, write_dataset, write_tests

from rerankeval_lmeval.batching import find_model, serial_advice

LOGGER = "lm_eval.tasks.rerankeval"


class SizedLM(ScriptedLM):
    """A scripted model with lm-eval's ``batch_size`` attribute, named like lm-eval's vLLM backend."""

    def __init__(self, batch_size: Any) -> None:
        super().__init__()
        self.batch_size = batch_size

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        return "".join(f"<{m['role']}>{m['content']}" for m in chat_history)


class VLLM(SizedLM):
    pass


class FakeAPI:
    """The two attributes of lm-eval's TemplateAPI backends that decide how requests go out."""

    def __init__(self, concurrent: int, batch: int) -> None:
        self._concurrent = concurrent
        self._batch_size = batch


class Stop(Exception):
    pass


class StopLM(SizedLM):
    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        raise Stop


@pytest.fixture()
def metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    for var in ("RERANKEVAL_TESTS", "RERANKEVAL_TEST_GENERATOR", "RERANKEVAL_REPEATS"):
        monkeypatch.delenv(var, raising=False)
    return {
        "humaneval_path": str(write_dataset(tmp_path / "mini.jsonl.gz")),
        "tests": str(write_tests(tmp_path / "tests.jsonl")),
        "repeats": N,
        "pretrained": "some/model",
    }


@pytest.fixture()
def warnings(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Captures the batching logger (lm-eval's CLI stops its loggers propagating to the root)."""
    logger = logging.getLogger(LOGGER)
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    try:
        yield
    finally:
        logger.removeHandler(caplog.handler)


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Each record once (it reaches caplog's handler on the logger and, when it propagates, on the root)."""
    return list({id(r): r.getMessage() for r in caplog.records if r.name == LOGGER}.values())


def _load(metadata: dict[str, Any]) -> dict[str, Any]:
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)
    return tm.load(["humaneval_plus_rm"])


def _task(metadata: dict[str, Any]) -> Any:
    return _load(metadata)["tasks"]["humaneval_plus_rm"]


@pytest.mark.parametrize(
    ("lm", "warned"),
    [
        (SizedLM(1), "batch size 1"),
        (SizedLM("1"), "batch size 1"),
        (VLLM(8), "--batch_size auto"),
        (SizedLM(8), None),
        (SizedLM("auto"), None),
        (VLLM("auto"), None),
        (FakeAPI(1, 1), "num_concurrent"),
        (FakeAPI(16, 1), None),
        (FakeAPI(1, 8), None),
        (object(), None),
        (None, None),
    ],
)
def test_serial_advice_names_the_fix(lm: Any, warned: str | None) -> None:
    advice = serial_advice(lm, repeats=8)
    assert advice is None if warned is None else warned in (advice or "")
    assert serial_advice(lm, repeats=1) is None  # one sample per prompt: nothing to batch


def test_find_model_unwraps_lm_evals_cache(tmp_path: Path) -> None:
    from lm_eval.api.model import CachingLM

    lm = SizedLM(1)
    assert find_model(lm.apply_chat_template) is lm
    assert find_model(None) is None  # not inside lm-eval's evaluate
    cached = CachingLM(lm, str(tmp_path / "cache.db"))  # --use_cache
    assert find_model(cached.apply_chat_template) is lm


def test_warns_once_with_apply_chat_template(
    metadata: dict[str, Any], caplog: pytest.LogCaptureFixture, warnings: None
) -> None:
    task = _task(metadata)
    lm = SizedLM(1)
    for _ in range(2):
        task.build_all_requests(limit=1, apply_chat_template=True, chat_template=lm.apply_chat_template)
    got = _messages(caplog)
    assert len(got) == 1 and "humaneval_plus_rm" in got[0] and "--batch_size auto" in got[0]
    assert len(task.instances) == 1 and task.instances[0].repeats == N


def test_no_warning_at_full_batch(
    metadata: dict[str, Any], caplog: pytest.LogCaptureFixture, warnings: None
) -> None:
    lm = VLLM("auto")
    task = _task(metadata)
    task.build_all_requests(limit=1, apply_chat_template=True, chat_template=lm.apply_chat_template)
    assert _messages(caplog) == []


def test_finds_the_model_in_lm_evals_evaluator(
    metadata: dict[str, Any], caplog: pytest.LogCaptureFixture, warnings: None
) -> None:
    """Without --apply_chat_template the task finds the model in lm-eval's ``evaluate``."""
    from lm_eval.evaluator import evaluate

    with pytest.raises(Stop):  # the warning comes before any generation
        evaluate(lm=StopLM(1), task_dict=_load(metadata), limit=1, confirm_run_unsafe_code=True)
    assert any("batch size 1" in m for m in _messages(caplog))
