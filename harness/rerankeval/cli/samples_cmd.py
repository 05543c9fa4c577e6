"""``rerankeval samples``: convert released sample sets into EvalPlus samples files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from rerankeval.cli._params import Finite, check_window, dataset_options


@click.group()
def samples() -> None:
    """Work with EvalPlus samples files."""


@samples.command("import")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["codet", "codex"]),
    required=True,
    help="codet: CodeT's *_code_solution.jsonl; codex: rows of task_id/sample_idx/completion.",
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--prompts",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="codet only: HumanEval_for_code_generation.jsonl (default: next to PATH).",
)
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="EvalPlus samples .jsonl to write."
)
def import_(fmt: str, path: Path, prompts: Path | None, out: Path) -> None:
    """Convert PATH into an EvalPlus samples file."""
    from rerankeval_evalplus.importers import convert

    n = convert(fmt, path, out, prompts)
    click.echo(f"{out}: {n} samples")


@samples.command("generate")
@dataset_options("HumanEval+, MBPP+ or LiveCodeBench (its own prompt and extraction).")
@click.option(
    "--model",
    required=True,
    metavar="SPEC",
    help="Policy model: vllm:<model>, hf:<model>, openai:<base_url>#<model>, or smollm2; <model> may "
    "be an embedded model (rerankeval models list).",
)
@click.option(
    "-n", "n", type=click.IntRange(min=1), default=8, show_default=True, help="Samples per problem."
)
@click.option("--temperature", type=Finite(min=0), default=0.8, show_default=True)
@click.option("--top-p", type=Finite(min=0, max=1, min_open=True), default=0.95, show_default=True)
@click.option("--max-tokens", type=click.IntRange(min=1), default=512, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first K problems.")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Base seed (sample j of problem g: seed + g*n + j).",
)
@click.option(
    "--batch-problems",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Problems per generator call (vLLM batches all their samples together).",
)
@click.option(
    "--dataset-path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="EvalPlus release file (default: EvalPlus's own resolution).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="EvalPlus samples .jsonl to write (raw responses and settings go to <stem>.generations.jsonl).",
)
@click.option("--resume", is_flag=True, help="Continue a run that wrote to --out (same model and settings).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out.")
def generate(
    dataset: str,
    release: str,
    start_date: str | None,
    end_date: str | None,
    model: str,
    n: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
    limit: int | None,
    seed: int,
    batch_problems: int,
    dataset_path: Path | None,
    out: Path,
    resume: bool,
    overwrite: bool,
) -> None:
    """Sample N programs per problem from a policy model into an EvalPlus samples file.

    The prompt and the answer extraction are those of the lm-eval tasks (humaneval_plus_rm,
    mbpp_plus_rm), so numbers from both paths are comparable; LiveCodeBench's are its own. Finished
    problems are on disk as they complete: after a stop, the same command with --resume continues.
    """
    from tqdm import tqdm

    from rerankeval.generation import load_generator
    from rerankeval_evalplus import load_dataset
    from rerankeval_evalplus.sampling import SamplingConfig, generate_samples

    fmt = None
    problems: list[dict[str, Any]]
    if dataset == "livecodebench":
        from rerankeval_livecodebench import load_dataset as load_lcb
        from rerankeval_livecodebench.prompts import problem_rows, sampling_format

        lcb = load_lcb(dataset_path, release=release, start_date=start_date, end_date=end_date)
        problems, fmt = problem_rows(lcb.problems.values())[:limit], sampling_format()
    else:
        check_window(dataset, release, start_date, end_date)
        problems = list(load_dataset(dataset, dataset_path).problems.values())[:limit]
    gen = load_generator(model)
    config = SamplingConfig(
        n=n,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        seed=seed,
        batch_problems=batch_problems,
    )
    bar = tqdm(total=len(problems), unit="problem", desc="sample", disable=None)
    tokens = [0, time.perf_counter()]

    def progress(problems_done: int, new_tokens: int) -> None:
        tokens[0] += new_tokens
        bar.set_postfix_str(
            f"{tokens[0] / max(1e-9, time.perf_counter() - tokens[1]):.0f} tok/s", refresh=False
        )
        bar.update(problems_done)

    with bar:
        summary = generate_samples(
            dataset,
            problems,
            gen,
            out,
            config,
            resume=resume,
            overwrite=overwrite,
            progress=progress,
            prompt_format=fmt,
        )
    rate = summary.completion_tokens / summary.seconds if summary.seconds else 0.0
    skipped = f", {summary.skipped} problems already done" if summary.skipped else ""
    click.echo(
        f"{out}: {summary.samples} samples ({summary.problems} problems x {n}{skipped}) from {gen.spec}; "
        f"{summary.completion_tokens:,} tokens in {summary.seconds:.0f} s ({rate:.1f} tok/s)"
    )
