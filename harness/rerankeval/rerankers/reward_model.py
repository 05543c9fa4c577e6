"""The ``rm`` reranker: pick the candidate an execution-free reward model scores highest.

The model is named by a scorer spec (see :mod:`rerankeval.generation.scoring`): a scalar head
(``vllm:M``, ``hf:M``, ``openai:<url>#M``), a yes/no verifier (the same after ``verifier:``), or
``oracle-labels``. Items that already carry ``rm_scores`` (scored in an earlier step) are ranked
from those, and no model is loaded. The pick is the argmax; tied candidates are all chosen, so
the reranked pass@1 is the expected accuracy of a uniform pick among them (NaN ranks last).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from rerankeval.core.rerank import Ranking, RerankItem, argmax_ties
from rerankeval.errors import InputError
from rerankeval.generation.scoring import (
    CODE_TEMPLATE,
    ORACLE,
    ScoreInput,
    Scorer,
    ScoreResult,
    TemplateSet,
    make_scorer,
    score_cached,
    verifier_prompt_from_file,
)

log = logging.getLogger(__name__)

#: Prompt templates by name: ``code`` here; a benchmark plugin adds its own with
#: :func:`register_template` (SWE-bench: ``swebench-patch``, ``swebench-trajectory``).
TEMPLATES: dict[str, TemplateSet] = {"code": CODE_TEMPLATE}


def register_template(template: TemplateSet) -> None:
    """Makes ``template`` available to ``rm`` by its name (``-R template=NAME``).

    Raises:
        ValueError: Another template of that name is registered.
    """
    have = TEMPLATES.get(template.name)
    if have is not None and have != template:
        raise ValueError(f"a different template named '{template.name}' is registered")
    TEMPLATES[template.name] = template


class RewardModelReranker:
    """Ranks candidates by a reward model's score.

    Args:
        rm: Scorer spec, e.g. ``vllm:TIGER-Lab/AceCodeRM-7B`` or ``verifier:vllm:ksshumab/SWE-RM``.
            May be omitted when every item carries ``rm_scores``.
        template: ``"code"`` (problem + candidate program), another name in :data:`TEMPLATES`, or
            a :class:`TemplateSet`.
        prompt: A text file replacing the verifier prompt of ``template`` (slots ``{problem}``,
            ``{candidate}``, ``{yes}``, ``{no}``; see
            :func:`~rerankeval.generation.scoring.verifier_prompt_from_file`).
        batch_size: Inputs per forward pass or request.
        max_length: Longest prompt in tokens (default: the model's context).
        yes: Verifier label word for "correct" (one token; default ``YES``).
        no: Verifier label word for "incorrect" (one token; default ``NO``).
        chat_template: Use the model's chat template (default: when it has one).
        cache: Read and write the score cache (``$RERANKEVAL_CACHE_DIR/results.sqlite``).

    Raises:
        InputError: An unknown template name or a malformed spec.
    """

    name = "rm"

    def __init__(
        self,
        rm: str | None = None,
        template: str | TemplateSet = "code",
        prompt: str | None = None,
        batch_size: int | None = None,
        max_length: int | None = None,
        yes: str | None = None,
        no: str | None = None,
        chat_template: bool | None = None,
        cache: bool = True,
    ) -> None:
        if isinstance(template, str):
            if template not in TEMPLATES:
                raise InputError(
                    f"reranker 'rm': unknown template '{template}'. Known: {', '.join(TEMPLATES)}"
                )
            template = TEMPLATES[template]
        if prompt is not None:
            template = verifier_prompt_from_file(prompt, template)
        self.template = template
        self.rm = rm
        self.scorer: Scorer | None = None
        if rm is not None:
            opts = {
                "batch_size": batch_size,
                "max_length": max_length,
                "yes": yes,
                "no": no,
                "chat_template": chat_template,
            }
            self.scorer = make_scorer(rm, **{k: v for k, v in opts.items() if v is not None})
        self.cache = cache
        self.needs: frozenset[str] = frozenset({"gold"}) if rm == ORACLE else frozenset()
        self.n_truncated = 0

    def _cache(self) -> Any | None:
        if not self.cache:
            return None
        from rerankeval.cache import ResultCache

        return ResultCache("rm_scores")

    def inputs(self, item: RerankItem) -> list[ScoreInput]:
        """The scorer inputs of one item (problem statement + each candidate, the benchmark's own
        template fields and the labels when the item has them)."""
        n = len(item.candidates)
        gold = item.gold if item.gold is not None else (None,) * n
        fields = item.fields if item.fields is not None else ({},) * n
        return [
            ScoreInput.of(label=g, **{"problem": item.prompt, "candidate": c.code, **f})
            for c, g, f in zip(item.candidates, gold, fields, strict=True)
        ]

    def score_items(
        self, items: Sequence[RerankItem], progress: Callable[[int], None] | None = None
    ) -> list[list[ScoreResult]]:
        """Scores every candidate of every item in one batched pass.

        Raises:
            InputError: No ``rm`` spec was given, or the oracle scorer met an item without gold.
        """
        if self.scorer is None:
            raise InputError(
                "reranker 'rm' needs a reward model: pass rm=<spec> (e.g. -R rm=vllm:MODEL), "
                "or give every item precomputed rm_scores"
            )
        flat = [x for it in items for x in self.inputs(it)]
        cache = self._cache()
        try:
            results = score_cached(self.scorer, flat, self.template, cache, progress)
        finally:
            if cache is not None:
                cache.close()
        cut = sum(1 for r in results if r.truncated)
        self.n_truncated += cut
        if cut:
            log.warning(
                "reranker 'rm': %d of %d prompts were cut to fit the model's context", cut, len(results)
            )
        out, pos = [], 0
        for it in items:
            out.append(results[pos : pos + len(it.candidates)])
            pos += len(it.candidates)
        return out

    def rank(self, items: Sequence[RerankItem]) -> list[Ranking]:
        """One :class:`Ranking` per item: the scores and every candidate tied at the top.

        Items with ``rm_scores`` use them; the others are scored with the model.

        Raises:
            InputError: Scores are needed and no ``rm`` spec was given, or ``rm_scores`` has the
                wrong length.
        """
        todo = [it for it in items if it.rm_scores is None]
        fresh = iter(self.score_items(todo)) if todo else iter(())
        out = []
        for it in items:
            if it.rm_scores is not None:
                if len(it.rm_scores) != len(it.candidates):
                    raise InputError(
                        f"{it.problem_id}: {len(it.rm_scores)} rm_scores for "
                        f"{len(it.candidates)} candidates. Re-score that problem"
                    )
                scores = tuple(float(s) for s in it.rm_scores)
            else:
                scores = tuple(r.score for r in next(fresh))
            out.append(Ranking(scores, argmax_ties(scores) if scores else ()))
        return out
