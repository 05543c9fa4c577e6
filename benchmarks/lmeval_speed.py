"""Generation speed of ``lm_eval --tasks humaneval_plus_rm`` against the bare engine on the same prompts.

    python benchmarks/lmeval_speed.py                     # 10 problems x 8 repeats, vllm, hf and openai
    python benchmarks/lmeval_speed.py --problems 1 --repeats 2 --max-tokens 16 --backends vllm

For each backend, in one process and one run, with the embedded Qwen2.5-Coder-0.5B-Instruct on CPU:

* ``vllm``: lm-eval's Python entry (``lm_eval.simple_evaluate``, what the ``lm_eval`` CLI calls) with
  ``model="vllm"``, ``--batch_size auto``, ``--apply_chat_template`` and the engine settings the
  README documents (prefix caching on), then a bare ``LLM.generate`` on the SAME engine (prefix
  cache emptied first) over the same prompt strings with the same ``SamplingParams`` (lm-eval's own
  ``modify_gen_kwargs``: stop strings, max tokens, T, top-p; the engine seed 1234), one request
  per prompt with ``n = repeats``;
* ``hf``: ``model="hf"`` with a fixed ``--batch_size`` (lm-eval's ``auto`` batch probing was killed
  for memory on this machine: the 152k-token vocabulary makes its probe batch's logits huge), then
  a bare transformers ``generate`` on the same model object, ``num_return_sequences`` = that batch
  size per call, with lm-eval's own stop criteria;
* ``openai``: ``model="local-completions"`` (``num_concurrent`` requests at a time) against a vLLM
  OpenAI server this script starts on 127.0.0.1 with the same engine settings, against the bare
  ``LLM.generate`` figure of the ``vllm`` backend (or of an in-process engine, when ``vllm`` is not
  benchmarked in the same run).

The prompts are the task's own: the task is loaded through lm-eval's TaskManager and its requests
are built with the model's chat template (as ``--apply_chat_template`` does); the prompts lm-eval
then hands the model are checked against them, and a mismatch stops the run. Generation is timed
around the backend's ``generate_until`` (output tokens counted from the engine's own token ids);
the task's filters (extraction, EvalPlus ground truth, the sandboxed pass matrix, every reranker)
are timed around ``apply_filters`` and reported apart. The unit tests come from ``--tests``, or
CodeT's released tests for HumanEval (imported from ``--codet-tests``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TASKS_DIR = ROOT / "tasks" / "lmeval"
TASK = "humaneval_plus_rm"
SHARED = ROOT.parent / "shared" / "data"
BACKENDS = ("vllm", "hf", "openai")
CODET_TESTS = "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl"
#: The engine seed of lm-eval's vLLM backend (its ``seed`` model arg) and of simple_evaluate's torch seed.
SEED = 1234


@dataclass
class Row:
    """One timed path: lm-eval's or the bare engine's."""

    backend: str
    path: str
    seconds: float
    tokens: int
    samples: int
    filter_seconds: float | None = None
    load_seconds: float | None = None
    total_seconds: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class Timers:
    """What the patched lm-eval methods record during one ``simple_evaluate``."""

    generate: float = 0.0
    filters: float = 0.0
    load: float = 0.0
    tokens: int = 0
    contexts: list[str] = field(default_factory=list)
    prompt_token_ids: list[list[int]] = field(default_factory=list)
    model: Any = None


# -- pure parts (unit-tested) ------------------------------------------------------------------


def chat_renderer(tokenizer: Any) -> Callable[..., str]:
    """The ``chat_template`` callable lm-eval's vllm, hf and local-completions backends hand a task
    with ``--apply_chat_template`` (their ``apply_chat_template``: no system prompt, the answer
    prefix continued as the final message)."""

    def render(chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return str(
            tokenizer.apply_chat_template(
                chat_history,
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
                continue_final_message=not add_generation_prompt,
            )
        )

    return render


def task_requests(task: Any, tokenizer: Any, problems: int) -> list[tuple[str, dict[str, Any], int]]:
    """(prompt, generation kwargs, repeats) of the first ``problems`` documents, built by the task
    itself as lm-eval builds them with ``--apply_chat_template``."""
    task.build_all_requests(limit=problems, apply_chat_template=True, chat_template=chat_renderer(tokenizer))
    return [(inst.args[0], dict(inst.args[1]), int(inst.repeats)) for inst in task.instances]


def load_task(metadata: dict[str, Any]) -> Any:
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)
    return tm.load([TASK])["tasks"][TASK]


def check_same_prompts(expected: Sequence[str], repeats: int, seen: Sequence[str], backend: str) -> None:
    """Stops the run unless lm-eval handed the model each expected prompt ``repeats`` times."""
    from collections import Counter

    want = Counter({p: repeats for p in expected})
    got = Counter(seen)
    if want != got:
        missing = sorted(set(want) ^ set(got))[:1]
        raise SystemExit(
            f"{backend}: lm-eval sent other prompts than the task built ({sum(got.values())} "
            f"requests, {len(got)} distinct; expected {len(want)} x {repeats}). First "
            f"difference: {missing!r:.300}. The bare comparison would not be like for like"
        )


def _baselines(rows: Sequence[Row]) -> dict[str, Row]:
    """Each backend's first bare row (its baseline; ``--bare-copies`` adds a second one after it)."""
    out: dict[str, Row] = {}
    for r in rows:
        if r.path.startswith("bare"):
            out.setdefault(r.backend, r)
    return out


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None or x != x else format(x, spec)


def table(rows: Sequence[Row]) -> str:
    """The side-by-side table: each lm-eval row followed by its bare baseline, with their ratio."""
    head = [
        "backend",
        "path",
        "samples",
        "out tokens",
        "gen s",
        "tok/s",
        "bare/lm-eval tok/s",
        "rerank+score s",
        "load s",
        "total s",
    ]
    body = []
    bare = _baselines(rows)
    for r in rows:
        ratio = None
        if not r.path.startswith("bare") and r.backend in bare:
            ratio = bare[r.backend].tokens_per_s / r.tokens_per_s if r.tokens_per_s else None
        body.append(
            [
                r.backend,
                r.path,
                str(r.samples),
                str(r.tokens),
                _fmt(r.seconds, ".1f"),
                _fmt(r.tokens_per_s, ".1f"),
                _fmt(ratio, ".2f"),
                _fmt(r.filter_seconds, ".1f"),
                _fmt(r.load_seconds, ".1f"),
                _fmt(r.total_seconds, ".1f"),
            ]
        )
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) + " |" for b in body]
    return "\n".join(lines)


def readme_block(
    rows: Sequence[Row], model: str, problems: int, repeats: int, max_tokens: int, command: str
) -> str:
    """The figures as the README's lm-eval section shows them (paste under its lmeval-speed marker)."""
    bare = _baselines(rows)
    lines = [
        f"{model} on a {os.cpu_count()}-core CPU, {problems} problems x {repeats} repeats, max "
        f"{max_tokens} tokens (`{command}`; `--json` has every figure):",
        "",
        "| path | generation s | output tok/s | bare / lm-eval (tok/s) | rerank+score s |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = None
        if not r.path.startswith("bare") and r.backend in bare and r.tokens_per_s:
            ratio = bare[r.backend].tokens_per_s / r.tokens_per_s
        lines.append(
            f"| `{r.path}` | {_fmt(r.seconds, '.1f')} | {_fmt(r.tokens_per_s, '.1f')} | "
            f"{_fmt(ratio, '.2f') if ratio is not None else ''} | "
            f"{_fmt(r.filter_seconds, '.1f') if r.filter_seconds is not None else ''} |"
        )
    return "\n".join(lines)


def verdicts(rows: Sequence[Row], goal: float = 0.15) -> list[str]:
    """One line per backend: lm-eval's generation throughput against bare, and the goal."""
    bare = _baselines(rows)
    out = []
    for r in rows:
        if r.path.startswith("bare") or r.backend not in bare or not r.tokens_per_s:
            continue
        slow = bare[r.backend].tokens_per_s / r.tokens_per_s - 1
        base = bare[r.backend].tokens_per_s
        out.append(
            f"{r.backend}: lm-eval writes {r.tokens_per_s:.1f} tok/s, bare {base:.1f} "
            f"tok/s: lm-eval is {abs(slow):.0%} {'slower' if slow > 0 else 'faster'} per token "
            f"({'within' if slow <= goal else 'NOT within'} the {goal:.0%} goal)"
        )
    return out


# -- timing hooks on lm-eval's classes ------------------------------------------------------------


@contextlib.contextmanager
def patched(cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Iterator[None]:
    """Replaces ``cls.name`` by ``make(original)`` for the duration (static methods stay static)."""
    import inspect

    raw = inspect.getattr_static(cls, name)
    static = isinstance(raw, staticmethod)
    orig = raw.__func__ if static else getattr(cls, name)
    new = make(orig)
    setattr(cls, name, staticmethod(new) if static else new)
    try:
        yield
    finally:
        setattr(cls, name, raw)


def _timed(acc: Timers, attr: str, orig: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return orig(*args, **kwargs)
        finally:
            setattr(acc, attr, getattr(acc, attr) + time.perf_counter() - t)

    return wrapper


def _common_hooks(
    stack: contextlib.ExitStack, lm_cls: type, acc: Timers, warm_up: Callable[[Any], None] | None = None
) -> None:
    """Times the model's load, its ``generate_until`` (after one warm-up call) and the task's filters,
    and records the prompts lm-eval sends."""
    from lm_eval.api.task import ConfigurableTask

    def gen(orig: Callable[..., Any]) -> Callable[..., Any]:
        timed = _timed(acc, "generate", orig)

        def wrapper(self: Any, requests: list[Any], *args: Any, **kwargs: Any) -> Any:
            acc.model = self
            acc.contexts.extend(r.args[0] for r in requests)
            if warm_up is not None:
                warm_up(self)
            return timed(self, requests, *args, **kwargs)

        return wrapper

    stack.enter_context(patched(lm_cls, "__init__", lambda orig: _timed(acc, "load", orig)))
    stack.enter_context(patched(lm_cls, "generate_until", gen))
    stack.enter_context(patched(ConfigurableTask, "apply_filters", lambda orig: _timed(acc, "filters", orig)))


def _simple_evaluate(
    model: str,
    model_args: dict[str, Any],
    metadata: dict[str, Any],
    batch_size: Any,
    problems: int,
    max_tokens: int,
    device: str | None = None,
) -> tuple[dict[str, Any], float]:
    """``lm_eval.simple_evaluate`` as the CLI calls it for ``--tasks humaneval_plus_rm
    --apply_chat_template --confirm_run_unsafe_code --limit K --gen_kwargs max_gen_toks=M``."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    # the CLI merges --model_args into the task metadata; passing our own TaskManager, we do it here
    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata={**model_args, **metadata})
    t = time.perf_counter()
    res = lm_eval.simple_evaluate(
        model=model,
        model_args=model_args,
        tasks=[TASK],
        task_manager=tm,
        batch_size=batch_size,
        device=device,
        limit=problems,
        apply_chat_template=True,
        confirm_run_unsafe_code=True,
        gen_kwargs={"max_gen_toks": max_tokens},
        bootstrap_iters=0,
        random_seed=SEED,
        numpy_random_seed=SEED,
        torch_random_seed=SEED,
    )
    assert res is not None
    return res["results"][TASK], time.perf_counter() - t


def _scores(results: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in results.items() if isinstance(v, float) and "stderr" not in k}


# -- vllm ----------------------------------------------------------------------------------------


def engine_args() -> dict[str, Any]:
    """The vLLM model args of the README's CPU command (``VLLM_CPU_KVCACHE_SPACE=4`` comes from the
    environment): float32 unless the CPU computes bf16 natively, eager mode, prefix caching on."""
    from rerankeval.generation.engines import cpu_has_bf16

    return {
        "dtype": "bfloat16" if cpu_has_bf16() else "float32",
        "enforce_eager": True,
        "enable_prefix_caching": True,
    }


def _sampling_params(gen_kwargs: dict[str, Any], eos: str, n: int) -> Any:
    """The SamplingParams lm-eval's vLLM backend builds for these kwargs, with ``n`` samples."""
    from lm_eval.models.vllm_causallms import VLLM
    from vllm import SamplingParams

    kwargs, until, max_gen_toks = VLLM.modify_gen_kwargs(dict(gen_kwargs), eos=eos)
    return SamplingParams(n=n, max_tokens=max_gen_toks, stop=until, **kwargs)


def bare_vllm(
    llm: Any, requests: Sequence[tuple[str, dict[str, Any], int]], eos: str, copies: bool = False
) -> tuple[float, int, list[list[int]]]:
    """One ``LLM.generate`` over every prompt: (seconds, output tokens, prompt token ids).

    Args:
        copies: Send each prompt ``repeats`` times with ``n=1`` (as lm-eval does) instead of once with
            ``n=repeats``.
    """
    prompts, params = [], []
    for prompt, gen_kwargs, repeats in requests:
        if copies:
            prompts += [prompt] * repeats
            params += [_sampling_params(gen_kwargs, eos, 1)] * repeats
        else:
            prompts.append(prompt)
            params.append(_sampling_params(gen_kwargs, eos, repeats))
    t = time.perf_counter()
    outs = llm.generate(prompts, params, use_tqdm=False)
    secs = time.perf_counter() - t
    return (
        secs,
        sum(len(o.token_ids) for out in outs for o in out.outputs),
        [list(o.prompt_token_ids) for o in outs],
    )


def _warm_vllm(done: list[bool]) -> Callable[[Any], None]:
    def warm(lm: Any) -> None:
        if not done:
            from vllm import SamplingParams

            lm.model.generate(["def f():"], SamplingParams(max_tokens=4), use_tqdm=False)
            lm.model.reset_prefix_cache()
            done.append(True)

    return warm


def run_vllm(
    args: argparse.Namespace,
    model_dir: str,
    metadata: dict[str, Any],
    requests: list[tuple[str, dict[str, Any], int]],
) -> tuple[list[Row], Any]:
    from lm_eval.models.vllm_causallms import VLLM

    acc = Timers()
    eng = engine_args()
    model_args = {"pretrained": model_dir, **eng}

    def count(orig: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any, requests: list[list[int]], *a: Any, **kw: Any) -> Any:
            outs = orig(self, requests, *a, **kw)
            if kw.get("generate") or (a and a[0]):
                acc.tokens += sum(len(o.outputs[0].token_ids) for o in outs)
                acc.prompt_token_ids.extend(list(r) for r in requests)
            return outs

        return wrapper

    with contextlib.ExitStack() as stack:
        _common_hooks(stack, VLLM, acc, _warm_vllm([]))
        stack.enter_context(patched(VLLM, "_model_generate", count))
        results, total = _simple_evaluate(
            "vllm", model_args, metadata, args.vllm_batch_size, args.problems, args.max_tokens
        )
    check_same_prompts([r[0] for r in requests], args.repeats, acc.contexts, "vllm")
    settings = {"model_args": model_args, "batch_size": args.vllm_batch_size, "scores": _scores(results)}
    rows = [
        Row(
            "vllm",
            f"lm_eval --model vllm --batch_size {args.vllm_batch_size}",
            acc.generate,
            acc.tokens,
            len(acc.contexts),
            acc.filters,
            acc.load,
            total,
            settings,
        )
    ]
    llm = acc.model.model
    eos = acc.model.tokenizer.decode(acc.model.eot_token_id)
    variants = [(False, f"bare LLM.generate (n={args.repeats})")]
    if args.bare_copies:
        variants.append((True, f"bare LLM.generate ({args.repeats} copies, n=1)"))
    for copies, path in variants:
        llm.reset_prefix_cache()  # lm-eval's run must not have filled the cache for the bare one
        secs, tokens, prompt_ids = bare_vllm(llm, requests, eos, copies)
        if sorted(map(tuple, prompt_ids)) != sorted({tuple(p) for p in acc.prompt_token_ids}) and not copies:
            raise SystemExit("vllm: the bare prompts tokenize differently from lm-eval's: not like for like")
        rows.append(
            Row(
                "vllm",
                path,
                secs,
                tokens,
                sum(r[2] for r in requests),
                settings={"engine": eng, "seed": SEED},
            )
        )
    return rows, acc.model


# -- hf ------------------------------------------------------------------------------------------


def bare_hf(
    model: Any, tokenizer: Any, requests: Sequence[tuple[str, dict[str, Any], int]], batch: int
) -> tuple[float, int]:
    """transformers ``generate`` over every prompt, ``batch`` samples per call, with lm-eval's stop
    criteria and sampling kwargs: (seconds, output tokens)."""
    import torch
    from lm_eval.models.utils_hf import stop_sequences_criteria

    torch.manual_seed(SEED)
    eos = tokenizer.decode(tokenizer.eos_token_id)
    pad = tokenizer.pad_token_id
    tokens, secs = 0, 0.0
    for prompt, gen_kwargs, repeats in requests:
        kw = dict(gen_kwargs)
        until = list(kw.pop("until"))
        if eos not in until:
            until.append(eos)
        max_gen = int(kw.pop("max_gen_toks"))
        ids = tokenizer(prompt, return_tensors="pt").input_ids
        for start in range(0, repeats, batch):
            k = min(batch, repeats - start)
            ctx = ids.repeat(k, 1)
            t = time.perf_counter()
            stop = stop_sequences_criteria(tokenizer, until, ctx.shape[1], k)
            with torch.no_grad():
                out = model.generate(
                    input_ids=ctx,
                    max_length=ctx.shape[1] + max_gen,
                    pad_token_id=pad,
                    stopping_criteria=stop,
                    use_cache=True,
                    **kw,
                )
            secs += time.perf_counter() - t
            tokens += int((out[:, ctx.shape[1] :] != pad).sum())
    return secs, tokens


def _torch_device() -> str:
    """``--device`` for lm-eval's hf backend: cuda when there is one, else cpu (lm-eval's default
    "cuda" fails on a CPU-only torch)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run_hf(
    args: argparse.Namespace,
    model_dir: str,
    metadata: dict[str, Any],
    requests: list[tuple[str, dict[str, Any], int]],
) -> list[Row]:
    from lm_eval.models.huggingface import HFLM

    acc = Timers()
    model_args = {"pretrained": model_dir, "dtype": "float32"}

    def count(orig: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any, context: Any, *a: Any, **kw: Any) -> Any:
            out = orig(self, context, *a, **kw)
            acc.tokens += int((out[:, context.shape[1] :] != self.tokenizer.pad_token_id).sum())
            return out

        return wrapper

    with contextlib.ExitStack() as stack:
        _common_hooks(stack, HFLM, acc)
        stack.enter_context(patched(HFLM, "_model_generate", count))
        results, total = _simple_evaluate(
            "hf",
            model_args,
            metadata,
            args.hf_batch_size,
            args.problems,
            args.max_tokens,
            device=_torch_device(),
        )
    check_same_prompts([r[0] for r in requests], args.repeats, acc.contexts, "hf")
    settings = {"model_args": model_args, "batch_size": args.hf_batch_size, "scores": _scores(results)}
    rows = [
        Row(
            "hf",
            f"lm_eval --model hf --batch_size {args.hf_batch_size}",
            acc.generate,
            acc.tokens,
            len(acc.contexts),
            acc.filters,
            acc.load,
            total,
            settings,
        )
    ]
    secs, tokens = bare_hf(acc.model.model, acc.model.tokenizer, requests, args.hf_batch_size)
    rows.append(
        Row(
            "hf",
            f"bare generate ({args.hf_batch_size} per call)",
            secs,
            tokens,
            sum(r[2] for r in requests),
            settings={"dtype": "float32", "seed": SEED},
        )
    )
    return rows


# -- openai --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def vllm_server(model_dir: str, eng: dict[str, Any], log_path: Path, timeout: float = 600) -> Iterator[str]:
    """vLLM's OpenAI server on 127.0.0.1 with the engine settings ``eng``; yields its base URL."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model_dir,
        "--served-model-name",
        "bench",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        eng["dtype"],
        "--seed",
        str(SEED),
        "--enable-prefix-caching",
        # each repeat carries its own seed (seed_per_repeat), and vllm-cpu 0.32 crashes on seeded
        # requests with chunked prefill
        "--no-enable-chunked-prefill",
    ]
    if eng.get("enforce_eager"):
        cmd.append("--enforce-eager")
    url = f"http://127.0.0.1:{port}/v1"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise SystemExit(
                        f"the vLLM server exited ({proc.returncode}); its log ends:\n"
                        + log_path.read_text(errors="replace")[-3000:]
                    )
                try:
                    with urllib.request.urlopen(f"{url}/models", timeout=5):
                        break
                except OSError as err:
                    if time.monotonic() > deadline:
                        raise SystemExit(
                            f"the vLLM server did not answer within {timeout:.0f} s; see {log_path}"
                        ) from err
                    time.sleep(2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_openai(
    args: argparse.Namespace,
    model_dir: str,
    metadata: dict[str, Any],
    requests: list[tuple[str, dict[str, Any], int]],
    bare: Row | None,
    workdir: Path,
    tokenizer: Any,
) -> list[Row]:
    from lm_eval.models.openai_completions import LocalCompletionsAPI

    eng = engine_args()
    rows = []
    if bare is None:  # no vllm backend in this run: an in-process engine with the server's settings
        from vllm import LLM, SamplingParams

        llm = LLM(model=model_dir, seed=SEED, **eng)
        llm.generate(["def f():"], SamplingParams(max_tokens=4), use_tqdm=False)  # warm-up
        llm.reset_prefix_cache()
        eos = str(tokenizer.eos_token)
        secs, tokens, _ = bare_vllm(llm, requests, eos)
        bare = Row(
            "openai",
            f"bare LLM.generate (n={args.repeats})",
            secs,
            tokens,
            sum(r[2] for r in requests),
            settings={"engine": eng, "seed": SEED},
        )
        del llm
        gc.collect()
    acc = Timers()

    def count(orig: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(outputs: Any, **kw: Any) -> Any:
            for o in outputs if isinstance(outputs, list) else [outputs]:
                acc.tokens += int((o.get("usage") or {}).get("completion_tokens") or 0)
            return orig(outputs=outputs, **kw)

        return wrapper

    # the chat template is rendered here, as for vllm and hf, and sent as token ids (with
    # tokenized_requests=False lm-eval would send the chat messages themselves to /v1/completions)
    with vllm_server(model_dir, eng, workdir / "vllm_server.log") as url:
        model_args = {
            "model": "bench",
            "base_url": f"{url}/completions",
            "num_concurrent": args.concurrent,
            "max_retries": 3,
            "tokenized_requests": True,
            "tokenizer_backend": "huggingface",
            "tokenizer": model_dir,
            "timeout": 3600,
        }
        with contextlib.ExitStack() as stack:
            _common_hooks(stack, LocalCompletionsAPI, acc)
            stack.enter_context(patched(LocalCompletionsAPI, "parse_generations", count))
            results, total = _simple_evaluate(
                "local-completions", model_args, metadata, 1, args.problems, args.max_tokens
            )
    check_same_prompts([r[0] for r in requests], args.repeats, acc.contexts, "openai")
    settings = {"model_args": model_args, "server": eng, "scores": _scores(results)}
    rows.append(
        Row(
            "openai",
            f"lm_eval --model local-completions num_concurrent={args.concurrent}",
            acc.generate,
            acc.tokens,
            len(acc.contexts),
            acc.filters,
            acc.load,
            total,
            settings,
        )
    )
    rows.append(Row("openai", bare.path, bare.seconds, bare.tokens, bare.samples, settings=bare.settings))
    return rows


# -- main ----------------------------------------------------------------------------------------


def _tests_file(args: argparse.Namespace, workdir: Path) -> Path:
    if args.tests is not None:
        return args.tests
    from rerankeval.unittests.artifact import write_tests
    from rerankeval.unittests.importers import import_codet

    if not args.codet_tests.exists():
        raise SystemExit(
            f"{args.codet_tests} not found: pass --tests FILE (a tests artifact for HumanEval+) "
            "or --codet-tests (CodeT's *_test_case.jsonl)"
        )
    out = workdir / "codet_tests.jsonl"
    write_tests(out, import_codet(args.codet_tests))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-coder-0.5b", help="embedded model name or folder")
    ap.add_argument("--problems", type=int, default=10, help="first K HumanEval+ problems (lm-eval --limit)")
    ap.add_argument("--repeats", type=int, default=8, help="samples per problem (--metadata repeats=N)")
    ap.add_argument("--max-tokens", type=int, default=384, help="--gen_kwargs max_gen_toks")
    ap.add_argument("--backends", default=",".join(BACKENDS), help="comma list of vllm, hf, openai")
    ap.add_argument(
        "--vllm-batch-size",
        default="auto",
        help="lm-eval vllm --batch_size (1, the CLI's default, shows what auto saves)",
    )
    ap.add_argument("--hf-batch-size", type=int, default=8, help="lm-eval hf --batch_size (fixed; see above)")
    ap.add_argument("--concurrent", type=int, default=32, help="local-completions num_concurrent")
    ap.add_argument(
        "--bare-copies",
        action="store_true",
        help="also time bare LLM.generate on N copies of each prompt (n=1), as lm-eval sends them",
    )
    ap.add_argument("--dataset-path", type=Path, default=SHARED / "humanevalplus" / "HumanEvalPlus.jsonl.gz")
    ap.add_argument("--tests", type=Path, default=None, help="tests artifact (default: CodeT's, imported)")
    ap.add_argument("--codet-tests", type=Path, default=SHARED / "codet" / CODET_TESTS)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args(argv)
    backends = list(dict.fromkeys(b.strip() for b in args.backends.split(",") if b.strip()))
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        ap.error(f"unknown backend(s) {', '.join(unknown)}: choose from {', '.join(BACKENDS)}")
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # the engine in this process
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from transformers import AutoTokenizer

    from rerankeval.generation.engines import resolve_model

    model_dir = resolve_model(args.model)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="lmeval_speed_") as d:
        workdir = Path(d)
        metadata = {
            "humaneval_path": str(args.dataset_path),
            "tests": str(_tests_file(args, workdir)),
            "repeats": args.repeats,
        }
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        requests = task_requests(load_task(metadata), tokenizer, args.problems)
        requests = [(p, {**kw, "max_gen_toks": args.max_tokens}, n) for p, kw, n in requests]
        kw0 = requests[0][1]
        print(
            f"{len(requests)} HumanEval+ problems x {args.repeats} repeats; T={kw0.get('temperature')}, "
            f"top-p {kw0.get('top_p')}, max {args.max_tokens} tokens, stops {kw0.get('until')}; "
            f"model {model_dir}; cores {os.cpu_count()}",
            flush=True,
        )
        bare_vllm_row = None
        # hf first: vLLM's in-process engine binds this process's CPU threads, which torch then keeps;
        # vllm before openai, whose lm-eval row shares the vllm backend's bare figure
        for backend in sorted(backends, key=("hf", "vllm", "openai").index):
            if backend == "vllm":
                got, lm = run_vllm(args, model_dir, metadata, requests)
                rows += got
                bare_vllm_row = next(r for r in got if r.path.startswith("bare"))
                del lm
            elif backend == "hf":
                rows += run_hf(args, model_dir, metadata, requests)
            else:
                rows += run_openai(args, model_dir, metadata, requests, bare_vllm_row, workdir, tokenizer)
            gc.collect()
            print(table(rows), flush=True)
    print("\n" + table(rows))
    for line in verdicts(rows):
        print(line)
    command = "python benchmarks/lmeval_speed.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(
        "\nREADME table:\n"
        + readme_block(
            rows, Path(model_dir).name, args.problems, args.repeats, args.max_tokens, command.strip()
        )
    )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "problems": args.problems,
                    "repeats": args.repeats,
                    "max_tokens": args.max_tokens,
                    "model": model_dir,
                    "rows": [asdict(r) | {"tokens_per_s": r.tokens_per_s} for r in rows],
                    "verdicts": verdicts(rows),
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
