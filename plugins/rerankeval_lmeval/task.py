"""The lm-eval task class of ``humaneval_plus_rm``, ``mbpp_plus_rm`` and ``livecodebench_rm``.

A :class:`~lm_eval.api.task.ConfigurableTask` configured entirely by its YAML, plus what
a YAML cannot say:

* ``repeats`` comes from ``--metadata repeats=N`` / ``RERANKEVAL_REPEATS`` when given (lm-eval's
  CLI has no other way to change it), else from the YAML;
* the task's filters share one :class:`~rerankeval_lmeval.session.RerankSession`, so ground truth,
  pass matrices and rankings are computed once per run;
* a run that cannot rerank (unit-test rerankers with neither a tests artifact nor a test
  generator configured) stops before any generation, with the fix in the message;
* the execution-free reward-model filter (``reranker: rm``) gets its model from the ``rm`` option
  and is dropped, with a log line, when no reward model is configured;
* on OpenAI-compatible backends, each of the N repeats becomes its own request with its own
  ``seed`` in the generation kwargs (see ``seed_per_repeat`` in
  :mod:`rerankeval_lmeval.options`), because lm-eval sends one fixed seed with every request and
  a server that honours it would return N copies of one sample;
* when the model will get its requests one at a time (``--batch_size 1``, lm-eval's CLI default,
  or an API backend without ``num_concurrent``), one warning in lm-eval's log says what to pass
  (see :mod:`rerankeval_lmeval.batching`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.task import ConfigurableTask

from rerankeval.errors import InputError
from rerankeval.pipeline.config import RerankerChoice
from rerankeval_lmeval import data
from rerankeval_lmeval.batching import find_model, serial_advice
from rerankeval_lmeval.filters import Rerank, _SessionFilter
from rerankeval_lmeval.options import TaskOptions
from rerankeval_lmeval.session import RerankSession, register_session

log = logging.getLogger(__name__)
#: A child of lm-eval's logger, so the batching warning prints with lm-eval's own handler and format.
lm_eval_log = logging.getLogger("lm_eval.tasks.rerankeval")

__all__ = ["RerankTask"]

_DATASETS = {data.humanevalplus: "humaneval", data.mbppplus: "mbpp", data.livecodebench: "livecodebench"}


def _dataset_of(cfg: Mapping[str, Any]) -> str:
    name = _DATASETS.get(cfg.get("custom_dataset"))  # type: ignore[arg-type]
    if name is None:
        raise InputError(
            f"task {cfg.get('task')!r}: custom_dataset must be "
            "rerankeval_lmeval.data.humanevalplus, rerankeval_lmeval.data.mbppplus or "
            "rerankeval_lmeval.data.livecodebench"
        )
    return name


def _session_filters(cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The filter components of ``cfg`` that are rerankeval session filters."""
    out = []
    for entry in cfg.get("filter_list") or []:
        for comp in entry.get("filter") or []:
            fn = comp.get("function")
            if isinstance(fn, type) and issubclass(fn, _SessionFilter):
                out.append(comp)
    return out


def _bind_reward_model(cfg: dict[str, Any], rm: str | None) -> None:
    """Gives the filters whose reranker takes a reward model (an ``rm`` argument: ``rm``, ``hybrid``,
    a third-party one) the configured model, or drops them when there is none."""
    from rerankeval.rerankers.registry import reranker_accepts

    kept = []
    for entry in cfg.get("filter_list") or []:
        comps = [
            c
            for c in entry.get("filter") or []
            if isinstance(c.get("function"), type)
            and issubclass(c["function"], Rerank)
            and reranker_accepts(c.get("reranker", "coderm"), "rm")
        ]
        if comps and rm is None and not all("rm" in (c.get("reranker_args") or {}) for c in comps):
            log.info(
                "%s: filter %s left out (no reward model: pass --metadata rm=SPEC to report it)",
                cfg.get("task"),
                entry.get("name"),
            )
            continue
        for c in comps:
            c["reranker_args"] = {"rm": rm, **dict(c.get("reranker_args") or {})}
        kept.append(entry)
    cfg["filter_list"] = kept


def _reranker_choices(cfg: dict[str, Any]) -> list[RerankerChoice]:
    """One engine reranker per ``Rerank`` filter, labelled with the filter's name (each filter
    component is told its label)."""
    out: list[RerankerChoice] = []
    for entry in cfg.get("filter_list") or []:
        comps = [
            c
            for c in entry.get("filter") or []
            if isinstance(c.get("function"), type) and issubclass(c["function"], Rerank)
        ]
        for k, comp in enumerate(comps):
            label = str(entry.get("name")) + (f"/{k + 1}" if k else "")
            if any(c.label == label for c in out):
                raise InputError(f"task {cfg.get('task')}: two filters are named {label!r}; name each once")
            comp["label"] = label
            out.append(
                RerankerChoice(label, comp.get("reranker", "coderm"), dict(comp.get("reranker_args") or {}))
            )
    return out


def _needs_tests(components: list[dict[str, Any]]) -> list[str]:
    """Names of the rerankers among ``components`` that rank by generated unit tests."""
    from rerankeval.rerankers.registry import reranker_needs

    names = []
    for comp in components:
        name = comp.get("reranker", "coderm")
        if issubclass(comp["function"], Rerank) and "matrix" in reranker_needs(
            name, comp.get("reranker_args")
        ):
            names.append(name)
    return names


def _grouped_metrics(dataset: str) -> list[str]:
    """The per-difficulty metrics of a dataset whose documents name a difficulty
    (see :mod:`rerankeval_lmeval.metrics`)."""
    if dataset != "livecodebench":
        return []
    from rerankeval_livecodebench.data import DIFFICULTIES
    from rerankeval_lmeval.metrics import METRICS

    return [f"{m}_{d}" for d in DIFFICULTIES for m in METRICS]


def greedy(gen_kwargs: Mapping[str, Any] | None) -> bool:
    """Whether lm-eval's backends decode greedily with these kwargs (``do_sample: false`` forces it)."""
    gen = gen_kwargs or {}
    return gen.get("do_sample") is False or float(gen.get("temperature") or 0.0) == 0.0


class RerankTask(ConfigurableTask):
    """A generation task scored with and without reranking (see the module docstring).

    Args:
        config: The task config lm-eval loaded from the YAML (its ``metadata`` already merged with
            ``--model_args`` and ``--metadata``).

    Raises:
        InputError: Bad options, or unit-test rerankers with no tests source.
    """

    def __init__(
        self,
        data_dir: str | None = None,
        cache_dir: str | None = None,
        download_mode: Any = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        cfg = dict(config or {})
        cfg.pop("class", None)
        dataset = _dataset_of(cfg)
        metadata = dict(cfg.get("metadata") or {})
        options = TaskOptions.resolve(dataset, metadata, {"repeats": cfg.get("repeats")})
        _bind_reward_model(cfg, options.rm)
        components = _session_filters(cfg)
        needing = _needs_tests(components)
        if needing and options.tests is None and options.test_generator is None:
            raise InputError(
                f"task {cfg.get('task')}: rerankers {', '.join(needing)} need unit tests, and none are "
                "configured. Pass --metadata tests=FILE (a tests artifact) or --metadata "
                "test_generator=SPEC (e.g. vllm:MODEL or hf:MODEL; tests are generated once and cached), "
                "or set RERANKEVAL_TESTS / RERANKEVAL_TEST_GENERATOR"
            )
        cfg["repeats"] = options.repeats
        declared = {m.get("metric") for m in cfg.get("metric_list") or []}
        cfg["metric_list"] = [
            *(cfg.get("metric_list") or []),
            *(
                {"metric": m, "aggregation": "mean", "higher_is_better": True}
                for m in (*(f"pass@{k}" for k in options.ks), *_grouped_metrics(dataset))
                if m not in declared
            ),
        ]
        self._warned_greedy = False
        self._warned_serial = False
        self.rerank_options = options
        choices = _reranker_choices(cfg)
        self.rerank_session = RerankSession(options, metadata, str(cfg.get("task")), choices)
        key = register_session(self.rerank_session, str(cfg.get("task")))
        for comp in components:
            comp["session"] = key
        log.info("%s: %s", cfg.get("task"), {k: v for k, v in options.as_dict().items() if v is not None})
        super().__init__(data_dir=data_dir, cache_dir=cache_dir, download_mode=download_mode, config=cfg)

    def build_all_requests(self, *, chat_template: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        """lm-eval's request building, after one warning when the model will get the repeats one
        request at a time (:func:`~rerankeval_lmeval.batching.serial_advice`)."""
        if not self._warned_serial:
            self._warned_serial = True
            advice = serial_advice(find_model(chat_template), self.rerank_options.repeats)
            if advice is not None:
                lm_eval_log.warning("%s: %s", self.config.task, advice)
        super().build_all_requests(chat_template=chat_template, **kwargs)

    def construct_requests(self, doc: dict[str, Any], ctx: Any, **kwargs: Any) -> Instance | list[Instance]:
        """One request with ``repeats`` (lm-eval's default), or, with per-repeat seeds, ``repeats``
        requests whose generation kwargs carry ``seed = base + i``."""
        inst = super().construct_requests(doc, ctx, **kwargs)
        repeats = self.rerank_options.repeats
        if not self._warned_greedy and repeats > 1 and greedy(self.config.generation_kwargs):
            self._warned_greedy = True
            log.warning(
                "%s: repeats=%d with greedy decoding (do_sample=false or temperature=0): the N "
                "candidates are copies of one answer and reranking cannot help. Sample with "
                "temperature > 0",
                self.config.task,
                repeats,
            )
        if not self.rerank_options.per_repeat_seeds or not isinstance(inst, Instance):
            return inst
        task, doc_id, repeats = inst.metadata
        ctx_arg, gen_kwargs, *rest = inst.arguments
        base = self.rerank_options.seed
        return [
            Instance(
                request_type=inst.request_type,
                doc=doc,
                idx=i,
                metadata=(task, doc_id, 1),
                arguments=(ctx_arg, {**gen_kwargs, "seed": base + i}, *rest),
            )
            for i in range(int(repeats or 1))
        ]
