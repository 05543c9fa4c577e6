"""``rerankeval tests``: generate unit tests with a model, or import released ones, into ``tests.jsonl``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from rerankeval.cli._params import DEFAULT_RELEASE, Finite, check_window, dataset_options
from rerankeval.core.types import Problem

log = logging.getLogger(__name__)


def _lcb_problems(
    dataset_path: Path | None,
    window: tuple[str, str | None, str | None],
    limit: int | None,
    task_ids: tuple[str, ...],
) -> list[Problem]:
    """LiveCodeBench problems as core Problems (statement, starter code as the stub), in file order."""
    from rerankeval.errors import InputError
    from rerankeval_livecodebench import load_dataset

    ds = load_dataset(dataset_path, release=window[0], start_date=window[1], end_date=window[2])
    items = [p.core() for p in ds.problems.values()]
    if task_ids:
        unknown = sorted(set(task_ids) - set(ds.problems))
        if unknown:
            raise InputError(f"unknown problem ids {', '.join(unknown)} in {ds.source}")
        items = [p for p in items if p.problem_id in set(task_ids)]
    return items[:limit] if limit is not None else items


def _problems(
    dataset: str,
    dataset_path: Path | None,
    limit: int | None,
    task_ids: tuple[str, ...],
    window: tuple[str, str | None, str | None] = (DEFAULT_RELEASE, None, None),
) -> list[Problem]:
    """The benchmark's problems as core Problems, in dataset order."""
    from rerankeval.errors import InputError

    if dataset == "livecodebench":
        return _lcb_problems(dataset_path, window, limit, task_ids)
    from rerankeval_evalplus import load_dataset

    ds = load_dataset(dataset, path=dataset_path)
    items = list(ds.problems.values())
    if task_ids:
        unknown = sorted(set(task_ids) - set(ds.problems))
        if unknown:
            raise InputError.at(
                ds.path,
                None,
                f"unknown task ids {', '.join(unknown)}",
                f"Use ids of {dataset}, e.g. {items[0]['task_id']}",
            )
        items = [p for p in items if p["task_id"] in set(task_ids)]
    if limit is not None:
        items = items[:limit]
    return [Problem(p["task_id"], p["prompt"], p["entry_point"], p["canonical_solution"]) for p in items]


@click.group()
def tests() -> None:
    """Generate or import unit tests (the tests.jsonl artifact)."""


@tests.command("generate")
@dataset_options("HumanEval+, MBPP+ or LiveCodeBench.")
@click.option(
    "--dataset-path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="EvalPlus release file (default: the override variable or EvalPlus's download).",
)
@click.option(
    "--generator",
    "spec",
    required=True,
    help="Backend spec: vllm:MODEL, hf:MODEL, openai:URL#MODEL or smollm2.",
)
@click.option(
    "-n", "n", type=click.IntRange(min=1), default=100, show_default=True, help="Generations per problem."
)
@click.option(
    "--style",
    type=click.Choice(["unittest", "assert", "stdio", "auto"]),
    default=None,
    help="unittest: CodeRM-8B prompt, one TestCase class per test; assert: CodeT prompt; stdio: "
    "input/output cases for programs that read stdin; auto: stdio for those, unittest for functions. "
    "Default: unittest (auto for LiveCodeBench).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first K problems.")
@click.option("--task-id", "task_ids", multiple=True, help="Only these problems (repeatable).")
@click.option("--temperature", type=Finite(min=0), default=None, help="Default 0.8.")
@click.option("--top-p", type=Finite(min=0, max=1, min_open=True), default=None, help="Default 0.95.")
@click.option(
    "--max-tokens", type=click.IntRange(min=1), default=None, help="Default 2048 (unittest) or 300 (assert)."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Base seed (problem g gets seed + g*n).")
@click.option(
    "--code-in-prompt",
    type=click.Choice(["stub", "canonical"]),
    default="stub",
    show_default=True,
    help="unittest: the code shown to the test writer (canonical leaks the reference answer).",
)
@click.option(
    "--batch-problems",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Problems per generator call.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="tests.jsonl to write."
)
@click.option("--resume", is_flag=True, help="Continue a run that wrote to --out.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out.")
def generate(
    dataset: str,
    release: str,
    start_date: str | None,
    end_date: str | None,
    dataset_path: Path | None,
    spec: str,
    n: int,
    style: str | None,
    limit: int | None,
    task_ids: tuple[str, ...],
    temperature: float | None,
    top_p: float | None,
    max_tokens: int | None,
    seed: int,
    code_in_prompt: str,
    batch_problems: int,
    out: Path,
    resume: bool,
    overwrite: bool,
) -> None:
    """Sample unit tests for a benchmark's problems with a model."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from rerankeval.generation import load_generator
    from rerankeval.unittests.generate import GenerationConfig, generate_tests, summary_dict

    if dataset == "livecodebench":
        style = style or "auto"
        if style == "assert":
            raise click.BadParameter(
                "CodeT's assert prompt calls a top-level function; LiveCodeBench's functional problems are "
                "methods of Solution. Use --style auto (or unittest/stdio)",
                param_hint="--style",
            )
    check_window(dataset, release, start_date, end_date)
    style = style or "unittest"
    problems = _problems(dataset, dataset_path, limit, task_ids, (release, start_date, end_date))
    generator = load_generator(spec)
    config = GenerationConfig(
        style=style,  # type: ignore[arg-type]
        n=n,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        seed=seed,
        code_in_prompt=code_in_prompt,  # type: ignore[arg-type]
        batch_problems=batch_problems,
    )
    bar = tqdm(total=len(problems), unit="problem", disable=None, desc="tests")
    with logging_redirect_tqdm(), bar:
        summary = generate_tests(
            problems, generator, out, config, resume=resume, overwrite=overwrite, progress=bar.update
        )
    info = summary_dict(summary)
    if summary.problems_without_tests:
        log.warning(
            "%d problems got no usable test: %s",
            len(summary.problems_without_tests),
            ", ".join(summary.problems_without_tests[:10]),
        )
    click.echo(
        json.dumps(
            {
                "out": str(out),
                "generator": generator.spec,
                **info,
                "problems_without_tests": len(summary.problems_without_tests),
            }
        )
    )


@tests.command("import")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["codet", "coderm"]),
    required=True,
    help="codet: CodeT's *_test_case.jsonl; coderm: CodeRM's ut_<model>_<n>.jsonl.",
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="codet: the *_for_test_case_generation.jsonl the samples came from (default: next to PATH).",
)
@click.option(
    "--dataset",
    type=click.Choice(["humaneval", "mbpp"]),
    default=None,
    help="coderm: drop redefinitions of each problem's function (needs its entry points).",
)
@click.option("--dataset-path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option(
    "--generator",
    "name",
    default=None,
    help="Generator name recorded in the rows (default: codet:<file stem> or coderm:<file stem>).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="tests.jsonl to write."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing --out.")
def import_(
    fmt: str,
    path: Path,
    source: Path | None,
    dataset: str | None,
    dataset_path: Path | None,
    name: str | None,
    out: Path,
    overwrite: bool,
) -> None:
    """Convert released unit tests (CodeT, CodeRM) in PATH into a tests.jsonl."""
    from rerankeval.errors import RunExistsError
    from rerankeval.unittests.artifact import write_tests
    from rerankeval.unittests.importers import import_coderm, import_codet

    if out.exists() and not overwrite:
        raise RunExistsError(f"{out} already exists. Use --overwrite to replace it, or choose another --out")
    if fmt == "codet":
        rows = import_codet(path, source=source, generator=name)
    else:
        entry_points = None
        if dataset is not None:
            entry_points = {p.problem_id: p.entry_point for p in _problems(dataset, dataset_path, None, ())}
        rows = import_coderm(path, entry_points=entry_points, generator=name)
    count = write_tests(out, rows)
    tasks = len({r.task_id for r in rows})
    click.echo(
        json.dumps(
            {
                "out": str(out),
                "tests": count,
                "tasks": tasks,
                "generator": rows[0].generator if rows else name,
            }
        )
    )
