"""``hybrid``: unit-test evidence and an execution-free verifier in one selection.

R2E-Gym (arXiv 2504.07164) reports that hybrid verifiers, combining execution-based and
execution-free evidence, beat either kind alone (51% against 42-43% on SWE-bench Verified). This
reranker combines the two families this project implements, on the same candidates:

* ``t_i``: the unit-test evidence of candidate ``i``, normalised to [0, 1] within the problem:
  with ``tests="coderm"`` the fraction of the problem's generated tests it passes (CodeRM's
  reward divided by the number of tests); with ``tests="codet"`` its CodeT consensus score
  divided by the problem's highest one (0 when every score is 0).
* ``v_i``: the reward model's probability that the candidate is correct: a verifier's
  P(YES)/(P(YES)+P(NO)), or the sigmoid of a scalar head's logit.

``mode="weighted"`` (default) ranks by ``(1 - weight) * t_i + weight * v_i`` (``weight`` 0.5:
both pieces of evidence on the same [0, 1] scale, equally trusted); ``mode="tiebreak"`` keeps
the unit-test reranker's choice (CodeRM's or CodeT's tied set, its own tie rule included) and
lets the verifier pick among those tied: tests first, the model only where tests cannot tell.
``weight=0`` is the unit-test reranker's ordering by ``t``; ``weight=1`` is ``rm``.

The reward model scores every candidate once per run, cached, exactly as for ``rm`` (the engine
treats every reranker with a model scorer alike), so ``rm`` and ``hybrid`` side by side cost one
scoring pass when they name the same model and prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rerankeval.core.rerank import PassMatrix, Ranking, RerankItem, argmax_ties
from rerankeval.core.select import coderm_select, codet_select
from rerankeval.errors import InputError
from rerankeval.generation.scoring import TemplateSet, sigmoid
from rerankeval.rerankers.reward_model import RewardModelReranker

HybridMode = Literal["weighted", "tiebreak"]
TestEvidence = Literal["coderm", "codet"]


class HybridReranker(RewardModelReranker):
    """Unit tests and a reward model together (see the module docstring for the rule).

    Args:
        rm: Scorer spec of the reward model, as for ``rm``.
        tests: ``"coderm"`` (fraction of tests passed) or ``"codet"`` (consensus score).
        mode: ``"weighted"`` or ``"tiebreak"``.
        weight: The verifier's weight in ``weighted`` mode, in [0, 1].
        template, prompt, batch_size, max_length, yes, no, chat_template, cache: As for ``rm``.

    Raises:
        InputError: An unknown ``tests`` or ``mode``, or a weight outside [0, 1].
    """

    name = "hybrid"

    def __init__(
        self,
        rm: str | None = None,
        tests: TestEvidence = "coderm",
        mode: HybridMode = "weighted",
        weight: float = 0.5,
        template: str | TemplateSet = "code",
        prompt: str | None = None,
        batch_size: int | None = None,
        max_length: int | None = None,
        yes: str | None = None,
        no: str | None = None,
        chat_template: bool | None = None,
        cache: bool = True,
    ) -> None:
        super().__init__(
            rm=rm,
            template=template,
            prompt=prompt,
            batch_size=batch_size,
            max_length=max_length,
            yes=yes,
            no=no,
            chat_template=chat_template,
            cache=cache,
        )
        if tests not in ("coderm", "codet"):
            raise InputError(f"reranker 'hybrid': tests must be 'coderm' or 'codet', got {tests!r}")
        if mode not in ("weighted", "tiebreak"):
            raise InputError(f"reranker 'hybrid': mode must be 'weighted' or 'tiebreak', got {mode!r}")
        weight = float(weight)
        if not 0.0 <= weight <= 1.0:  # also refuses NaN
            raise InputError(f"reranker 'hybrid': weight must lie in [0, 1], got {weight}")
        self.tests: TestEvidence = tests
        self.mode: HybridMode = mode
        self.weight = weight
        self.needs = self.needs | frozenset({"matrix"})

    def _probs(self, scores: Sequence[float]) -> list[float]:
        head = self.scorer is not None and self.scorer.kind == "head"
        return [sigmoid(s) if head else float(s) for s in scores]

    def _tests(self, matrix: PassMatrix) -> tuple[list[float], Ranking]:
        if self.tests == "coderm":
            r = coderm_select(matrix.rows)
            n = len(matrix.test_ids)
            return [s / n if n else 0.0 for s in r.scores], r
        r = codet_select(matrix.rows)
        top = max(r.scores, default=0.0)
        return [s / top if top > 0 else 0.0 for s in r.scores], r

    def rank(self, items: Sequence[RerankItem]) -> list[Ranking]:
        """One :class:`Ranking` per item: the combined scores and every candidate tied at the top.

        Raises:
            ValueError: An item without a pass matrix, or one whose rows do not match its candidates.
            InputError: As the ``rm`` reranker's (no model and no precomputed scores).
        """
        model = super().rank(items)
        out = []
        for it, m in zip(items, model, strict=True):
            if it.matrix is None or len(it.matrix.rows) != len(it.candidates):
                raise ValueError(
                    f"reranker 'hybrid' needs a pass matrix with one row per candidate; "
                    f"{it.problem_id} has {'none' if it.matrix is None else len(it.matrix.rows)}"
                )
            if not it.candidates:
                out.append(Ranking((), ()))
                continue
            t, test_rank = self._tests(it.matrix)
            v = self._probs(m.scores)
            if self.mode == "weighted":
                scores = tuple(
                    (1.0 - self.weight) * ti + self.weight * vi for ti, vi in zip(t, v, strict=True)
                )
                out.append(Ranking(scores, argmax_ties(scores)))
            else:
                tied = test_rank.chosen
                best = max(v[i] for i in tied)
                # ranked by test evidence, then verifier: the tied set's members lead, the verifier inside it
                scores = tuple(t[i] + (1.0 + v[i] if i in tied else 0.0) for i in range(len(t)))
                out.append(Ranking(scores, tuple(i for i in tied if v[i] == best)))
        return out
