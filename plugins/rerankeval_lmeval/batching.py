"""Whether lm-eval will hand the model the task's repeats one request at a time.

A ``*_rm`` task asks for ``repeats`` samples of every prompt (100 by default). lm-eval 0.4.13 turns
them into ``repeats`` copies of one request and passes its model a list of all requests; what the
model does with the list depends on its batch size:

* ``vllm`` with ``--batch_size auto`` calls ``LLM.generate`` once over every request and vLLM
  schedules them itself (with prefix caching, the N copies of a prompt share its KV cache); with
  the CLI's default ``--batch_size 1`` it calls ``LLM.generate`` once per request: N x problems
  sequential generations, several times slower (4.8x for 40 samples on a CPU).
* ``hf`` pads ``batch_size`` requests into one ``generate`` call (1 by default).
* ``local-completions`` / ``local-chat-completions`` send ``num_concurrent`` requests at a time
  (1 by default), each carrying ``batch_size`` prompts (``local-completions`` only).

lm-eval does not send one request with ``n`` samples: its vLLM backend reads only
``outputs[0]`` of each result, so ``n`` in the generation kwargs would generate N and drop N-1.

lm-eval gives a task no handle on its model, but it does hand ``build_all_requests`` the model's
bound ``apply_chat_template`` method when ``--apply_chat_template`` is on, and its ``evaluate``
holds the model in its ``lm`` argument. :func:`find_model` takes the model from either;
:func:`serial_advice` says what to change when the model will see requests one at a time.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["find_model", "serial_advice"]


def _unwrap(lm: Any) -> Any:
    """The model inside lm-eval's ``CachingLM`` (``--use_cache``)."""
    inner = vars(lm).get("lm") if hasattr(lm, "__dict__") else None
    return inner if type(lm).__name__ == "CachingLM" and inner is not None else lm


def find_model(chat_template: Callable[..., Any] | None = None) -> Any | None:
    """The lm-eval model running the current evaluation, or None when it cannot be found.

    Args:
        chat_template: What lm-eval passed to ``build_all_requests`` (the model's bound
            ``apply_chat_template`` with ``--apply_chat_template``, else None).
    """
    owner = getattr(chat_template, "__self__", None)
    if owner is not None:
        return _unwrap(owner)
    frame = inspect.currentframe()
    try:
        while frame is not None:
            code = frame.f_code
            if code.co_name == "evaluate" and frame.f_globals.get("__name__") == "lm_eval.evaluator":
                lm = frame.f_locals.get("lm")
                return _unwrap(lm) if lm is not None else None
            frame = frame.f_back
        return None
    finally:
        del frame


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None  # "auto", "auto:4", None


def serial_advice(lm: Any, repeats: int) -> str | None:
    """What to change when ``lm`` will generate the ``repeats`` samples of a prompt one request at a
    time (or, for vLLM, in fixed chunks), else None.

    Args:
        lm: An lm-eval model (``lm_eval.api.model.LM``).
        repeats: The task's samples per prompt.
    """
    if lm is None or repeats <= 1:
        return None
    name = type(lm).__name__
    if hasattr(lm, "_concurrent") and hasattr(lm, "_batch_size"):  # lm-eval's TemplateAPI backends
        if int(lm._concurrent) <= 1 and int(lm._batch_size) <= 1:
            return (
                f"{name} sends one request at a time (num_concurrent=1): the {repeats} repeats of every "
                "prompt are generated one after another. Add num_concurrent=K (e.g. 16) to --model_args"
            )
        return None
    size = _as_int(getattr(lm, "batch_size", None))
    if size is None:
        return None
    if size <= 1:
        fix = (
            "Pass --batch_size auto"
            if name == "VLLM"
            else "Pass --batch_size auto, or a fixed --batch_size that fits memory (e.g. 16: auto's probe "
            "can be killed for memory with a large vocabulary on a CPU)"
        )
        return (
            f"{name} runs with batch size 1: lm-eval hands it one request at a time, so the {repeats} "
            f"repeats of every prompt are generated one after another (several times slower). {fix}"
        )
    if name == "VLLM":
        return (
            f"vllm runs with --batch_size {size}: lm-eval calls LLM.generate on {size} requests at a "
            "time and vLLM cannot schedule beyond them. Pass --batch_size auto to hand it every request"
        )
    return None
