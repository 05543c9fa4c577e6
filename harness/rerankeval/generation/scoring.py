"""Execution-free reward scoring: one interface for scalar reward heads and generative verifiers.

Two kinds of model, one :class:`Scorer` interface:

* **head** (``vllm:M``, ``hf:M``, ``openai:<url>#M``): a sequence-classification model with one
  output (AceCodeRM, CodeScaler, Skywork-style reward models); the score is the raw logit at
  the last token. Its probability reading (for accuracy and ECE) is ``sigmoid(score)``.
* **verifier** (``verifier:vllm:M``, ``verifier:hf:M``, ``verifier:openai:<url>#M``): a causal LM
  asked a yes/no question (SWE-RM style); the score is ``P(YES) / (P(YES) + P(NO))`` of the next
  token, which is already a probability. The label words are configurable and must each be one
  token of the model's vocabulary (checked before any scoring).
* ``oracle-labels``: returns the known labels (1.0 / 0.0) — the sanity bound of every metric.

Backend options follow the spec after ``?`` (see :mod:`rerankeval.generation.spec`); the scorer
options ``max_length``, ``batch_size``, ``yes``, ``no`` and ``chat_template`` may be given there
too, e.g. ``verifier:vllm:/m?yes=Yes&no=No&max_length=4096&dtype=float32``.

Every input is rendered from a :class:`TemplateSet` (chat messages with ``{field}`` slots) with
the model's chat template (plain concatenation when it has none), then cut to fit the context:
the long fields (problem, candidate, patch, trajectory) lose tokens from their middle, longest
first, and the count of truncated inputs is reported. Scores are cached (SQLite, keyed by the
scorer, the template and the fields), so a re-run scores nothing twice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from rerankeval.core.types import content_hash
from rerankeval.errors import InputError

log = logging.getLogger(__name__)

ScorerKind = Literal["head", "verifier", "oracle"]
ORACLE = "oracle-labels"
VERIFIER_PREFIX = "verifier:"
SCORER_OPTIONS = ("max_length", "batch_size", "yes", "no", "chat_template")
TRUNCATION_MARK = "\n...[truncated]...\n"


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """Chat messages with ``{field}`` slots.

    Attributes:
        messages: ``(role, text)`` pairs; ``text`` is filled with ``str.format_map`` (write
            literal braces as ``{{`` and ``}}``). Verifier templates may use ``{yes}``/``{no}``.
        add_generation_prompt: True for verifiers (the next token is the answer), False for
            heads (the score is read at the end of the last message).
    """

    messages: tuple[tuple[str, str], ...]
    add_generation_prompt: bool

    def render(self, fields: Mapping[str, str]) -> list[dict[str, str]]:
        """The chat messages with every slot filled.

        Raises:
            InputError: A slot has no value.
        """
        try:
            return [{"role": role, "content": text.format_map(fields)} for role, text in self.messages]
        except KeyError as e:
            raise InputError(
                f"prompt template needs field {e} but the input has only {sorted(fields)}. "
                "Pass that field or use another template"
            ) from None


@dataclass(frozen=True, slots=True)
class TemplateSet:
    """The prompt of one benchmark, for both kinds of scorer.

    Attributes:
        name: Recorded in runs and part of the cache key.
        head: Template for scalar reward heads.
        verifier: Template for generative verifiers.
        long_fields: Fields that may be shortened to fit the context, e.g. ``("problem", "candidate")``.
    """

    name: str
    head: PromptTemplate
    verifier: PromptTemplate
    long_fields: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        return content_hash(self.name, repr(self.head), repr(self.verifier), repr(self.long_fields))


CODE_TEMPLATE = TemplateSet(
    name="code",
    head=PromptTemplate((("user", "{problem}"), ("assistant", "{candidate}")), add_generation_prompt=False),
    verifier=PromptTemplate(
        (
            (
                "user",
                "Here is a programming problem and a candidate solution.\n\n"
                "## Problem\n{problem}\n\n"
                "## Candidate solution\n```python\n{candidate}\n```\n\n"
                "Is the candidate solution correct? "
                "Answer with exactly one word: {yes} or {no}.",
            ),
        ),
        add_generation_prompt=True,
    ),
    long_fields=("problem", "candidate"),
)


def verifier_prompt_from_file(path: str | Path, base: TemplateSet) -> TemplateSet:
    """``base`` with its verifier prompt read from a text file (the head template is kept).

    The file is the verifier's prompt with ``{field}`` slots: the fields ``base`` fills (e.g.
    ``{problem}``, ``{candidate}``; SWE-bench also ``{repo}``, ``{trajectory}``) and ``{yes}`` /
    ``{no}``, the label words; literal braces are written ``{{`` and ``}}``. Without headers the
    whole file is one user message; lines ``### system`` and ``### user`` start a message of that
    role. The model's answer follows the last message (the chat template's generation prompt).
    The file's text is part of the template's fingerprint, so cached scores never mix prompts.

    Raises:
        InputError: The file cannot be read, is empty, uses an unknown slot or a malformed brace,
            or lacks ``{candidate}``.
    """
    import string

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError.at(
            path, None, f"cannot read the prompt file ({e})", "Give a UTF-8 text file"
        ) from None
    messages: list[tuple[str, list[str]]] = []
    for line in text.splitlines(keepends=True):
        head = line.strip().lower()
        if head in ("### system", "### user"):
            messages.append((head[4:], []))
        elif messages:
            messages[-1][1].append(line)
        elif line.strip():
            messages.append(("user", [line]))
    msgs = tuple((role, "".join(lines).strip("\n")) for role, lines in messages if "".join(lines).strip())
    if not msgs or msgs[-1][0] != "user":
        raise InputError.at(
            path,
            None,
            "holds no prompt (or ends with a system message)",
            "Write the verifier's question as the last (user) message",
        )
    known = set(base.long_fields) | {"yes", "no", "repo"} | _slots(base.verifier)
    used: set[str] = set()
    for _, body in msgs:
        try:
            used |= {f for _, f, _, _ in string.Formatter().parse(body) if f is not None}
        except ValueError as e:
            raise InputError.at(
                path, None, f"malformed braces ({e})", "Write literal braces as {{ and }}"
            ) from None
    unknown = sorted(used - known)
    if unknown:
        raise InputError.at(
            path,
            None,
            f"unknown slot(s) {', '.join('{' + u + '}' for u in unknown)}",
            f"Use only {', '.join('{' + k + '}' for k in sorted(known))}; write literal "
            "braces as {{ and }}",
        )
    if "candidate" not in used:
        raise InputError.at(
            path,
            None,
            "never shows the candidate ({candidate} is missing)",
            "Put {candidate} where the program or patch goes",
        )
    tag = content_hash(text)[:12]
    return TemplateSet(
        name=f"{base.name}+prompt-{tag}",
        head=base.head,
        verifier=PromptTemplate(msgs, add_generation_prompt=True),
        long_fields=tuple(f for f in base.long_fields if f in used),
    )


def _slots(template: PromptTemplate) -> set[str]:
    import string

    return {f for _, body in template.messages for _, f, _, _ in string.Formatter().parse(body) if f}


@dataclass(frozen=True, slots=True)
class ScoreInput:
    """One thing to score: the template's fields, and the label for the ``oracle-labels`` scorer.

    Attributes:
        fields: ``(name, value)`` pairs filling the template, e.g. problem and candidate.
        label: Ground truth; read only by the oracle scorer (None elsewhere is fine).
    """

    fields: tuple[tuple[str, str], ...]
    label: bool | None = field(default=None, compare=False)

    @classmethod
    def of(cls, label: bool | None = None, **fields: str) -> ScoreInput:
        return cls(tuple(sorted(fields.items())), label)

    @property
    def mapping(self) -> dict[str, str]:
        return dict(self.fields)


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A score and how it was obtained.

    Attributes:
        score: Higher is better: a head's raw logit, a verifier's P(YES)/(P(YES)+P(NO)), or a label.
        prob: The score read as a probability of being correct.
        truncated: The input was shortened to fit the model's context.
        n_tokens: Tokens in the prompt as scored (0 for the oracle).
    """

    score: float
    prob: float
    truncated: bool = False
    n_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "prob": self.prob,
            "truncated": self.truncated,
            "n_tokens": self.n_tokens,
        }


@dataclass(frozen=True, slots=True)
class ScorerOptions:
    """Options every model scorer understands.

    Attributes:
        max_length: Longest prompt in tokens (default: the model's context length).
        batch_size: Inputs per forward pass or request.
        yes: Verifier label word for "correct" (one token).
        no: Verifier label word for "incorrect" (one token).
        chat_template: Use the model's chat template (None: when it has one).
    """

    max_length: int | None = None
    batch_size: int = 8
    yes: str = "YES"
    no: str = "NO"
    chat_template: bool | None = None


@runtime_checkable
class Scorer(Protocol):
    """Scores inputs rendered from a template; never mutates them.

    Attributes:
        spec: Canonical spec string (recorded in runs, part of the cache key).
        kind: ``head``, ``verifier`` or ``oracle``.
        fingerprint: Everything that determines a score besides the input (for the cache).
    """

    spec: str
    kind: ScorerKind
    fingerprint: str

    def score(
        self,
        inputs: Sequence[ScoreInput],
        template: TemplateSet,
        progress: Callable[[int], None] | None = None,
    ) -> list[ScoreResult]: ...


def sigmoid(x: float) -> float:
    """Numerically safe logistic function."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


class OracleLabelsScorer:
    """Returns the known labels as scores (1.0 correct, 0.0 wrong): reaches AUC 1 and oracle RM@k.

    It exists to check the metric pipeline end to end; it is named for what it reads.
    """

    spec = ORACLE
    kind: ScorerKind = "oracle"
    fingerprint = ORACLE

    def score(
        self,
        inputs: Sequence[ScoreInput],
        template: TemplateSet,
        progress: Callable[[int], None] | None = None,
    ) -> list[ScoreResult]:
        """One result per input from its ``label``.

        Raises:
            InputError: An input carries no label.
        """
        out = []
        for x in inputs:
            if x.label is None:
                raise InputError(
                    f"scorer '{ORACLE}' needs the known label of every candidate. "
                    "Give labels (e.g. a `resolved` field) or use a model scorer"
                )
            v = 1.0 if x.label else 0.0
            out.append(ScoreResult(v, v))
        if progress:
            progress(len(inputs))
        return out


def parse_scorer_spec(spec: str) -> tuple[str, Any, dict[str, Any]]:
    """Splits a scorer spec into kind, backend spec and scorer options.

    Returns:
        ``(kind, backend, options)``: kind ``head``/``verifier``/``oracle``; backend a
        :class:`~rerankeval.generation.spec.BackendSpec` with the scorer options removed (None for
        the oracle); options the :data:`SCORER_OPTIONS` found after ``?``.

    Raises:
        InputError: An unknown or malformed spec.
    """
    from rerankeval.generation.spec import BackendSpec, parse_backend_spec

    text = spec.strip()
    if text == ORACLE:
        return "oracle", None, {}
    kind = "verifier" if text.startswith(VERIFIER_PREFIX) else "head"
    rest = text[len(VERIFIER_PREFIX) :] if kind == "verifier" else text
    if rest.partition(":")[0] not in ("vllm", "hf", "openai"):
        raise InputError(
            f"unknown reward-model spec '{spec}'. Use vllm:<model> | hf:<model> | "
            "openai:<base_url>#<model> for a scalar head, the same after 'verifier:' for a "
            f"yes/no verifier, or '{ORACLE}'"
        )
    backend = parse_backend_spec(rest)
    opts = {k: v for k, v in backend.options if k in SCORER_OPTIONS}
    engine = tuple((k, v) for k, v in backend.options if k not in SCORER_OPTIONS)
    return kind, BackendSpec(backend.kind, backend.model, backend.base_url, engine), opts


def make_scorer(spec: str, **options: Any) -> Scorer:
    """Builds the scorer named by ``spec``; nothing is loaded until the first :meth:`Scorer.score`.

    Args:
        spec: ``[verifier:]vllm:<model>``, ``[verifier:]hf:<model>``,
            ``[verifier:]openai:<base_url>#<model>`` or ``oracle-labels``.
        **options: :class:`ScorerOptions` fields; they override the same keys in the spec.

    Raises:
        InputError: A malformed spec or an unknown option.
    """
    kind, backend, spec_opts = parse_scorer_spec(spec)
    if kind == "oracle":
        return OracleLabelsScorer()
    unknown = sorted(set(options) - set(SCORER_OPTIONS))
    if unknown:
        raise InputError(f"unknown reward-model option(s) {unknown}. Known: {', '.join(SCORER_OPTIONS)}")
    merged = {**spec_opts, **{k: v for k, v in options.items() if v is not None}}
    for word in ("yes", "no"):
        if word in merged:
            merged[word] = str(merged[word])
    opts = ScorerOptions(**merged)
    from rerankeval.generation import _scoring_backends as b

    cls = {
        ("head", "hf"): b.HFHeadScorer,
        ("verifier", "hf"): b.HFVerifierScorer,
        ("head", "vllm"): b.VLLMHeadScorer,
        ("verifier", "vllm"): b.VLLMVerifierScorer,
        ("head", "openai"): b.OpenAIHeadScorer,
        ("verifier", "openai"): b.OpenAIVerifierScorer,
    }
    return cls[(kind, backend.kind)](backend, opts)


def score_key(scorer: Scorer, template: TemplateSet, x: ScoreInput) -> str:
    """Cache key of one input: the scorer's fingerprint, the template and the fields."""
    return content_hash(scorer.fingerprint, template.fingerprint, *(p for kv in x.fields for p in kv))


def score_cached(
    scorer: Scorer,
    inputs: Sequence[ScoreInput],
    template: TemplateSet,
    cache: Any | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[ScoreResult]:
    """Scores ``inputs``, reading and filling ``cache`` (a :class:`rerankeval.cache.ResultCache`).

    Identical inputs are scored once. The oracle scorer is never cached (its labels are inputs).
    """
    if cache is None or scorer.kind == "oracle":
        return scorer.score(inputs, template, progress)
    keys = [score_key(scorer, template, x) for x in inputs]
    found = cache.get_many(set(keys))
    todo: dict[str, ScoreInput] = {}
    for k, x in zip(keys, inputs, strict=True):
        if k not in found and k not in todo:
            todo[k] = x
    if progress:
        progress(len(inputs) - len(todo))
    if todo:
        fresh = scorer.score(list(todo.values()), template, progress)
        new = {k: r.as_dict() for k, r in zip(todo, fresh, strict=True)}
        cache.put_many(new)
        found.update(new)
    log.debug("scored %d inputs (%d from the cache)", len(inputs), len(inputs) - len(todo))
    return [ScoreResult(**found[k]) for k in keys]
