"""Generating unit tests for a benchmark with a model: prompts in, ``tests.jsonl`` out.

Problems are sent to the generator in batches (vLLM fills its batch across problems); as each
batch returns, every problem's raw generations go to the sidecar ``<out>.generations.jsonl``
(with sampling settings and token counts) and its parsed tests to ``<out>`` (fsynced). A run
that stops keeps every finished problem; ``resume=True`` skips problems whose generations are
recorded, and re-derives tests the sidecar has but ``<out>`` lost (a stop between the writes).

Seeds are per problem: the problem at position ``g`` of the full list has base seed
``seed + g * n`` whatever the batching or resuming, so a resumed run draws what an
uninterrupted one would (on vLLM and OpenAI-compatible servers; transformers' draws also
depend on its batch size).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rerankeval.core.types import Problem
from rerankeval.errors import InputError, RunExistsError
from rerankeval.generation.base import Generator, checked_generate
from rerankeval.runs import JsonlAppender, read_jsonl
from rerankeval.unittests.artifact import TestRow, iter_tests, sidecar_path
from rerankeval.unittests.parse import CODET_LIMIT, Dedupe, TestStyle, parse_generations
from rerankeval.unittests.prompts import DEFAULTS, CodeInPrompt, build_prompt

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GenerationConfig:
    """How tests are generated; unset sampling fields take the style's published defaults.

    Attributes:
        style: ``unittest`` (CodeRM prompt, one TestCase class per test), ``assert`` (CodeT
            prompt), ``stdio`` (input/output cases of a program that reads stdin), or ``auto``:
            ``stdio`` for a problem without an entry point (a stdin program, e.g. LiveCodeBench's
            AtCoder problems), ``unittest`` otherwise.
        n: Generations per problem.
        temperature: Sampling temperature (default 0.8 for both styles).
        top_p: Nucleus sampling (default 0.95).
        max_tokens: Tokens per generation (default 2,048 for unittest, 300 for assert).
        seed: Base seed (None: unseeded).
        code_in_prompt: What the unittest prompt shows as the code answer: ``stub`` or ``canonical``.
        limit_per_sample: For ``assert``: asserts kept per generation (CodeT: 5).
        dedupe: ``text`` (exact source) or ``ast`` (also ignores comments and formatting).
        batch_problems: Problems per generator call.
    """

    style: TestStyle | Literal["auto"] = "unittest"
    n: int = 100
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = 0
    code_in_prompt: CodeInPrompt = "stub"
    limit_per_sample: int = CODET_LIMIT
    dedupe: Dedupe = "text"
    batch_problems: int = 8

    def sampling(self) -> dict[str, Any]:
        """The resolved sampling settings (recorded with every generation)."""
        d = DEFAULTS["unittest" if self.style == "auto" else self.style]
        return {
            "n": self.n,
            "temperature": d.temperature if self.temperature is None else self.temperature,
            "top_p": d.top_p if self.top_p is None else self.top_p,
            "max_tokens": d.max_tokens if self.max_tokens is None else self.max_tokens,
            "stop": list(d.stop) or None,
            "seed": self.seed,
        }

    def style_of(self, problem: Problem) -> TestStyle:
        """The style a problem's tests are written in."""
        if self.style == "auto":
            return "unittest" if problem.entry_point else "stdio"
        return self.style

    def record(self) -> dict[str, Any]:
        """The settings a resumed run must share with the run it continues."""
        return {"style": self.style, "code_in_prompt": self.code_in_prompt, **self.sampling()}


@dataclass(slots=True)
class GenerationSummary:
    """What a generation run did."""

    problems: int = 0
    skipped: int = 0
    tests: int = 0
    problems_without_tests: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


def _parse(samples: Sequence[str], problem: Problem, config: GenerationConfig) -> list[Any]:
    return parse_generations(
        samples, problem.entry_point, config.style_of(problem), config.limit_per_sample, config.dedupe
    )


def _resume_state(
    out: Path, generator: str, config: GenerationConfig, problems: dict[str, Problem]
) -> tuple[set[str], list[TestRow]]:
    """Tasks already generated, and the tests the sidecar implies that ``out`` is missing."""
    sidecar = sidecar_path(out)
    have = {(row.task_id, row.test_id) for _, row in iter_tests(out)} if out.exists() else set()
    done: set[str] = set()
    missing: list[TestRow] = []
    want = config.record()
    for no, row in enumerate(read_jsonl(sidecar, missing_ok=True), 1):
        if row.get("generator") != generator:
            continue
        got = {k: row.get(k) for k in want}
        if got != want:
            diff = ", ".join(f"{k}: {got[k]!r} != {want[k]!r}" for k in want if got[k] != want[k])
            raise InputError.at(
                sidecar,
                no,
                f"the run being resumed used other settings ({diff})",
                "Resume with the same settings, or write to a new --out",
            )
        task = row.get("task_id")
        if task in problems and isinstance(row.get("samples"), list):
            done.add(task)
            for t in _parse(row["samples"], problems[task], config):
                if (task, t.test_id) not in have:
                    missing.append(TestRow.from_parsed(task, generator, t))
    return done, missing


def generate_tests(
    problems: Sequence[Problem],
    generator: Generator,
    out: Path,
    config: GenerationConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> GenerationSummary:
    """Generates, parses and writes unit tests for ``problems``.

    Args:
        problems: The problems, in a fixed order (it determines the seeds).
        generator: The backend (its ``spec`` string is recorded as the rows' ``generator``).
        out: The ``tests.jsonl`` to write; the raw generations go next to it.
        config: Prompt style and sampling settings.
        resume: Continue a run that wrote to ``out`` (same generator and settings).
        overwrite: Replace an existing ``out`` and its sidecar.
        progress: Called with the number of problems finished after each batch.

    Returns:
        Counts of problems, tests and tokens.

    Raises:
        RunExistsError: ``out`` exists and neither ``resume`` nor ``overwrite`` was given.
        InputError: Resuming a run with different settings; duplicate task ids.
    """
    out = Path(out)
    config = config or GenerationConfig()
    sidecar = sidecar_path(out)
    by_id = {p.problem_id: p for p in problems}
    if len(by_id) != len(problems):
        raise InputError.at("problems", None, "task ids repeat", "Pass each problem once")
    if (out.exists() or sidecar.exists()) and not resume:
        if not overwrite:
            raise RunExistsError(
                f"{out} already exists. Use --resume to continue it, --overwrite to replace "
                "it, or choose another --out"
            )
        out.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
    summary = GenerationSummary()
    done, missing = _resume_state(out, generator.spec, config, by_id) if resume else (set(), [])
    summary.skipped = len(done)
    todo = [(g, p) for g, p in enumerate(problems) if p.problem_id not in done]
    sampling = config.sampling()
    with JsonlAppender(sidecar) as raw_out, JsonlAppender(out) as tests_out:
        for row in missing:
            tests_out.write(row.to_json())
        if missing:
            log.info("re-derived %d tests of finished problems from %s", len(missing), sidecar)
        for start in range(0, len(todo), max(1, config.batch_problems)):
            batch = todo[start : start + max(1, config.batch_problems)]
            _run_batch(batch, generator, config, sampling, raw_out, tests_out, summary, len(done))
            if progress is not None:
                progress(len(batch))
    return summary


def _run_batch(
    batch: Sequence[tuple[int, Problem]],
    generator: Generator,
    config: GenerationConfig,
    sampling: dict[str, Any],
    raw_out: JsonlAppender,
    tests_out: JsonlAppender,
    summary: GenerationSummary,
    done_before: int,
) -> None:
    prompts = [build_prompt(p, config.style_of(p), config.code_in_prompt) for _, p in batch]
    seeds = None if config.seed is None else [config.seed + g * config.n for g, _ in batch]
    t0 = time.perf_counter()
    results = checked_generate(
        generator,
        prompts,
        config.n,
        what="test generator",
        kept=done_before + summary.problems,
        temperature=sampling["temperature"],
        top_p=sampling["top_p"],
        max_tokens=sampling["max_tokens"],
        stop=sampling["stop"],
        seed=seeds,
    )
    seconds = time.perf_counter() - t0
    summary.seconds += seconds
    for (_, problem), prompt, result in zip(batch, prompts, results, strict=True):
        tests = _parse(result.texts, problem, config)
        raw_out.write(
            {
                "task_id": problem.problem_id,
                "generator": generator.spec,
                **config.record(),
                "prompt": prompt,
                "samples": list(result.texts),
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
                "seconds": round(seconds / len(batch), 3),
                "n_tests": len(tests),
            }
        )
        for t in tests:
            tests_out.write(TestRow.from_parsed(problem.problem_id, generator.spec, t).to_json())
        summary.problems += 1
        summary.tests += len(tests)
        summary.prompt_tokens += result.prompt_tokens or 0
        summary.completion_tokens += result.completion_tokens or 0
        if not tests:
            summary.problems_without_tests.append(problem.problem_id)
    log.debug("batch of %d problems in %.1f s", len(batch), seconds)


def summary_dict(summary: GenerationSummary) -> dict[str, Any]:
    """The summary as plain JSON values."""
    return asdict(summary)
