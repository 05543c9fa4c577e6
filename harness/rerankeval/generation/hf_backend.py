"""Generation with Hugging Face transformers: batched, left-padded sampling with ``num_return_sequences``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rerankeval.generation.base import (
    Completions,
    GeneratorBase,
    Prompt,
    Seed,
    cut_at_stop,
    prompt_seeds,
    render_prompt_ids,
)
from rerankeval.generation.engines import hf_model

log = logging.getLogger(__name__)


class HFGenerator(GeneratorBase):
    """Samples with ``model.generate`` (transformers).

    Prompts are grouped so that one forward pass holds at most ``batch_size`` sequences
    (prompts x samples); with ``n`` above ``batch_size`` a prompt's samples are drawn in
    several calls. With a seed, torch's generator is seeded before each group with the base
    seed of the group's first prompt (draws then depend on ``batch_size`` too); the samples
    of one prompt are independent draws either way.

    Args:
        model: Folder, hub id, or ``smollm2``.
        spec: The canonical spec string.
        batch_size: Most sequences per ``generate`` call (default 16 on CPU, 64 on CUDA).
        **load_kw: Extra ``from_pretrained`` arguments.
    """

    def __init__(self, model: str, spec: str = "", batch_size: int | None = None, **load_kw: Any) -> None:
        self.model = model
        self.spec = spec or f"hf:{model}"
        self.batch_size = batch_size
        self.load_kw = load_kw

    def _loaded(self) -> tuple[Any, Any]:
        return hf_model(self.model, "causal", **self.load_kw)

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
        import torch

        net, tok = self._loaded()
        batch = self.batch_size or (64 if net.device.type == "cuda" else 16)
        seeds = prompt_seeds(seed, len(prompts), n)
        ids = [render_prompt_ids(tok, p, self.spec) for p in prompts]
        per_call = max(1, batch // n)
        texts: list[list[str]] = [[] for _ in prompts]
        used: list[int] = [0] * len(prompts)
        for start in range(0, len(prompts), per_call):
            group = list(range(start, min(start + per_call, len(prompts))))
            if seeds[start] is not None:
                torch.manual_seed(seeds[start])
            left = n
            while left > 0:
                k = min(left, batch)
                drawn = self._sample([ids[i] for i in group], k, temperature, top_p, max_tokens, stop)
                for i, (text, count) in zip(group, drawn, strict=True):
                    texts[i].extend(text)
                    used[i] += count
                left -= k
        return [Completions(tuple(texts[i]), len(ids[i]), used[i]) for i in range(len(prompts))]

    def _sample(
        self,
        ids: list[list[int]],
        k: int,
        temperature: float,
        top_p: float,
        max_tokens: int,
        stop: Sequence[str] | None,
    ) -> list[tuple[list[str], int]]:
        """Draws ``k`` samples for each prompt in ``ids``; returns (texts, generated tokens) per prompt."""
        import torch

        net, tok = self._loaded()
        pad = tok.pad_token_id
        width = max(len(x) for x in ids)
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids], device=net.device)
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids], device=net.device)
        sampling = temperature > 0
        draws = k if sampling else 1  # greedy decoding: one draw, repeated k times
        kwargs: dict[str, Any] = {
            "do_sample": sampling,
            "max_new_tokens": max_tokens,
            "num_return_sequences": draws,
            "pad_token_id": pad,
        }
        if sampling:
            kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if stop:
            kwargs.update(stop_strings=list(stop), tokenizer=tok)
        with torch.inference_mode():
            out = net.generate(input_ids=input_ids, attention_mask=mask, **kwargs)
        gen = out[:, width:].tolist()
        ends = _eos_ids(net, tok) | {pad}
        result: list[tuple[list[str], int]] = []
        for p in range(len(ids)):
            texts, count = [], 0
            for row in gen[p * draws : (p + 1) * draws]:
                end = next((j for j, t in enumerate(row) if t in ends), len(row))
                count += min(end + 1, len(row))
                texts.append(cut_at_stop(tok.decode(row[:end], skip_special_tokens=True), stop))
            result.append((texts * (k // draws), count))
        return result


def _eos_ids(net: Any, tok: Any) -> set[int]:
    ids: set[int] = set()
    cfg = getattr(net.generation_config, "eos_token_id", None)
    for v in (cfg if isinstance(cfg, list) else [cfg]) + [tok.eos_token_id]:
        if isinstance(v, int):
            ids.add(v)
    return ids
