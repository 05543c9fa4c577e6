"""Generation through an OpenAI-compatible HTTP server (vLLM's, TGI, llama.cpp, OpenAI itself)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rerankeval.errors import InputError, MissingDependencyError, ServerError
from rerankeval.generation.base import Completions, GeneratorBase, Prompt, Seed, prompt_seeds

log = logging.getLogger(__name__)


class OpenAIGenerator(GeneratorBase):
    """Samples from an OpenAI-compatible server.

    Plain-text prompts go to ``/completions``; chat prompts to ``/chat/completions`` (the server
    applies the chat template). The ``n`` samples of a prompt are requested with ``n=`` and
    topped up with further requests if the server returns fewer. With a seed, the request for
    samples ``a..`` of a prompt carries ``base + a`` (see
    :func:`~rerankeval.generation.base.prompt_seeds`; servers such as vLLM give the ``j``-th
    choice ``seed + j``), so no two requests or choices repeat one draw; without a seed, none
    is sent.

    Args:
        base_url: Server address, e.g. ``http://127.0.0.1:8000/v1``.
        model: The served model name.
        spec: The canonical spec string.
        api_key: Defaults to ``$OPENAI_API_KEY`` or ``"EMPTY"``.
        concurrency: Prompts in flight at once.
        max_n: Most samples asked for in one request.
        timeout_s: Per-request timeout.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        spec: str = "",
        api_key: str | None = None,
        concurrency: int = 8,
        max_n: int = 128,
        timeout_s: float = 600.0,
    ) -> None:
        try:
            import openai
        except ImportError:
            raise MissingDependencyError(
                "backend 'openai' needs the openai package: pip install openai (missing: openai)"
            ) from None
        self.base_url = base_url
        self.model = model
        self.spec = spec or f"openai:{base_url}#{model}"
        self.concurrency = max(1, concurrency)
        self.max_n = max(1, max_n)
        key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.client = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout_s)

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
        common = {"model": self.model, "temperature": temperature, "top_p": top_p, "max_tokens": max_tokens}
        if stop:
            common["stop"] = list(stop)

        seeds = prompt_seeds(seed, len(prompts), n)

        def one(i: int) -> Completions:
            return self._sample(prompts[i], n, common, seeds[i])

        with ThreadPoolExecutor(max_workers=min(self.concurrency, max(1, len(prompts)))) as pool:
            return list(pool.map(one, range(len(prompts))))

    def _sample(self, prompt: Prompt, n: int, common: dict[str, Any], seed: int | None) -> Completions:
        texts: list[str] = []
        prompt_tokens: int | None = None
        used: int | None = 0
        while len(texts) < n:
            want = min(n - len(texts), self.max_n)
            kw = dict(common, n=want)
            if seed is not None:
                kw["seed"] = seed + len(texts)
            choices, usage = self._request(prompt, kw)
            if not choices:
                raise ServerError(
                    f"{self.spec}: the server returned no choices for a request with n={want}. "
                    "Check the server's logs"
                )
            texts.extend(choices[:want])
            if usage is not None:
                prompt_tokens = usage.prompt_tokens
                used = None if used is None else used + (usage.completion_tokens or 0)
            else:
                used = None
        return Completions(tuple(texts), prompt_tokens, used)

    def _request(self, prompt: Prompt, kw: dict[str, Any]) -> tuple[list[str], Any]:
        import openai

        try:
            if isinstance(prompt, str):
                resp = self.client.completions.create(prompt=prompt, **kw)
                choices = sorted(resp.choices, key=lambda c: c.index)
                return [c.text or "" for c in choices], resp.usage
            messages: list[Any] = [dict(m) for m in prompt]
            if messages[-1]["role"] == "assistant":  # a pre-filled answer the model continues (vLLM's server)
                kw = {
                    **kw,
                    "extra_body": {
                        **kw.get("extra_body", {}),
                        "continue_final_message": True,
                        "add_generation_prompt": False,
                    },
                }
            resp = self.client.chat.completions.create(messages=messages, **kw)
            choices = sorted(resp.choices, key=lambda c: c.index)
            return [c.message.content or "" for c in choices], resp.usage
        except openai.APIConnectionError as e:
            raise ServerError(
                f"cannot reach the server of '{self.spec}' ({e}). "
                "Start it, or fix the URL in openai:<base_url>#<model>"
            ) from None
        except openai.NotFoundError as e:
            raise InputError.at(
                self.spec,
                None,
                f"the server does not serve model '{self.model}' ({e.message})",
                "Use the name listed at <base_url>/models",
            ) from None
        except openai.APIStatusError as e:
            raise ServerError(
                f"the server of '{self.spec}' refused the request: {e.status_code} {e.message}"
            ) from None
