"""``rerankeval samples``: convert released sample sets into EvalPlus samples files."""

from __future__ import annotations

from pathlib import Path

import click

from rerankeval.cli._params import Finite


@click.group()
def samples() -> None:
    """Work with EvalPlus samples files."""


@samples.command("import")
@click.option("--format", "fmt", type=click.Choice(["codet", "codex"]), required=True,
              help="codet: CodeT's *_code_solution.jsonl; codex: rows of task_id/sample_idx/completion.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--prompts", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="codet only: HumanEval_for_code_generation.jsonl (default: next to PATH).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="EvalPlus samples .jsonl to write.")
def import_(fmt: str, path: Path, prompts: Path | None, out: Path) -> None:
    """Convert PATH into an EvalPlus samples file."""
    from rerankeval_evalplus.importers import convert

    n = convert(fmt, path, out, prompts)
    click.echo(f"{out}: {n} samples")


@samples.command("generate")
@click.option("--dataset", type=click.Choice(["humaneval", "mbpp"]), required=True, help="HumanEval+ or MBPP+.")
@click.option("--model", required=True, metavar="SPEC",
              help="Policy model: vllm:<model>, hf:<model>, openai:<base_url>#<model>, or smollm2.")
@click.option("-n", "n", type=click.IntRange(min=1), default=8, show_default=True, help="Samples per problem.")
@click.option("--temperature", type=Finite(min=0), default=0.8, show_default=True)
@click.option("--top-p", type=Finite(min=0, max=1, min_open=True), default=0.95, show_default=True)
@click.option("--max-tokens", type=click.IntRange(min=1), default=512, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first K problems.")
@click.option("--seed", type=int, default=0, show_default=True, help="Base seed (sample j of prompt i: seed + i*n + j).")
@click.option("--dataset-path", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="EvalPlus release file (default: EvalPlus's own resolution).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="EvalPlus samples .jsonl to write.")
@click.option("--raw-out", type=click.Path(path_type=Path), default=None,
              help="Also keep the raw responses (JSONL: task_id, index, response).")
def generate(dataset: str, model: str, n: int, temperature: float, top_p: float, max_tokens: int, limit: int | None,
             seed: int, dataset_path: Path | None, out: Path, raw_out: Path | None) -> None:
    """Sample N programs per problem from a policy model into an EvalPlus samples file.

    The prompt and the answer extraction are those of the lm-eval tasks (humaneval_plus_rm,
    mbpp_plus_rm), so numbers from both paths are comparable.
    """
    import json

    from tqdm import tqdm

    from rerankeval.generation import load_generator
    from rerankeval_evalplus import load_dataset
    from rerankeval_lmeval.data import doc_fields
    from rerankeval_lmeval.extract import extract_program

    ds = load_dataset(dataset, dataset_path)
    problems = list(ds.problems.values())[:limit]
    gen = load_generator(model)
    tmp = Path(str(out) + ".tmp")
    raw = open(raw_out, "w", encoding="utf-8") if raw_out else None  # noqa: SIM115
    written = 0
    try:
        with open(tmp, "w", encoding="utf-8") as f, tqdm(total=len(problems), unit="problem", desc="sample",
                                                         disable=None) as bar:
            for i in range(0, len(problems), 8):
                batch = problems[i:i + 8]
                docs = [doc_fields(dataset, p["task_id"], p["prompt"], p["entry_point"]) for p in batch]
                prompts = [[{"role": "user", "content": d["instruction"]}] for d in docs]
                outs = gen.generate(prompts, n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                                    seed=[seed + (i + j) * n for j in range(len(batch))])
                for p, texts in zip(batch, outs, strict=True):
                    for j, text in enumerate(texts):
                        program = extract_program(text, p["entry_point"], "", p["prompt"])
                        f.write(json.dumps({"task_id": p["task_id"], "solution": program}) + "\n")
                        if raw:
                            raw.write(json.dumps({"task_id": p["task_id"], "index": j, "response": text}) + "\n")
                        written += 1
                bar.update(len(batch))
    finally:
        if raw:
            raw.close()
    tmp.replace(out)
    click.echo(f"{out}: {written} samples ({len(problems)} problems x {n}) from {model}")
