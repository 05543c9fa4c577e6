"""Generation speed on CPU: rerankeval's sampling and test generation through its vLLM backend against
a bare ``vllm.LLM.chat`` on the same prompts and settings, in one run, for the embedded models.

    python benchmarks/generation_speed.py --dataset-path ../shared/data/humanevalplus/HumanEvalPlus.jsonl.gz
    python benchmarks/generation_speed.py --models qwen2.5-coder-0.5b --problems 8 --batch-problems 4,16

For each model the two paths share one engine (loaded once) and alternate in rounds, so both see the
same machine load; each round generates the same work (``--problems`` HumanEval+ prompts x ``-n``
samples at T=0.8, top-p 0.95, per-problem seeds) with rerankeval's ``samples generate`` and ``tests
generate`` code and with one bare ``LLM.chat`` call over all prompts. Figures: output tokens per second
of each path, their ratio, and how the number of problems per generator call changes rerankeval's
throughput (its ``--batch-problems``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _prompts(
    dataset: str, path: Path | None, k: int
) -> tuple[list[dict[str, Any]], list[list[dict[str, str]]]]:
    """The first ``k`` problems and their chats exactly as ``samples generate`` sends them (the answer
    pre-filled up to an open code block)."""
    from rerankeval_evalplus import load_dataset
    from rerankeval_lmeval.data import chat_prompt, doc_fields

    problems = list(load_dataset(dataset, path).problems.values())[:k]
    chats = [chat_prompt(doc_fields(dataset, p["task_id"], p["prompt"], p["entry_point"])) for p in problems]
    return problems, chats


def _bare(
    llm: Any, prompts: list[Any], n: int, max_tokens: int, seed: int, stop: list[str] | None, chat: bool
) -> tuple[int, float]:
    """One bare vLLM call over every prompt: (output tokens, seconds)."""
    from vllm import SamplingParams

    params = [
        SamplingParams(n=n, temperature=0.8, top_p=0.95, max_tokens=max_tokens, seed=seed + g * n, stop=stop)
        for g in range(len(prompts))
    ]
    t = time.perf_counter()
    if chat:  # the last message is the pre-filled answer, which the model continues
        outs = llm.chat(
            prompts, params, use_tqdm=False, add_generation_prompt=False, continue_final_message=True
        )
    else:
        outs = llm.generate(prompts, params, use_tqdm=False)
    secs = time.perf_counter() - t
    return sum(len(o.token_ids) for out in outs for o in out.outputs), secs


def _rerankeval_samples(
    dataset: str, problems: list[dict[str, Any]], gen: Any, n: int, max_tokens: int, seed: int, batch: int
) -> tuple[int, float]:
    from rerankeval_evalplus.sampling import SamplingConfig, generate_samples

    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        s = generate_samples(
            dataset,
            problems,
            gen,
            Path(d) / "s.jsonl",
            SamplingConfig(n=n, max_tokens=max_tokens, seed=seed, batch_problems=batch),
        )
        return s.completion_tokens, time.perf_counter() - t


def _rerankeval_tests(
    problems: list[dict[str, Any]], gen: Any, n: int, seed: int, batch: int, max_tokens: int
) -> tuple[int, float]:
    from rerankeval.core.types import Problem
    from rerankeval.unittests.generate import GenerationConfig, generate_tests

    probs = [Problem(p["task_id"], p["prompt"], p["entry_point"], p["canonical_solution"]) for p in problems]
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        s = generate_tests(
            probs,
            gen,
            Path(d) / "t.jsonl",
            GenerationConfig(style="assert", n=n, seed=seed, batch_problems=batch, max_tokens=max_tokens),
        )
        return s.completion_tokens, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="qwen2.5-coder-0.5b,qwen2.5-coder-1.5b")
    ap.add_argument("--dataset-path", type=Path, default=None)
    ap.add_argument("--problems", type=int, default=8)
    ap.add_argument("-n", type=int, default=8, help="samples per problem")
    ap.add_argument("--tests-n", type=int, default=4, help="test generations per problem")
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--tests-max-tokens", type=int, default=128, help="as the demo (CodeT keeps 5 asserts)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument(
        "--batch-problems", default="16", help="rerankeval problems per call; a list compares them"
    )
    args = ap.parse_args()
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")

    from rerankeval.generation import load_generator
    from rerankeval.generation.engines import vllm_engine
    from rerankeval.unittests.parse import CODET_LIMIT  # noqa: F401 - the assert style's parser
    from rerankeval.unittests.prompts import DEFAULTS, build_prompt
    from rerankeval_lmeval.data import STOP

    problems, chats = _prompts("humaneval", args.dataset_path, args.problems)
    batches = [int(b) for b in args.batch_problems.split(",")]
    settings = DEFAULTS["assert"]
    print(
        f"{args.problems} HumanEval+ problems; sampling: n={args.n}, T=0.8, top-p 0.95, "
        f"max {args.max_tokens} tokens; tests (CodeT assert prompt): n={args.tests_n}, "
        f"max {args.tests_max_tokens} tokens; "
        f"{args.rounds} rounds; cores: {os.cpu_count()}"
    )
    for name in args.models.split(","):
        gen = load_generator(f"vllm:{name}")
        t = time.perf_counter()
        llm = vllm_engine(name)  # the engine both paths use (rerankeval's cache returns the same object)
        print(f"\n{name}: engine loaded in {time.perf_counter() - t:.0f} s")
        from rerankeval.core.types import Problem

        test_prompts = [
            build_prompt(
                Problem(p["task_id"], p["prompt"], p["entry_point"], p["canonical_solution"]),
                "assert",
                "stub",
            )
            for p in problems
        ]
        _bare(llm, chats[:1], 1, 8, 0, None, True)  # warm-up
        rows: dict[str, list[float]] = {}
        for r in range(args.rounds):
            seed = 1000 * r
            for b in batches:
                tok, sec = _rerankeval_samples("humaneval", problems, gen, args.n, args.max_tokens, seed, b)
                rows.setdefault(f"sampling  rerankeval (batch {b})", []).append(tok / sec)
            tok, sec = _bare(llm, chats, args.n, args.max_tokens, seed, list(STOP), True)
            rows.setdefault("sampling  bare LLM.chat", []).append(tok / sec)
            for b in batches:
                tok, sec = _rerankeval_tests(problems, gen, args.tests_n, seed, b, args.tests_max_tokens)
                rows.setdefault(f"tests     rerankeval (batch {b})", []).append(tok / sec)
            tok, sec = _bare(
                llm,
                test_prompts,
                args.tests_n,
                args.tests_max_tokens,
                seed,
                list(settings.stop) or None,
                False,
            )
            rows.setdefault("tests     bare LLM.generate", []).append(tok / sec)
        width = max(len(k) for k in rows)
        for k, v in rows.items():
            rounds = ", ".join(f"{x:.1f}" for x in v)
            print(f"  {k.ljust(width)}  {statistics.mean(v):7.1f} tok/s  (rounds: {rounds})")
        for kind, bare in (("sampling", "sampling  bare LLM.chat"), ("tests", "tests     bare LLM.generate")):
            for b in batches:
                ours = statistics.mean(rows[f"{kind:<9} rerankeval (batch {b})"])
                print(f"  {kind}: rerankeval (batch {b}) / bare = {ours / statistics.mean(rows[bare]):.3f}")


if __name__ == "__main__":
    main()
