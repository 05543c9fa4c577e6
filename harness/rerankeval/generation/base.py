"""The one interface every generation backend implements, and the helpers they share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from rerankeval.errors import InputError

#: A seed for a whole call (prompt ``i`` gets ``seed + i * n``), or one base seed per prompt.
Seed = int | Sequence[int] | None

#: A prompt is plain text (sent as a completion) or a list of chat messages ``{"role", "content"}``
#: (rendered with the model's chat template, or sent to a chat endpoint).
Prompt = str | Sequence[Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Completions:
    """The samples drawn for one prompt and what they cost.

    Attributes:
        texts: The ``n`` sampled continuations, in sampling order.
        prompt_tokens: Tokens in the (rendered) prompt; None when the backend does not say.
        completion_tokens: Tokens generated over all ``n`` samples; None when unknown.
    """

    texts: tuple[str, ...]
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@runtime_checkable
class Generator(Protocol):
    """Samples ``n`` continuations per prompt.

    ``seed`` makes a call reproducible where the backend allows it; the ``n`` samples of a
    prompt are always independent draws (never ``n`` copies of one seeded draw). ``seed`` is one
    int for the call (prompt ``i`` gets base seed ``seed + i * n``) or one base seed per prompt
    (so a caller that splits work over several calls can keep each prompt's seed fixed).
    Backends that seed per sample give sample ``j`` of a prompt seed ``base + j``.
    """

    spec: str

    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int = 1,
        temperature: float = 0.8,
        top_p: float = 0.95,
        max_tokens: int = 512,
        stop: Sequence[str] | None = None,
        seed: Seed = None,
    ) -> list[list[str]]:
        """Returns ``n`` sampled texts per prompt, in prompt order."""
        ...

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
        """Like :meth:`generate`, with token counts per prompt."""
        ...


def checked_generate(
    generator: Generator, prompts: Sequence[Prompt], n: int, *, what: str, kept: int, **sampling: Any
) -> list[Completions]:
    """``generator.generate_detailed`` for a resumable run: a backend that fails is a harness fault.

    A backend that raises (other than the project's own errors and Ctrl-C) or returns anything but
    one :class:`Completions` of ``n`` texts per prompt stops the run with one line naming the
    backend, the fault and the fix; nothing of the failed call is written.

    Args:
        generator: The backend.
        prompts: One batch of prompts.
        n: Samples per prompt.
        what: What is generated, for the message (e.g. ``"test generator"``).
        kept: Problems already finished and on disk (named in the message).
        **sampling: ``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``seed``.

    Raises:
        HarnessFaultError: The backend raised or returned malformed output.
    """
    from rerankeval.errors import HarnessFaultError, RerankEvalError

    fix = f"Fix the model backend, then re-run with --resume: the {kept} problems finished are kept"
    try:
        out = generator.generate_detailed(prompts, n=n, **sampling)
    except RerankEvalError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of the backend is reported as such
        raise HarnessFaultError(f"{what} {generator.spec} failed: {type(e).__name__}: {e}. {fix}") from e
    ok = (
        isinstance(out, list)
        and len(out) == len(prompts)
        and all(
            isinstance(c, Completions) and len(c.texts) == n and all(isinstance(t, str) for t in c.texts)
            for c in out
        )
    )
    if not ok:
        got = len(out) if isinstance(out, list) else type(out).__name__
        raise HarnessFaultError(
            f"{what} {generator.spec} returned malformed output ({got} results for "
            f"{len(prompts)} prompts, or not {n} texts each). {fix}"
        )
    return out


class GeneratorBase:
    """Implements :meth:`generate` on top of :meth:`generate_detailed` and checks the arguments."""

    spec: str = ""

    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int = 1,
        temperature: float = 0.8,
        top_p: float = 0.95,
        max_tokens: int = 512,
        stop: Sequence[str] | None = None,
        seed: Seed = None,
    ) -> list[list[str]]:
        out = self.generate_detailed(
            prompts, n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens, stop=stop, seed=seed
        )
        return [list(c.texts) for c in out]

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
        raise NotImplementedError

    def _check(
        self, prompts: Sequence[Prompt], n: int, temperature: float, top_p: float, max_tokens: int
    ) -> None:
        if isinstance(prompts, str):
            raise TypeError("prompts must be a list of prompts, not one string")
        if n < 1 or max_tokens < 1:
            raise InputError.at(
                self.spec,
                None,
                f"n={n} and max_tokens={max_tokens} must be at least 1",
                "Pass positive values",
            )
        if temperature < 0 or not 0 < top_p <= 1:
            raise InputError.at(
                self.spec,
                None,
                f"temperature={temperature}, top_p={top_p} out of range",
                "Use temperature >= 0 and 0 < top_p <= 1",
            )
        for p in prompts:
            if not isinstance(p, str):
                check_messages(p, self.spec)


def prompt_seeds(seed: Seed, count: int, n: int) -> list[int | None]:
    """Base seed of each of ``count`` prompts (see :class:`Generator`).

    Raises:
        ValueError: A seed list whose length is not ``count``.
    """
    if seed is None:
        return [None] * count
    if isinstance(seed, int):
        return [seed + i * n for i in range(count)]
    seeds = [int(s) for s in seed]
    if len(seeds) != count:
        raise ValueError(f"{len(seeds)} seeds for {count} prompts")
    return list(seeds)


def check_messages(messages: Sequence[Mapping[str, str]], where: str) -> None:
    """Validates a chat message list.

    Raises:
        InputError: Not a non-empty list of ``{"role", "content"}`` mappings.
    """
    if not messages or not all(isinstance(m, Mapping) and {"role", "content"} <= set(m) for m in messages):
        raise InputError.at(
            where,
            None,
            "a chat prompt must be a non-empty list of {'role', 'content'} messages",
            "Pass plain text, or messages such as [{'role': 'user', 'content': '...'}]",
        )


def render_prompt_ids(tokenizer: Any, prompt: Prompt, where: str) -> list[int]:
    """Token ids of a prompt: plain text as the tokenizer encodes it, messages through the chat template
    (a last ``assistant`` message is a pre-filled answer that the model continues).

    Raises:
        InputError: Chat messages for a tokenizer without a chat template.
    """
    if isinstance(prompt, str):
        return list(tokenizer(prompt)["input_ids"])
    if not getattr(tokenizer, "chat_template", None):
        raise InputError.at(
            where,
            None,
            "the model has no chat template but the prompt is a list of chat messages",
            "Use an instruct/chat model, or a plain-text prompt (e.g. --style assert)",
        )
    messages = [dict(m) for m in prompt]
    if messages[-1]["role"] == "assistant":  # a pre-filled answer: the model continues it
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=False, continue_final_message=True
        )
    else:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """Cuts ``text`` at the first occurrence of any stop string (the stop string is dropped)."""
    if not stop:
        return text
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return text if cut < 0 else text[:cut]
