"""Sampling programs from a policy model into an EvalPlus samples file, resumably.

The prompt (EvalPlus's instruction, with the answer pre-filled up to an open code block, as lm-eval
sends it with ``--apply_chat_template``), the stop strings and the answer extraction are those of
the lm-eval tasks (``humaneval_plus_rm``, ``mbpp_plus_rm``), so numbers from both paths are
comparable. Problems go to the model in batches;
as each batch returns, every problem's raw responses and the settings that produced them go to
the sidecar ``<out>.generations.jsonl`` and its extracted programs to ``<out>`` (both fsynced).
A run that stops (Ctrl-C, ``kill -9``, a crash) keeps every finished problem; ``resume=True``
skips the problems the sidecar holds, re-derives programs that ``<out>`` lost between the two
writes, and refuses to continue a run made with other settings, naming the one that changed.

Seeds are per problem: the problem at position ``g`` of the full list has base seed
``seed + g * n`` whatever the batching or resuming, so a resumed run draws what an
uninterrupted one would (on vLLM and OpenAI-compatible servers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rerankeval.errors import InputError, RunExistsError
from rerankeval.generation.base import Generator, Prompt, checked_generate
from rerankeval.runs import JsonlAppender, read_jsonl
from rerankeval.unittests.artifact import sidecar_path


@dataclass(frozen=True, slots=True)
class SamplingConfig:
    """How programs are sampled (recorded with every problem's responses).

    Attributes:
        n: Programs per problem.
        temperature: Sampling temperature.
        top_p: Nucleus sampling.
        max_tokens: Tokens per response.
        seed: Base seed (None: unseeded).
        batch_problems: Problems per generator call (not recorded: it does not change the draws on
            vLLM and servers).
    """

    n: int = 8
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 512
    seed: int | None = 0
    batch_problems: int = 16

    def record(self) -> dict[str, Any]:
        """The settings a resumed run must share with the run it continues."""
        d = asdict(self)
        d.pop("batch_problems")
        return d


@dataclass(slots=True)
class SamplingSummary:
    """What a sampling run did."""

    problems: int = 0
    skipped: int = 0
    samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


def model_fingerprint(spec: str) -> dict[str, str]:
    """What identifies the model behind a generator spec: the spec, and an embedded model's sha256."""
    from rerankeval.generation import embedded, parse_backend_spec

    out = {"generator": spec}
    try:
        model = parse_backend_spec(spec).model
    except InputError:
        return out
    if embedded.is_embedded(model):
        out["model_sha256"] = embedded.get(model).sha256
    return out


@dataclass(frozen=True)
class PromptFormat:
    """How a benchmark asks a policy for a program and reads the program out of its answer.

    Attributes:
        dataset: The name recorded with every generation (a resume with another is refused).
        prompt: problem row -> the prompt sent (chat messages or text).
        program: (problem row, response) -> the program written to the samples file.
        stop: Stop strings of the generation (None: none).
    """

    dataset: str
    prompt: Callable[[dict[str, Any]], Prompt]
    program: Callable[[dict[str, Any], str], str]
    stop: Sequence[str] | None = None


def evalplus_format(dataset: str) -> PromptFormat:
    """The lm-eval tasks' prompt (EvalPlus's instruction) and extraction, for HumanEval+ / MBPP+."""
    from rerankeval_lmeval.data import STOP, chat_prompt, doc_fields
    from rerankeval_lmeval.extract import extract_program

    return PromptFormat(
        dataset,
        lambda p: chat_prompt(doc_fields(dataset, p["task_id"], p["prompt"], p["entry_point"])),
        lambda p, text: extract_program(text, p["entry_point"], "", p["prompt"]),
        STOP,
    )


def _resume_state(
    out: Path, sidecar: Path, identity: dict[str, Any], fmt: PromptFormat, problems: dict[str, dict[str, Any]]
) -> tuple[set[str], list[dict[str, Any]]]:
    """Problems already sampled, and the rows of ``out`` the sidecar implies that ``out`` is missing."""
    have: dict[str, int] = {}
    for row in read_jsonl(out, missing_ok=True):
        have[row.get("task_id", "")] = have.get(row.get("task_id", ""), 0) + 1
    done: set[str] = set()
    missing: list[dict[str, Any]] = []
    for no, row in enumerate(read_jsonl(sidecar, missing_ok=True), 1):
        got = {k: row.get(k) for k in identity}
        if got != identity:
            diff = ", ".join(
                f"{k}: {got[k]!r} (then) != {identity[k]!r} (now)" for k in identity if got[k] != identity[k]
            )
            raise InputError.at(
                sidecar,
                no,
                f"the run being resumed used other settings ({diff})",
                "Resume with the same model and settings, or write to a new --out",
            )
        task = row.get("task_id")
        responses = row.get("responses")
        if task not in problems or not isinstance(responses, list):
            raise InputError.at(
                sidecar,
                no,
                f"row for {task!r} is not a sampling record of this dataset",
                "Point --out at a samples file this command wrote, or use a new --out",
            )
        done.add(task)
        # Stopped between the sidecar and the samples write, or among a problem's rows: its rows are
        # written in order, so the ones present are the first ``have``.
        missing += [
            {"task_id": task, "solution": fmt.program(problems[task], r)}
            for r in responses[have.get(task, 0) :]
        ]
    return done, missing


def generate_samples(
    dataset: str,
    problems: Sequence[dict[str, Any]],
    generator: Generator,
    out: Path,
    config: SamplingConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    prompt_format: PromptFormat | None = None,
) -> SamplingSummary:
    """Samples ``config.n`` programs per problem into the EvalPlus samples file ``out``.

    Args:
        dataset: ``humaneval`` or ``mbpp`` (chooses the lm-eval task's prompt).
        problems: EvalPlus problems (``task_id``, ``prompt``, ``entry_point``), in a fixed order
            (with ``prompt_format``: any rows with a ``task_id`` that it reads).
        generator: The policy's backend.
        out: The samples file; the raw responses go to ``<out stem>.generations.jsonl``.
        config: Sampling settings.
        resume: Continue a run that wrote to ``out`` (same model and settings).
        overwrite: Replace an existing ``out`` and its sidecar.
        progress: Called with (problems finished, completion tokens) after each batch.
        prompt_format: Another benchmark's prompt and extraction (default: :func:`evalplus_format`).

    Raises:
        RunExistsError: ``out`` exists and neither ``resume`` nor ``overwrite`` was given.
        InputError: Resuming with other settings; repeated task ids.
    """
    fmt = prompt_format or evalplus_format(dataset)
    out = Path(out)
    config = config or SamplingConfig()
    sidecar = sidecar_path(out)
    by_id = {p["task_id"]: p for p in problems}
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
    identity = {**model_fingerprint(generator.spec), "dataset": fmt.dataset, **config.record()}
    done, missing = _resume_state(out, sidecar, identity, fmt, by_id) if resume else (set(), [])
    summary = SamplingSummary(skipped=len(done))
    todo = [(g, p) for g, p in enumerate(problems) if p["task_id"] not in done]
    step = max(1, config.batch_problems)
    with JsonlAppender(sidecar) as raw_out, JsonlAppender(out) as samples_out:
        for row in missing:
            samples_out.write(row)
        for start in range(0, len(todo), step):
            batch = todo[start : start + step]
            prompts = [fmt.prompt(p) for _, p in batch]
            seeds = None if config.seed is None else [config.seed + g * config.n for g, _ in batch]
            t0 = time.perf_counter()
            results = checked_generate(
                generator,
                prompts,
                config.n,
                what="policy model",
                kept=len(done) + summary.problems,
                temperature=config.temperature,
                top_p=config.top_p,
                max_tokens=config.max_tokens,
                stop=fmt.stop,
                seed=seeds,
            )
            seconds = time.perf_counter() - t0
            summary.seconds += seconds
            tokens = 0
            for (_, p), result in zip(batch, results, strict=True):
                raw_out.write(
                    {
                        "task_id": p["task_id"],
                        **identity,
                        "responses": list(result.texts),
                        "prompt_tokens": result.prompt_tokens,
                        "completion_tokens": result.completion_tokens,
                        "seconds": round(seconds / len(batch), 3),
                    }
                )
                raw_out.flush()
                for text in result.texts:
                    samples_out.write({"task_id": p["task_id"], "solution": fmt.program(p, text)})
                summary.problems += 1
                summary.samples += len(result.texts)
                summary.prompt_tokens += result.prompt_tokens or 0
                summary.completion_tokens += result.completion_tokens or 0
                tokens += result.completion_tokens or 0
            samples_out.flush()
            if progress is not None:
                progress(len(batch), tokens)
    return summary
