"""Sampling programs into an EvalPlus samples file: per-problem seeds, the sidecar, and resume after a
stop (Ctrl-C, a crash, ``kill -9`` at a random moment) that loses no finished problem and draws none
twice. The generator is a deterministic double whose answers depend only on (prompt, seed)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from fault_generation import evalplus_problems

from rerankeval.errors import InputError, RunExistsError
from rerankeval.generation.base import Completions, GeneratorBase, Prompt, Seed, prompt_seeds
from rerankeval.unittests.artifact import sidecar_path
from rerankeval_evalplus.sampling import SamplingConfig, generate_samples

PROBLEMS = evalplus_problems(7)


class Seeded(GeneratorBase):
    """Sample j of a prompt with base seed s answers `return x + (s + j) % 3`; can stop on call k."""

    spec = "vllm:seeded-double"

    def __init__(self, stop_on: int | None = None, delay: float = 0.0) -> None:
        self.calls: list[int] = []
        self.stop_on = stop_on
        self.delay = delay

    def generate_detailed(
        self,
        prompts: Sequence[Prompt],
        n: int = 1,
        temperature: float = 0.8,
        top_p: float = 0.95,
        max_tokens: int = 512,
        stop: Sequence[str] | None = None,
        seed: Seed = None,
    ) -> list[Completions]:
        if self.stop_on is not None and len(self.calls) == self.stop_on:
            raise KeyboardInterrupt
        self.calls.append(len(prompts))
        time.sleep(self.delay)
        out = []
        for p, s in zip(prompts, prompt_seeds(seed, len(prompts), n), strict=True):
            name = str(p).split("def ")[1].split("(")[0]
            texts = tuple(
                f"```python\ndef {name}(x):\n    return x + {((s or 0) + j) % 3}\n```" for j in range(n)
            )
            out.append(Completions(texts, prompt_tokens=5, completion_tokens=4 * n))
        return out


CONFIG = SamplingConfig(n=3, seed=10, batch_problems=2)


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_samples_and_sidecar_record_each_problem(tmp_path: Path) -> None:
    out = tmp_path / "samples.jsonl"
    gen = Seeded()
    summary = generate_samples("humaneval", PROBLEMS, gen, out, CONFIG)
    rows = _rows(out)
    assert summary.problems == 7 and summary.samples == len(rows) == 21 and gen.calls == [2, 2, 2, 1]
    assert rows[0] == {"task_id": "HumanEval/0", "solution": "def f0(x):\n    return x + 1"}  # seed 10
    side = _rows(sidecar_path(out))
    assert side[1]["generator"] == "vllm:seeded-double" and side[1]["temperature"] == 0.8
    assert side[1]["seed"] == 10 and side[1]["n"] == 3 and len(side[1]["responses"]) == 3
    with pytest.raises(RunExistsError, match="--resume to continue it, --overwrite"):
        generate_samples("humaneval", PROBLEMS, gen, out, CONFIG)


def test_a_stopped_run_resumes_to_the_same_file_without_drawing_twice(tmp_path: Path) -> None:
    whole = tmp_path / "whole.jsonl"
    generate_samples("humaneval", PROBLEMS, Seeded(), whole, CONFIG)
    out = tmp_path / "samples.jsonl"
    with pytest.raises(KeyboardInterrupt):
        generate_samples("humaneval", PROBLEMS, Seeded(stop_on=2), out, CONFIG)
    assert len(_rows(out)) == 12  # two batches of two problems finished
    gen = Seeded()
    summary = generate_samples("humaneval", PROBLEMS, gen, out, CONFIG, resume=True)
    assert summary.skipped == 4 and gen.calls == [2, 1]
    assert out.read_text() == whole.read_text()


def test_rows_lost_between_the_two_writes_are_rederived(tmp_path: Path) -> None:
    whole = tmp_path / "whole.jsonl"
    generate_samples("humaneval", PROBLEMS, Seeded(), whole, CONFIG)
    out = tmp_path / "samples.jsonl"
    generate_samples("humaneval", PROBLEMS[:3], Seeded(), out, CONFIG)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:7]))  # problem 2 lost two of its rows, as after a kill mid-write
    gen = Seeded()
    generate_samples("humaneval", PROBLEMS, gen, out, CONFIG, resume=True)
    assert gen.calls == [2, 2]  # problems 3-6 only
    assert sorted(out.read_text().splitlines()) == sorted(whole.read_text().splitlines())


def test_resuming_with_other_settings_names_the_setting(tmp_path: Path) -> None:
    out = tmp_path / "samples.jsonl"
    generate_samples("humaneval", PROBLEMS[:2], Seeded(), out, CONFIG)
    other = SamplingConfig(n=3, seed=10, temperature=0.2, batch_problems=5)
    with pytest.raises(InputError, match=r"generations.jsonl:1: .*temperature: 0.8 \(then\) != 0.2 \(now\)"):
        generate_samples("humaneval", PROBLEMS, Seeded(), out, other, resume=True)
    generate_samples(
        "humaneval", PROBLEMS, Seeded(), out, SamplingConfig(n=3, seed=10, batch_problems=5), resume=True
    )  # the batch size is not a setting of the draws


_CHILD = """
import sys, time
sys.path[:0] = {paths!r}
from test_sampling_resume import PROBLEMS, CONFIG, Seeded
from rerankeval_evalplus.sampling import generate_samples
generate_samples("humaneval", PROBLEMS, Seeded(delay=0.05), __import__("pathlib").Path(sys.argv[1]), CONFIG,
                 resume=True)
"""


def test_kill_9_twice_at_random_moments_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    whole = tmp_path / "whole.jsonl"
    generate_samples("humaneval", PROBLEMS, Seeded(), whole, CONFIG)
    out = tmp_path / "samples.jsonl"
    here = str(Path(__file__).parent)
    code = _CHILD.format(paths=[here, *sys.path])
    rng = random.Random(7)
    for _ in range(2):
        proc = subprocess.Popen([sys.executable, "-c", code, str(out)], env={**os.environ})
        time.sleep(rng.uniform(0.6, 1.2))  # start-up (imports) is about 0.5 s; each batch takes 0.05 s
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    subprocess.run([sys.executable, "-c", code, str(out)], check=True)
    assert sorted(out.read_text().splitlines()) == sorted(whole.read_text().splitlines())
    side = _rows(sidecar_path(out))
    assert sorted(r["task_id"] for r in side) == sorted(p["task_id"] for p in PROBLEMS)  # none drawn twice


def test_prompts_and_stops_are_the_lm_eval_tasks(tmp_path: Path) -> None:
    import yaml

    seen: list[tuple[object, object]] = []

    class Recorder(Seeded):
        def generate_detailed(
            self,
            prompts,
            n=1,
            temperature=0.8,
            top_p=0.95,  # type: ignore[no-untyped-def]
            max_tokens=512,
            stop=None,
            seed=None,
        ):
            seen.append((prompts[0], stop))
            return super().generate_detailed(prompts, n, temperature, top_p, max_tokens, stop, seed)

    generate_samples("humaneval", PROBLEMS[:1], Recorder(), tmp_path / "s.jsonl", CONFIG)
    prompt, stop = seen[0]
    template = Path(__file__).resolve().parents[2] / "tasks" / "lmeval" / "_rerankeval_rm_template_yaml"
    until = yaml.safe_load(template.read_text().replace("!function", ""))["generation_kwargs"]["until"]
    assert list(stop) == until  # type: ignore[call-overload]
    assert [m["role"] for m in prompt] == ["user", "assistant"]  # type: ignore[index, union-attr]
    assert prompt[1]["content"].endswith("```python\n")  # type: ignore[index]
