"""The model backends behind :func:`rerankeval.generation.scoring.make_scorer`.

Every backend scores *token ids*: inputs are rendered and cut to the context once, by the same
tokenizer, so vLLM, transformers and a server see identical prompts. Local backends use the
model's Hugging Face tokenizer; the server backend uses the server's own ``/tokenize``.
Engines and models come from :mod:`rerankeval.generation.engines` (one per process and options).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from rerankeval.core.types import content_hash
from rerankeval.errors import InputError, ServerError
from rerankeval.generation.scoring import (
    TRUNCATION_MARK,
    VERIFIER_PREFIX,
    PromptTemplate,
    ScoreInput,
    ScoreResult,
    ScorerKind,
    ScorerOptions,
    TemplateSet,
    sigmoid,
)
from rerankeval.generation.spec import BackendSpec

log = logging.getLogger(__name__)


class Tokenizer(Protocol):
    """What rendering and truncation need from a tokenizer."""

    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: Sequence[int]) -> str: ...
    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> list[int]: ...


class HFTokenizer:
    """A transformers tokenizer; ``use_chat`` None means "the chat template when the model has one"."""

    def __init__(self, tok: Any, use_chat: bool | None, where: str) -> None:
        self.tok = tok
        has = bool(getattr(tok, "chat_template", None))
        if use_chat and not has:
            raise InputError(
                f"{where}: the model has no chat template but chat_template=true was asked. "
                "Drop that option (prompts are then plain text) or use a chat model"
            )
        self.use_chat = has if use_chat is None else use_chat

    def encode(self, text: str) -> list[int]:
        return list(self.tok(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.tok.decode(list(ids)))

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> list[int]:
        if self.use_chat:
            text = self.tok.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=add_generation_prompt
            )
            return self.encode(text)
        text = "\n\n".join(m["content"] for m in messages) + ("\n" if add_generation_prompt else "")
        return list(self.tok(text)["input_ids"])


# ---------------------------------------------------------------------------------------------
# fitting a prompt to the context


def _caps(lengths: Mapping[str, int], need: int) -> dict[str, int]:
    """Largest common cap c with sum(max(0, L - c)) >= need: the longest fields lose tokens first."""
    lo, hi = 0, max(lengths.values(), default=0)
    if sum(lengths.values()) < need:
        return {f: 0 for f in lengths}
    while lo < hi:  # find the largest c whose cut is still >= need
        mid = (lo + hi + 1) // 2
        if sum(max(0, n - mid) for n in lengths.values()) >= need:
            lo = mid
        else:
            hi = mid - 1
    return {f: min(n, lo) for f, n in lengths.items()}


def _middle_cut(tok: Tokenizer, text: str, keep: int) -> str:
    ids = tok.encode(text)
    if keep >= len(ids):
        return text
    head = keep // 2
    return tok.decode(ids[:head]) + TRUNCATION_MARK + tok.decode(ids[len(ids) - (keep - head) :])


def fit_prompt(
    tok: Tokenizer,
    template: PromptTemplate,
    fields: Mapping[str, str],
    long_fields: Sequence[str],
    budget: int,
) -> tuple[list[int], bool]:
    """Token ids of the rendered prompt, at most ``budget`` long, and whether it was shortened.

    The long fields lose tokens from their middle (longest first, down to a common cap) until
    the whole prompt fits; should tokenization at the cuts still overflow, the cut deepens, and
    as a last resort the ids keep their first and last halves of the budget.
    """
    ids = tok.render(template.render(fields), template.add_generation_prompt)
    if len(ids) <= budget:
        return ids, False
    lengths = {f: len(tok.encode(fields[f])) for f in long_fields if fields.get(f)}
    mark = len(tok.encode(TRUNCATION_MARK)) + 2
    need = len(ids) - budget + mark * len(lengths)
    for _ in range(4):
        caps = _caps(lengths, need)
        cut = {f: _middle_cut(tok, fields[f], caps[f]) for f in lengths}
        ids = tok.render(template.render({**fields, **cut}), template.add_generation_prompt)
        if len(ids) <= budget:
            return ids, True
        need += len(ids) - budget + mark
    head = budget // 2
    return ids[:head] + ids[len(ids) - (budget - head) :], True


# ---------------------------------------------------------------------------------------------
# the shared scoring loop


def model_identity(model: str) -> str:
    """What the score cache keys a model by: for a local folder its absolute path and the name, size
    and modification time of every file in it (so rebuilt weights never hit stale scores); else the name."""
    from pathlib import Path

    from rerankeval.generation import embedded

    if embedded.is_embedded(model):
        return f"{model}@sha256:{embedded.get(model).sha256}"
    path = Path(model).expanduser()
    if not path.is_dir():
        return model
    files = sorted(
        (p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in path.rglob("*")
        if p.is_file()
    )
    return content_hash(str(path.resolve()), repr(files))


class _ModelScorer:
    """Renders, fits and batches; subclasses load the model and score batches of token ids."""

    kind: ScorerKind = "head"

    def __init__(self, backend: BackendSpec, options: ScorerOptions) -> None:
        self.backend = backend
        self.options = options
        prefix = VERIFIER_PREFIX if self.kind == "verifier" else ""
        self.spec = prefix + str(backend)
        o = options
        self.fingerprint = content_hash(
            self.spec, model_identity(backend.model), str(o.max_length), o.yes, o.no, str(o.chat_template)
        )
        self.n_truncated = 0
        self._labels: tuple[int, int] | None = None

    # -- to implement -------------------------------------------------------------------------
    def _tokenizer(self) -> Tokenizer:
        raise NotImplementedError

    def _context(self) -> int:
        raise NotImplementedError

    def _score_batch(self, batch: list[list[int]]) -> list[float]:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------
    def _label_ids(self) -> tuple[int, int]:
        if self._labels is None:
            tok = self._tokenizer()
            ids = []
            for word in (self.options.yes, self.options.no):
                enc = tok.encode(word)
                if len(enc) != 1:
                    raise InputError(
                        f"{self.spec}: label word {word!r} is {len(enc)} tokens, not one. "
                        "Choose single-token words with yes=... and no=... (e.g. Yes/No)"
                    )
                ids.append(enc[0])
            if ids[0] == ids[1]:
                raise InputError(f"{self.spec}: the yes and no words map to the same token. Choose two words")
            self._labels = (ids[0], ids[1])
        return self._labels

    def _result(self, raw: float, n_tokens: int, truncated: bool) -> ScoreResult:
        prob = raw if self.kind == "verifier" else sigmoid(raw)
        return ScoreResult(raw, prob, truncated, n_tokens)

    def score(
        self,
        inputs: Sequence[ScoreInput],
        template: TemplateSet,
        progress: Callable[[int], None] | None = None,
    ) -> list[ScoreResult]:
        """Scores every input (see :class:`rerankeval.generation.scoring.Scorer`).

        Raises:
            InputError: Label words that are not single tokens, or a missing template field.
            ModelLoadError | MissingDependencyError | ServerError: The backend cannot run.
        """
        if not inputs:
            return []
        tok = self._tokenizer()
        context = self._context()
        verifier = self.kind == "verifier"
        tmpl = template.verifier if verifier else template.head
        extra = {"yes": self.options.yes, "no": self.options.no} if verifier else {}
        if verifier:
            self._label_ids()
        budget = context - 1 if verifier else context
        fitted = [fit_prompt(tok, tmpl, {**x.mapping, **extra}, template.long_fields, budget) for x in inputs]
        n_cut = sum(1 for _, t in fitted if t)
        self.n_truncated += n_cut
        if n_cut:
            log.info("%s: %d of %d inputs were cut to fit %d tokens", self.spec, n_cut, len(inputs), budget)
        order = sorted(range(len(fitted)), key=lambda i: len(fitted[i][0]))  # similar lengths share a batch
        raw: dict[int, float] = {}
        bs = max(1, self.options.batch_size)
        for start in range(0, len(order), bs):
            chunk = order[start : start + bs]
            for i, v in zip(chunk, self._score_batch([fitted[i][0] for i in chunk]), strict=True):
                raw[i] = v
            if progress:
                progress(len(chunk))
        return [self._result(raw[i], len(ids), cut) for i, (ids, cut) in enumerate(fitted)]


def _verifier_prob(lp_yes: float, lp_no: float) -> float:
    """P(YES) / (P(YES) + P(NO)) from the two log-probabilities."""
    return sigmoid(lp_yes - lp_no)


# ---------------------------------------------------------------------------------------------
# transformers


class _HFScorer(_ModelScorer):
    hf_kind = "causal"

    def _loaded(self) -> tuple[Any, Any]:
        from rerankeval.generation.engines import hf_model

        return hf_model(self.backend.model, self.hf_kind, **self.backend.engine_kwargs)  # type: ignore[arg-type]

    def _tokenizer(self) -> Tokenizer:
        if not hasattr(self, "_tok"):
            self._tok = HFTokenizer(self._loaded()[1], self.options.chat_template, self.spec)
        return self._tok

    def _context(self) -> int:
        net, tok = self._loaded()
        limit = getattr(net.config, "max_position_embeddings", None) or tok.model_max_length
        return int(min(limit, self.options.max_length or limit))

    def _padded(self, batch: list[list[int]], pad: int) -> tuple[Any, Any, Any]:
        import torch

        width = max(len(b) for b in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, b in enumerate(batch):  # right padding: positions stay 0..len-1
            ids[r, : len(b)] = torch.tensor(b, dtype=torch.long)
            mask[r, : len(b)] = 1
        last = torch.tensor([len(b) - 1 for b in batch], dtype=torch.long)
        return ids, mask, last


class HFHeadScorer(_HFScorer):
    """Scalar reward head with transformers: the raw logit of a one-label sequence classifier."""

    kind: ScorerKind = "head"
    hf_kind = "seq-cls"

    def _score_batch(self, batch: list[list[int]]) -> list[float]:
        import torch

        net, tok = self._loaded()
        if net.config.pad_token_id is None:
            net.config.pad_token_id = tok.pad_token_id
        ids, mask, _ = self._padded(batch, int(net.config.pad_token_id))
        with torch.inference_mode():
            logits = net(input_ids=ids.to(net.device), attention_mask=mask.to(net.device)).logits
        if logits.shape[-1] != 1:
            raise InputError(
                f"{self.spec}: the model has {logits.shape[-1]} outputs; a reward head has one. "
                "Use a one-label sequence-classification model, or 'verifier:' for a causal LM"
            )
        return [float(v) for v in logits[:, 0].float().cpu()]


class HFVerifierScorer(_HFScorer):
    """Generative verifier with transformers: P(YES)/(P(YES)+P(NO)) of the next token."""

    kind: ScorerKind = "verifier"
    hf_kind = "causal"

    def _score_batch(self, batch: list[list[int]]) -> list[float]:
        import torch

        net, tok = self._loaded()
        yes, no = self._label_ids()
        width = max(len(b) for b in batch)
        pad = int(tok.pad_token_id or 0)
        # left padding: every row ends at the last column, so only that column's logits are computed
        ids = torch.tensor([[pad] * (width - len(b)) + b for b in batch], dtype=torch.long, device=net.device)
        mask = torch.tensor(
            [[0] * (width - len(b)) + [1] * len(b) for b in batch], dtype=torch.long, device=net.device
        )
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            try:
                logits = net(
                    input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1
                ).logits
            except TypeError:  # a model class without logits_to_keep
                logits = net(input_ids=ids, attention_mask=mask, position_ids=positions).logits
        rows = logits[:, -1].float().log_softmax(-1).cpu()
        return [_verifier_prob(float(r[yes]), float(r[no])) for r in rows]


# ---------------------------------------------------------------------------------------------
# vLLM offline engine


class _VLLMScorer(_ModelScorer):
    runner: dict[str, Any] = {}

    def _engine(self) -> Any:
        from rerankeval.generation.engines import vllm_engine

        kw = {**self.runner, **self.backend.engine_kwargs}
        if self.options.max_length and "max_model_len" not in kw:
            kw["max_model_len"] = self.options.max_length
        return vllm_engine(self.backend.model, **kw)

    def _tokenizer(self) -> Tokenizer:
        if not hasattr(self, "_tok"):
            from transformers import AutoTokenizer

            from rerankeval.generation.engines import resolve_model

            tok = AutoTokenizer.from_pretrained(resolve_model(self.backend.model))
            self._tok = HFTokenizer(tok, self.options.chat_template, self.spec)
        return self._tok

    def _context(self) -> int:
        limit = int(self._engine().model_config.max_model_len)
        return min(limit, self.options.max_length or limit)


class VLLMHeadScorer(_VLLMScorer):
    """Scalar reward head on vLLM's pooling runner: ``classify`` without the activation (raw logit)."""

    kind: ScorerKind = "head"
    runner = {"runner": "pooling"}

    def _score_batch(self, batch: list[list[int]]) -> list[float]:
        from vllm import PoolingParams
        from vllm.inputs import TokensPrompt

        outs = self._engine().classify(
            [TokensPrompt(prompt_token_ids=b) for b in batch],
            pooling_params=PoolingParams(use_activation=False),
            use_tqdm=False,
        )
        return [float(o.outputs.probs[0]) for o in outs]


class VLLMVerifierScorer(_VLLMScorer):
    """Generative verifier on vLLM: one greedy token with the log-probabilities of the two label tokens."""

    kind: ScorerKind = "verifier"

    def _score_batch(self, batch: list[list[int]]) -> list[float]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        yes, no = self._label_ids()
        params = SamplingParams(max_tokens=1, temperature=0.0, logprob_token_ids=[yes, no])
        prompts = [TokensPrompt(prompt_token_ids=b) for b in batch]
        outs = self._engine().generate(prompts, params, use_tqdm=False)
        probs = []
        for o in outs:
            lps = o.outputs[0].logprobs[0]
            probs.append(_verifier_prob(lps[yes].logprob, lps[no].logprob))
        return probs


# ---------------------------------------------------------------------------------------------
# OpenAI-compatible server (vLLM's extensions: /tokenize, /classify, logprob_token_ids)


def _post(url: str, payload: dict[str, Any], timeout: float = 600.0) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - user-given server URL
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")[:300]
        raise ServerError(
            f"{url} answered {e.code}: {body}. Check the model name and that the server is "
            "vLLM's OpenAI server (scalar heads need --runner pooling)"
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
        raise ServerError(f"cannot reach {url} ({e}). Start the server or fix the base URL") from None


class ServerTokenizer:
    """The server's own tokenizer and chat template, through vLLM's ``/tokenize`` and ``/detokenize``."""

    def __init__(self, root: str, model: str, use_chat: bool | None) -> None:
        self.root, self.model = root, model
        self.use_chat = True if use_chat is None else use_chat
        self.max_model_len: int | None = None

    def encode(self, text: str) -> list[int]:
        r = _post(f"{self.root}/tokenize", {"model": self.model, "prompt": text, "add_special_tokens": False})
        self.max_model_len = r.get("max_model_len", self.max_model_len)
        return list(r["tokens"])

    def decode(self, ids: Sequence[int]) -> str:
        return str(_post(f"{self.root}/detokenize", {"model": self.model, "tokens": list(ids)})["prompt"])

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> list[int]:
        if not self.use_chat:
            text = "\n\n".join(m["content"] for m in messages) + ("\n" if add_generation_prompt else "")
            r = _post(f"{self.root}/tokenize", {"model": self.model, "prompt": text})
        else:
            r = _post(
                f"{self.root}/tokenize",
                {"model": self.model, "messages": messages, "add_generation_prompt": add_generation_prompt},
            )
        self.max_model_len = r.get("max_model_len", self.max_model_len)
        return list(r["tokens"])


class _OpenAIScorer(_ModelScorer):
    @property
    def root(self) -> str:
        base = str(self.backend.base_url)
        return base[: -len("/v1")] if base.endswith("/v1") else base

    def _tokenizer(self) -> Tokenizer:
        if not hasattr(self, "_tok"):
            self._tok = ServerTokenizer(self.root, self.backend.model, self.options.chat_template)
        return self._tok

    def _context(self) -> int:
        tok = self._tokenizer()
        assert isinstance(tok, ServerTokenizer)
        if tok.max_model_len is None:
            tok.encode("x")
        limit = int(tok.max_model_len or self.options.max_length or 4096)
        return min(limit, self.options.max_length or limit)


class OpenAIHeadScorer(_OpenAIScorer):
    """Scalar reward head served by vLLM with ``--runner pooling``: ``/classify`` without the activation."""

    kind: ScorerKind = "head"

    def _score_batch(self, batch: list[list[int]]) -> list[float]:
        r = _post(
            f"{self.root}/classify", {"model": self.backend.model, "input": batch, "use_activation": False}
        )
        data = sorted(r["data"], key=lambda d: d["index"])
        return [float(d["probs"][0]) for d in data]


class OpenAIVerifierScorer(_OpenAIScorer):
    """Generative verifier through ``/v1/completions``, asking vLLM's ``logprob_token_ids`` for the labels."""

    kind: ScorerKind = "verifier"

    def _score_batch(self, batch: list[list[int]]) -> list[float]:
        yes, no = self._label_ids()
        r = _post(
            f"{self.backend.base_url}/completions",
            {
                "model": self.backend.model,
                "prompt": batch,
                "max_tokens": 1,
                "temperature": 0.0,
                "logprobs": 2,
                "logprob_token_ids": [yes, no],
                "return_tokens_as_token_ids": True,
            },
        )
        out = []
        for choice in sorted(r["choices"], key=lambda c: c["index"]):
            top = (choice.get("logprobs") or {}).get("top_logprobs") or [{}]
            lps = top[0]
            try:
                out.append(_verifier_prob(lps[f"token_id:{yes}"], lps[f"token_id:{no}"]))
            except KeyError:
                raise ServerError(
                    f"{self.backend.base_url}: the answer lacks the label tokens' "
                    f"log-probabilities (got {sorted(lps)[:5]}). The server must support "
                    "vLLM's logprob_token_ids"
                ) from None
        return out
