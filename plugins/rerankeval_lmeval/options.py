"""Run options of the ``*_rm`` tasks, read once from lm-eval metadata and environment variables.

lm-eval hands every task a ``metadata`` dict: the YAML's ``metadata`` merged with
``--model_args`` and ``--metadata`` (``key=value`` pairs or a JSON object; the Python API's
``metadata=``). Each option below is read from that dict first, then from its environment
variable, then the YAML default:

==================  ============================  ===================================================
metadata key        environment variable          meaning
==================  ============================  ===================================================
``repeats``         ``RERANKEVAL_REPEATS``        N, candidates sampled per problem
``tests``           ``RERANKEVAL_TESTS``          tests artifact (``tests.jsonl``) to rerank with
``test_generator``  ``RERANKEVAL_TEST_GENERATOR`` backend spec that writes tests when none are given
                                                  (with ``tests``: use that generator's rows of the file)
``dedupe_tests``    ``RERANKEVAL_DEDUPE_TESTS``   count each distinct test once (default: as generated)
``n_tests``         ``RERANKEVAL_N_TESTS``        test generations per problem (generator only)
``test_style``      ``RERANKEVAL_TEST_STYLE``     ``unittest`` (CodeRM prompt) or ``assert`` (CodeT);
                                                  LiveCodeBench: ``auto`` (default: ``stdio``
                                                  input/output cases for stdin problems, ``unittest``
                                                  for functional ones), ``unittest`` or ``stdio``
``tests_cache``     ``RERANKEVAL_TESTS_CACHE``    folder of generated artifacts (default: cache dir)
``test_time_limit`` ``RERANKEVAL_TEST_TIME_LIMIT`` seconds per (candidate, test) execution
``workers``         ``RERANKEVAL_WORKERS``        sandbox worker processes (default: all cores)
``rm``              ``RERANKEVAL_RM``             execution-free reward model spec (``rerank-rm``)
``seed_per_repeat`` ``RERANKEVAL_SEED_PER_REPEAT`` ``auto`` / ``true`` / ``false`` (see below)
``prompt_style``    ``RERANKEVAL_PROMPT_STYLE``   ``instruct`` (default) or ``complete`` (see below)
``pass_at_k``       ``RERANKEVAL_PASS_AT_K``      ks of the unbiased pass@k the ``plain`` filter reports
                                                  beside pass@1 (default ``1/10/100``; those <= N)
``run_dir``         ``RERANKEVAL_RUN_DIR``        keep the engine's run directory as ``DIR/<task>``
                                                  (default: a temporary one, removed at exit)
``bootstrap``       ``RERANKEVAL_BOOTSTRAP``      bootstrap replicates of the confidence intervals in
                                                  the run's ``metrics.json`` (default 0: none)
==================  ============================  ===================================================

``seed_per_repeat``: lm-eval's OpenAI-compatible backends (``local-completions``,
``local-chat-completions``) send the same ``seed`` (model arg ``seed``, default 1234) with every
request, so a server that honours it (vLLM, SGLang) returns N copies of one sample. With this
option on, the task sends each of the N repeats as its own request whose generation kwargs carry
``seed = base + i`` (i = 0..N-1, base = the model's ``seed``): N independent, reproducible
samples. ``auto`` turns it on when the model args name a ``base_url`` (the API backends), and
leaves vllm and hf (which sample N distinct continuations already) untouched.

The price of per-repeat seeds: lm-eval 0.4.13's API backends send one group of equal generation
kwargs at a time, so the server sees the problems' requests N times over (``num_concurrent`` of one
repeat at a time) instead of all N x problems at once. With many problems (more than
``num_concurrent``) each group fills the server and little is lost; with few problems the server
idles (1.5x slower for 10 problems x 8 repeats, see ``benchmarks/lmeval_speed.py``). There is no
unseeded way round it: lm-eval 0.4.13's API backends cast the model arg ``seed`` to an integer
(``seed=None`` fails in its constructor) and send it with every request, and N requests with equal
kwargs and one seed are N copies of one sample.

``prompt_style``: ``instruct`` is EvalPlus's protocol for chat models, used for every model: the
problem in a code block, then an answer prefix that opens a ```` ```python ```` block in which the
model writes the whole solution. ``complete`` (HumanEval+ only) also puts the function signature
and docstring into the answer prefix, so the model writes only the body, as lm-eval's
``humaneval_instruct`` does; strong base models may prefer it, small chat models often close the
block at once.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rerankeval.errors import InputError

__all__ = ["ENV", "KNOWN_KEYS", "PROMPT_STYLES", "TEST_STYLES", "TaskOptions", "check_keys", "option"]

ENV = {
    "repeats": "RERANKEVAL_REPEATS",
    "tests": "RERANKEVAL_TESTS",
    "test_generator": "RERANKEVAL_TEST_GENERATOR",
    "n_tests": "RERANKEVAL_N_TESTS",
    "test_style": "RERANKEVAL_TEST_STYLE",
    "tests_cache": "RERANKEVAL_TESTS_CACHE",
    "test_time_limit": "RERANKEVAL_TEST_TIME_LIMIT",
    "workers": "RERANKEVAL_WORKERS",
    "rm": "RERANKEVAL_RM",
    "seed_per_repeat": "RERANKEVAL_SEED_PER_REPEAT",
    "dedupe_tests": "RERANKEVAL_DEDUPE_TESTS",
    "prompt_style": "RERANKEVAL_PROMPT_STYLE",
    "pass_at_k": "RERANKEVAL_PASS_AT_K",
    "run_dir": "RERANKEVAL_RUN_DIR",
    "bootstrap": "RERANKEVAL_BOOTSTRAP",
}
PROMPT_STYLES = ("instruct", "complete")
#: The unit-test styles each dataset's tests can be written in; the first is the default.
TEST_STYLES = {
    "humaneval": ("unittest", "assert"),
    "mbpp": ("unittest", "assert"),
    "livecodebench": ("auto", "unittest", "stdio"),
}


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """Options of one ``*_rm`` task run (see the module docstring for where each comes from).

    Attributes:
        dataset: ``humaneval``, ``mbpp`` or ``livecodebench``.
        repeats: Candidates sampled per problem (lm-eval's ``repeats``).
        tests: Tests artifact path, or None.
        test_generator: Backend spec of the test generator (used when ``tests`` is None; with
            ``tests``, the generator whose rows are read when the file holds several).
        dedupe_tests: One matrix column per distinct test (``rerankeval rerank --dedupe-tests``).
        n_tests: Test generations per problem (CodeRM: 100, one TestCase class each).
        test_style: ``unittest`` (CodeRM-8B prompt) or ``assert`` (CodeT prompt); for LiveCodeBench
            also ``stdio`` (input/output cases) and ``auto`` (``stdio`` for stdin problems).
        tests_cache: Folder of generated artifacts (None: rerankeval's cache directory).
        test_time_limit: Seconds per (candidate, test) execution (None: the engine's default).
        workers: Sandbox worker processes (None: all cores).
        rm: Execution-free reward model spec for ``rerank-rm`` (None: that filter is not available).
        seed_per_repeat: ``auto``, ``true`` or ``false`` (see the module docstring).
        seed: Base seed of the per-repeat seeds (the model arg ``seed``; lm-eval's default 1234).
        api_backend: Whether the model args name a ``base_url`` (an OpenAI-compatible backend).
        prompt_style: ``instruct`` or ``complete`` (see the module docstring).
        pass_at_k: The ks of the unbiased pass@k over the N repeats, separated by ``/`` (lm-eval's
            ``--metadata`` splits on commas), ``,`` or ``;`` (see :attr:`ks`).
        run_dir: Folder that keeps the engine's run directory of each task (None: a temporary one).
        bootstrap: Bootstrap replicates of the run's confidence intervals (0: none).
    """

    dataset: str
    repeats: int
    tests: str | None = None
    test_generator: str | None = None
    dedupe_tests: bool = False
    n_tests: int = 100
    test_style: str = "unittest"
    tests_cache: str | None = None
    test_time_limit: float | None = None
    workers: int | None = None
    rm: str | None = None
    seed_per_repeat: str = "auto"
    seed: int = 1234
    api_backend: bool = False
    prompt_style: str = "instruct"
    pass_at_k: str = "1/10/100"
    run_dir: str | None = None
    bootstrap: int = 0

    @property
    def ks(self) -> tuple[int, ...]:
        """The ks of ``pass_at_k`` that N repeats can estimate (k <= N), with 1 always included."""
        return tuple(sorted({1, *(k for k in _ks(self.pass_at_k) if k <= self.repeats)}))

    @property
    def per_repeat_seeds(self) -> bool:
        """Whether each repeat is sent as its own request with its own seed."""
        return self.seed_per_repeat == "true" or (self.seed_per_repeat == "auto" and self.api_backend)

    @classmethod
    def resolve(
        cls,
        dataset: str,
        metadata: Mapping[str, Any] | None,
        defaults: Mapping[str, Any],
        environ: Mapping[str, str] | None = None,
    ) -> TaskOptions:
        """Reads every option from ``metadata``, then ``environ``, then ``defaults``.

        Raises:
            InputError: A value of the wrong type, or a tests artifact that does not exist.
        """
        metadata = metadata or {}
        check_keys(metadata)
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {"dataset": dataset, "api_backend": bool(metadata.get("base_url"))}
        defaults = {"test_style": TEST_STYLES.get(dataset, ("unittest",))[0], **defaults}
        for f in fields(cls):
            if f.name in values:
                continue
            raw, source = _lookup(f.name, metadata, environ, defaults)
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, raw, source)
        if "repeats" not in values:
            raise InputError(
                f"{dataset}: no 'repeats' configured. Set repeats in the task YAML or pass "
                "--metadata repeats=N"
            )
        opts = cls(**values)
        opts.check()
        return opts

    def check(self) -> None:
        """Raises InputError for values no run can use."""
        if self.repeats < 1:
            raise InputError(
                f"repeats={self.repeats}: need at least 1 candidate per problem. Pass repeats=N with N >= 1"
            )
        if self.n_tests < 1:
            raise InputError(f"n_tests={self.n_tests}: need at least 1. Pass n_tests=K with K >= 1")
        if self.test_time_limit is not None and not (
            math.isfinite(self.test_time_limit) and self.test_time_limit > 0
        ):
            raise InputError(
                f"test_time_limit={self.test_time_limit}: need a finite number of seconds > 0. "
                "Pass test_time_limit=S, e.g. 0.25"
            )
        if self.bootstrap < 0:
            raise InputError(f"bootstrap={self.bootstrap}: need 0 (no intervals) or more replicates")
        if self.workers is not None and self.workers < 1:
            raise InputError(f"workers={self.workers}: need at least 1 sandbox worker. Pass workers=K >= 1")
        if self.prompt_style not in PROMPT_STYLES:
            raise InputError(f"prompt_style={self.prompt_style!r}: use {' or '.join(PROMPT_STYLES)}")
        styles = TEST_STYLES.get(self.dataset, ("unittest", "assert"))
        if self.test_style not in styles:
            extra = (
                " (CodeT's assert prompt calls a top-level function; LiveCodeBench's functional problems "
                "are methods of Solution)"
                if self.test_style == "assert"
                else ""
            )
            raise InputError(
                f"test_style={self.test_style!r} for {self.dataset}{extra}: use {' or '.join(styles)}"
            )
        _ks(self.pass_at_k)
        if self.seed_per_repeat not in ("auto", "true", "false"):
            raise InputError(f"seed_per_repeat={self.seed_per_repeat!r}: use auto, true or false")
        if self.tests is not None and not Path(self.tests).is_file():
            raise InputError.at(
                self.tests,
                None,
                "tests artifact not found",
                "Pass --metadata tests=FILE with an existing tests.jsonl, or unset it and "
                "give test_generator=SPEC to generate tests",
            )

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _ks(text: str) -> tuple[int, ...]:
    parts = str(text).replace(" ", "").replace(",", "/").replace(";", "/").split("/")
    try:
        ks = tuple(int(k) for k in parts if k)
    except ValueError:
        ks = ()
    if not ks or min(ks) < 1:
        raise InputError(f"pass_at_k={text!r}: need integers >= 1 separated by '/', e.g. pass_at_k=1/10/100")
    return ks


def option(
    name: str,
    metadata: Mapping[str, Any] | None,
    default: Any = None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """One option, read as :meth:`TaskOptions.resolve` reads it (metadata, environment, default).

    Raises:
        InputError: A value of the wrong type.
    """
    raw, source = _lookup(name, metadata or {}, os.environ if environ is None else environ, {name: default})
    return _convert(name, raw, source) if raw not in (None, "") else default


def _lookup(
    name: str, metadata: Mapping[str, Any], environ: Mapping[str, str], defaults: Mapping[str, Any]
) -> tuple[Any, str]:
    if metadata.get(name) not in (None, ""):
        return metadata[name], f"--metadata {name}"
    env = ENV.get(name)
    if env and environ.get(env):
        return environ[env], env
    return defaults.get(name), f"task default {name}"


#: Keys of the metadata dict that are this plugin's (lm-eval merges ``--model_args`` into the same
#: dict, so other keys are the model's; see :func:`check_keys`).
KNOWN_KEYS = (
    *ENV,
    "seed",
    "humaneval_path",
    "mbpp_path",
    "livecodebench_path",
    "dataset_path",
    "release",
    "start_date",
    "end_date",
    "version",
)


def check_keys(metadata: Mapping[str, Any]) -> None:
    """Refuses a metadata key that is a near miss of one of this plugin's keys (``tets=...``).

    lm-eval hands the task one dict that merges ``--metadata`` with ``--model_args``, so a key this
    plugin does not know may be a model argument (``pretrained``, ``dtype``, ...) and cannot be refused
    as such; a key within a typo of a known one (difflib ratio >= 0.75, which no lm-eval model
    argument is) is a typo, and silently ignoring it would run without the option.

    Raises:
        InputError: Naming the key and the closest known key.
    """
    for key in metadata:
        if not isinstance(key, str) or key in KNOWN_KEYS:
            continue
        close = difflib.get_close_matches(key.replace("-", "_"), KNOWN_KEYS, n=1, cutoff=0.75)
        if close:
            raise InputError(
                f"unknown --metadata key {key!r}. Did you mean {close[0]!r}? Known keys: "
                f"{', '.join(sorted(KNOWN_KEYS))}"
            )


_INT = {"repeats", "n_tests", "workers", "seed", "bootstrap"}
_FLOAT = {"test_time_limit"}


def _convert(name: str, raw: Any, source: str) -> Any:
    try:
        if name in _INT:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            return int(raw)
        if name in _FLOAT:
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
        if name in ("seed_per_repeat", "prompt_style"):
            return str(raw).strip().lower()
        if name == "dedupe_tests":
            if isinstance(raw, bool):
                return raw
            if str(raw).strip().lower() not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return str(raw).strip().lower() in ("true", "1")
    except (TypeError, ValueError):
        kind = "an integer" if name in _INT else "a finite number" if name in _FLOAT else "true or false"
        raise InputError(f"{source}={raw!r} is not {kind}. Pass {name}=<{kind.split()[-1]}>") from None
    return str(raw)
