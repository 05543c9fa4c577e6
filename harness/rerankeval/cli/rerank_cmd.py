"""``rerankeval rerank``: score samples (HumanEval+, MBPP+, LiveCodeBench) with and without reranking."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from rerankeval.cli._params import Finite, check_window, dataset_options
from rerankeval.errors import InputError


def _value(raw: str, where: str = "-R") -> Any:
    """A plugin argument: JSON when it parses (numbers, true/false, null, lists), else the string.

    Raises:
        click.BadParameter: ``NaN`` or ``Infinity`` (JSON's non-finite numbers), anywhere in the value.
    """
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return raw
    for x in value if isinstance(value, list) else (value,):
        if isinstance(x, float) and not math.isfinite(x):
            raise click.BadParameter(f"{raw!r} is not a finite number", param_hint=where)
    return value


def _pairs(text: str, where: str) -> dict[str, Any]:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, val = part.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"expected key=value, got {part!r}", param_hint=where)
        out[key.strip().replace("-", "_")] = _value(val.strip(), where)
    return out


def parse_rerankers(
    specs: Sequence[str], plugin_args: Sequence[str], rm: str | None = None
) -> tuple[Any, ...]:
    """``--reranker name[:k=v,...]``, ``-R [name.]key=value`` and ``--rm SPEC`` into RerankerChoice values.

    ``--rm`` is the model of every reranker that takes a reward model (``rm``, ``hybrid``) and does
    not name one itself; the label stays the reranker's name (the spec is recorded in run.json).
    """
    from rerankeval.pipeline import RerankerChoice
    from rerankeval.rerankers.registry import reranker_accepts

    parsed: list[tuple[str, dict[str, Any], str]] = []
    for spec in specs:
        name, _, rest = spec.partition(":")
        parsed.append((name.strip(), _pairs(rest, "--reranker"), spec.strip()))
    takes_rm = {p[0] for p in parsed if reranker_accepts(p[0], "rm")}
    if rm is not None and not takes_rm:
        raise click.BadParameter(
            "--rm names the reward model of the rerankers that take one (rm, hybrid): add --reranker rm",
            param_hint="--rm",
        )
    for raw in plugin_args:
        key, eq, val = raw.partition("=")
        if not eq:
            raise click.BadParameter(f"expected [reranker.]key=value, got {raw!r}", param_hint="-R")
        target, dot, arg = key.rpartition(".") if "." in key else ("", "", key)
        hits = [p for p in parsed if p[0] == target] if dot else parsed
        if not hits or (not dot and len(parsed) > 1):
            raise click.BadParameter(
                f"{raw!r}: with several rerankers write -R <reranker>.{arg}=value", param_hint="-R"
            )
        for p in hits:
            p[1][arg.replace("-", "_")] = _value(val)

    def label(name: str, args: dict[str, Any]) -> str:
        return name if not args else f"{name}:" + ",".join(f"{k}={v}" for k, v in args.items())

    out = []
    for name, args, _ in parsed:
        shown = label(name, args)
        if rm is not None and name in takes_rm and "rm" not in args:
            args = {"rm": rm, **args}
        out.append(RerankerChoice(shown, name, args))
    return tuple(out)


def parse_allocation(
    budget: float | None,
    allocation: str | None,
    options: Sequence[str],
    difficulty: Path | None,
    num_tests: int | None,
    probe: Path | None = None,
) -> dict[str, Any]:
    """Checks the ``--budget`` flags together and parses ``-A key=value`` into allocation options.

    Raises:
        click.UsageError: Allocation flags without ``--budget``, ``--budget`` with ``--num-tests``,
            ``--difficulty`` with another allocation than greedy, ``--probe`` without
            ``--difficulty``, or a bad ``-A`` option.
    """
    if probe is not None and difficulty is None:
        raise click.UsageError("--probe reads hidden states: pass them with --difficulty FEATURES.jsonl")
    if budget is None:
        flags = {"--allocation": allocation, "-A": options, "--difficulty": difficulty}
        given = [flag for flag, value in flags.items() if value]
        if given:
            raise click.UsageError(f"{', '.join(given)} only apply with --budget (average tests per problem)")
        return {}
    if num_tests is not None:
        raise click.UsageError("--budget and --num-tests exclude each other: drop one of them")
    if difficulty is not None and (allocation or "uniform") != "greedy":
        raise click.UsageError("--difficulty is read by --allocation greedy only")
    parsed: dict[str, Any] = {}
    for raw in options:
        parsed.update(_pairs(raw, "-A"))
    from rerankeval.scaling import check_options

    try:
        check_options(allocation or "uniform", parsed)
    except InputError as e:
        raise click.BadParameter(str(e), param_hint="-A") from None
    return parsed


def _livecodebench(
    samples: Path,
    dataset_path: Path | None,
    release: str,
    start_date: str | None,
    end_date: str | None,
    parallel: int | None,
    cache: bool,
) -> tuple[list[Any], Any, tuple[str, ...]]:
    """Candidates, the benchmark adapter and the sandbox preload of a LiveCodeBench run."""
    from rerankeval_livecodebench import LiveCodeBenchBenchmark, load_dataset
    from rerankeval_livecodebench.grader import PRELOAD
    from rerankeval_livecodebench.samples import read_samples

    ds = load_dataset(dataset_path, release=release, start_date=start_date, end_date=end_date)
    return read_samples(samples, ds), LiveCodeBenchBenchmark(ds, parallel, cache), PRELOAD


@click.command()
@dataset_options("HumanEval+, MBPP+ or LiveCodeBench (code generation).")
@click.option(
    "--samples",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="Samples JSONL: task_id + solution|completion, N lines per task (index = order in task); for "
    "LiveCodeBench also question_id + code, or LiveCodeBench's code_list rows.",
)
@click.option(
    "--tests",
    "tests_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Generated tests (tests.jsonl from `rerankeval tests generate|import`); needed by the unit-test "
    "rerankers (coderm, codet, mbr-exec).",
)
@click.option(
    "--reranker",
    "rerankers",
    multiple=True,
    required=True,
    metavar="NAME[:K=V,...]",
    help="Reranker to compare (repeatable), e.g. coderm, codet, codet:size=linear, mbr-exec, rm, random, "
    "oracle.",
)
@click.option(
    "--rm",
    "rm_spec",
    default=None,
    metavar="SPEC",
    help="Reward model of the `rm` reranker: vllm:M, hf:M, openai:URL#M (scalar head), verifier:<same> "
    "(P(YES) of a yes/no verifier); same as -R rm=SPEC.",
)
@click.option(
    "-R",
    "plugin_args",
    multiple=True,
    metavar="[NAME.]KEY=VALUE",
    help="Reranker argument (repeatable); prefix the reranker name when several are given.",
)
@click.option(
    "--num-tests",
    type=click.IntRange(min=1),
    default=None,
    help="Use K random tests per problem (seeded; the mean of --draws draws).",
)
@click.option(
    "--num-samples",
    type=click.IntRange(min=1),
    default=None,
    help="Use N random samples per problem (seeded; the mean of --draws draws).",
)
@click.option(
    "--draws",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Random subsets averaged when subsampling.",
)
@click.option(
    "--budget",
    type=Finite(min=0, min_open=True),
    default=None,
    help="Execute only B tests per problem on average, spread by --allocation (default: every test).",
)
@click.option(
    "--allocation",
    type=click.Choice(["uniform", "greedy", "adaptive"]),
    default=None,
    help="How --budget is spread: uniform (default), greedy (CodeRM's marginal gain), adaptive.",
)
@click.option(
    "-A",
    "--allocation-option",
    "allocation_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Allocation option (repeatable): step, rule, slack, patience, first_batch, estimator, select, ...",
)
@click.option(
    "--difficulty",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Predicted pass rate per problem (JSONL/CSV with problem_id, p) for --allocation greedy; with "
    "--probe, the policy's hidden states instead (JSONL with problem_id, h).",
)
@click.option(
    "--probe",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help='A trained linear probe (JSON {"w": [...], "b": ...}) that predicts each pass rate from '
    "--difficulty's hidden states (CodeRM's difficulty probe).",
)
@click.option(
    "--parallel", type=click.IntRange(min=1), default=None, help="Sandbox workers (default: all cores)."
)
@click.option(
    "--dataset-path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="EvalPlus release file (default: EvalPlus's own resolution).",
)
@click.option(
    "--time-limit",
    type=Finite(min=0.001),
    default=None,
    help="Per-test time limit of the pass matrix in seconds (default 0.25; CodeT used 0.1).",
)
@click.option(
    "--generator", default=None, help="Use this generator's tests when the tests file holds several."
)
@click.option(
    "--dedupe-tests", is_flag=True, help="Count each distinct test once (default: as often as generated)."
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Replicates of the tests bootstrap (0: none).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of subsampling and bootstraps.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the execution caches.")
@click.option(
    "--test-details",
    is_flag=True,
    help="Ground truth runs every benchmark input (not stopping at the first failure): each candidate's "
    "fraction of inputs passed, for the Scoring Verifiers ranking metrics of every reward.",
)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Run directory.")
@click.option("--resume", is_flag=True, help="Continue the run in --out, skipping finished rows.")
@click.option("--overwrite", is_flag=True, help="Replace the run in --out.")
@click.option("--markdown", is_flag=True, help="Print the summary as markdown.")
def rerank(
    dataset: str,
    release: str,
    start_date: str | None,
    end_date: str | None,
    samples: Path,
    tests_path: Path | None,
    rerankers: tuple[str, ...],
    rm_spec: str | None,
    plugin_args: tuple[str, ...],
    num_tests: int | None,
    num_samples: int | None,
    draws: int,
    budget: float | None,
    allocation: str | None,
    allocation_options: tuple[str, ...],
    difficulty: Path | None,
    probe: Path | None,
    parallel: int | None,
    dataset_path: Path | None,
    time_limit: float | None,
    generator: str | None,
    dedupe_tests: bool,
    bootstrap: int,
    seed: int,
    no_cache: bool,
    test_details: bool,
    out: Path,
    resume: bool,
    overwrite: bool,
    markdown: bool,
) -> None:
    """Rerank samples of HumanEval+, MBPP+ or LiveCodeBench (generated unit tests, a reward model) and
    report pass@1 with and without.

    Writes the run directory (run.json, candidates, gold, matrix, rm_scores, selections, metrics
    and selected/<reranker>.jsonl EvalPlus samples files) and prints a summary table on stdout.
    """
    import logging

    from tqdm.contrib.logging import logging_redirect_tqdm

    from rerankeval.pipeline import RerankConfig, run_rerank
    from rerankeval.pipeline.table import format_markdown, format_text
    from rerankeval.unittests.matrix import DEFAULT_TIME_LIMIT_S
    from rerankeval_evalplus import EvalPlusBenchmark, load_dataset, read_samples
    from rerankeval_evalplus.judge import PRELOAD

    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite exclude each other")
    choices = parse_rerankers(rerankers, plugin_args, rm_spec)
    alloc_options = parse_allocation(budget, allocation, allocation_options, difficulty, num_tests, probe)
    cfg = RerankConfig(
        dataset=dataset,
        samples=samples,
        tests=tests_path,
        rerankers=choices,
        out=out,
        dataset_path=dataset_path,
        num_tests=num_tests,
        num_samples=num_samples,
        draws=draws,
        time_limit_s=time_limit if time_limit is not None else DEFAULT_TIME_LIMIT_S,
        parallel=parallel,
        bootstrap=bootstrap,
        seed=seed,
        cache=not no_cache,
        generator=generator,
        dedupe_tests=dedupe_tests,
        budget=budget,
        allocation=allocation or "uniform",
        allocation_options=alloc_options,
        difficulty=difficulty,
        probe=probe,
    )
    bench: Any
    if dataset == "livecodebench":
        if test_details:
            raise click.UsageError("--test-details: LiveCodeBench's grader stops at the first failing test")
        candidates, bench, preload = _livecodebench(
            samples, dataset_path, release, start_date, end_date, parallel, not no_cache
        )
    else:
        check_window(dataset, release, start_date, end_date)
        ds = load_dataset(dataset, dataset_path)
        from rerankeval.core.types import Candidate

        candidates = [Candidate(s.task_id, s.index, s.solution) for s in read_samples(samples, ds)]
        bench, preload = EvalPlusBenchmark(ds, parallel, not no_cache, None, test_details), PRELOAD
    if not candidates:
        raise InputError.at(samples, None, "no samples", "Pass a samples file with N lines per task")
    from rerankeval.sandbox import LocalExecutor

    # One pool of sandbox workers serves the ground truth and the pass matrix.
    with (
        logging_redirect_tqdm(loggers=[logging.getLogger("rerankeval")]),
        LocalExecutor(parallel, preload=preload) as executor,
    ):
        bench.executor = executor
        result = run_rerank(
            cfg,
            bench,
            candidates,
            resume=resume,
            overwrite=overwrite,
            executor=executor,
        )
    click.echo(f"run: {result.path}")
    click.echo(format_markdown(result.metrics) if markdown else format_text(result.metrics))
