"""Generation with the vLLM offline engine: one ``LLM.generate`` call per batch of prompts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rerankeval.generation.base import (
    Completions,
    GeneratorBase,
    Prompt,
    Seed,
    prompt_seeds,
    render_prompt_ids,
)
from rerankeval.generation.engines import vllm_engine

log = logging.getLogger(__name__)


class VLLMGenerator(GeneratorBase):
    """Samples with ``vllm.LLM`` and ``SamplingParams(n=...)``.

    Chat prompts are rendered with the model's chat template and sent as token ids (so the
    template's own BOS token is not doubled). Each prompt's request carries its base seed
    (see :func:`~rerankeval.generation.base.prompt_seeds`); vLLM gives its ``j``-th sample
    seed ``base + j``, so no two samples share a seed and batching does not change the draws.

    Args:
        model: Folder, hub id, or ``smollm2``.
        spec: The canonical spec string (recorded with results).
        **engine_kw: ``vllm.LLM`` options (see :func:`~rerankeval.generation.engines.vllm_engine`).
    """

    def __init__(self, model: str, spec: str = "", **engine_kw: Any) -> None:
        self.model = model
        self.spec = spec or f"vllm:{model}"
        self.engine_kw = engine_kw
        self._llm: Any = None

    @property
    def llm(self) -> Any:
        if self._llm is None:
            self._llm = vllm_engine(self.model, **self.engine_kw)
        return self._llm

    def generate_detailed(
        self,
        prompts: Sequence[Prompt],
        n: int = 1,
        temperature: float = 0.8,
        top_p: float = 0.95,
        max_tokens: int = 512,
        stop: Sequence[str] | None = None,
        seed: Seed = None,
    ) -> list[Completions]:
        self._check(prompts, n, temperature, top_p, max_tokens)
        if not prompts:
            return []
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        tok = self.llm.get_tokenizer()
        inputs = [TokensPrompt(prompt_token_ids=render_prompt_ids(tok, p, self.spec)) for p in prompts]
        params = [
            SamplingParams(
                n=n,
                temperature=temperature,
                top_p=top_p,
                max_tokens=max_tokens,
                stop=list(stop) if stop else None,
                seed=s,
            )
            for s in prompt_seeds(seed, len(prompts), n)
        ]
        outs = self.llm.generate(inputs, params, use_tqdm=False)
        result = []
        for out in outs:
            samples = sorted(out.outputs, key=lambda o: o.index)
            result.append(
                Completions(
                    texts=tuple(o.text for o in samples),
                    prompt_tokens=len(out.prompt_token_ids or ()),
                    completion_tokens=sum(len(o.token_ids) for o in samples),
                )
            )
        return result
