"""Backends that call models: vLLM offline engine, OpenAI-compatible servers, HF transformers.

Every backend implements :class:`Generator` (``generate(prompts, n, temperature, top_p,
max_tokens, stop, seed) -> list[list[str]]``); :func:`load_generator` builds one from a spec
string (see :mod:`rerankeval.generation.spec`). Engines and models are shared through
:mod:`rerankeval.generation.engines`. Nothing heavy is imported until a model is used.
"""

from __future__ import annotations

from typing import Any

from rerankeval.generation.base import Completions, Generator, Prompt
from rerankeval.generation.spec import BackendSpec, parse_backend_spec

__all__ = ["BackendSpec", "Completions", "Generator", "Prompt", "load_generator", "parse_backend_spec"]


def load_generator(spec: str | BackendSpec, **kw: Any) -> Generator:
    """Builds the generator a spec names (models load lazily, at the first call).

    Args:
        spec: A spec string or a parsed :class:`BackendSpec`.
        **kw: Backend options that override the spec's ``?k=v`` options (engine arguments for
            ``vllm``; ``batch_size`` or ``from_pretrained`` arguments for ``hf``; ``concurrency``,
            ``max_n``, ``timeout_s``, ``api_key`` for ``openai``).

    Raises:
        InputError: The spec cannot be parsed, or names a model path that does not exist.
        MissingDependencyError: The backend's package is not installed.
    """
    parsed = parse_backend_spec(spec) if isinstance(spec, str) else spec
    options = {**parsed.engine_kwargs, **kw}
    if parsed.kind in ("vllm", "hf"):
        from rerankeval.generation import embedded
        from rerankeval.generation.engines import require_backend, resolve_model

        require_backend(parsed.kind)
        # Fail now, not at the first batch: a missing path, or an embedded model's missing packages
        # (an embedded model is assembled and converted at the first call, not here).
        if embedded.is_embedded(parsed.model):
            embedded.part_files(embedded.get(parsed.model))
        else:
            resolve_model(parsed.model, str(parsed))
    if parsed.kind == "vllm":
        from rerankeval.generation.vllm_backend import VLLMGenerator

        return VLLMGenerator(parsed.model, spec=str(parsed), **options)
    if parsed.kind == "hf":
        from rerankeval.generation.hf_backend import HFGenerator

        return HFGenerator(parsed.model, spec=str(parsed), **options)
    from rerankeval.generation.openai_backend import OpenAIGenerator

    assert parsed.base_url is not None
    return OpenAIGenerator(parsed.base_url, parsed.model, spec=str(parsed), **options)
