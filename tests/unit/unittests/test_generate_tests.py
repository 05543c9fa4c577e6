"""Test generation orchestration: batching, per-problem seeds, the sidecar, resume after a crash.

The generator here is a scripted double (it answers each prompt with fixed completions and
records the calls); the real backends are exercised in tests/integration/test_generation_backends.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from rerankeval.core.types import Problem
from rerankeval.errors import InputError, RunExistsError
from rerankeval.generation.base import Completions, GeneratorBase, Prompt, Seed, prompt_seeds
from rerankeval.unittests.artifact import read_tests, sidecar_path
from rerankeval.unittests.generate import GenerationConfig, generate_tests

PROBLEMS = [Problem(f"T/{i}", f"def f{i}(x):\n    '''Return x + {i}.'''\n", f"f{i}") for i in range(5)]


class Scripted(GeneratorBase):
    """Answers the assert prompt of f<i> with asserts about f<i>; fails on call ``fail_on``."""

    spec = "scripted:test"

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[tuple[int, list[int | None]]] = []
        self.fail_on = fail_on

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
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise KeyboardInterrupt  # the run is stopped mid-way
        self.calls.append((len(prompts), prompt_seeds(seed, len(prompts), n)))
        out = []
        for p in prompts:
            name = str(p).split("correctness of ")[1].split("\n")[0]
            k = int(name[1:])
            texts = tuple(
                f"{name}({j}) == {j + k}\nassert {name}(10) == {k + 10}" if k != 3 else "nothing"
                for j in range(n)
            )
            out.append(Completions(texts, prompt_tokens=10, completion_tokens=7 * n))
        return out


CONFIG = GenerationConfig(style="assert", n=3, seed=100, batch_problems=2)


def test_generates_parses_and_records_each_problem(tmp_path: Path) -> None:
    out = tmp_path / "tests.jsonl"
    gen = Scripted()
    summary = generate_tests(PROBLEMS, gen, out, CONFIG)
    rows = read_tests(out)
    assert summary.problems == 5 and summary.problems_without_tests == ["T/3"]
    # per problem with tests: 3 distinct f(j) asserts plus one f(10) assert every sample shares
    assert summary.tests == len(rows) == 4 * 4
    assert {r.generator for r in rows} == {"scripted:test"}
    shared = next(r for r in rows if r.test == "assert f1(10) == 11")
    assert (shared.count, shared.sample_index) == (3, 0)
    side = [json.loads(line) for line in sidecar_path(out).read_text().splitlines()]
    assert [s["task_id"] for s in side] == [p.problem_id for p in PROBLEMS]
    assert side[0]["completion_tokens"] == 21 and side[0]["prompt_tokens"] == 10
    assert side[0]["temperature"] == 0.8 and side[0]["max_tokens"] == 300 and side[0]["n_tests"] == 4
    assert side[0]["prompt"].endswith("assert ")
    assert [c[0] for c in gen.calls] == [2, 2, 1]


def test_each_problem_keeps_its_seed_whatever_the_batching(tmp_path: Path) -> None:
    seeds = []
    for batch in (1, 2, 5):
        gen = Scripted()
        generate_tests(
            PROBLEMS,
            gen,
            tmp_path / f"b{batch}.jsonl",
            GenerationConfig(style="assert", n=3, seed=100, batch_problems=batch),
        )
        seeds.append([s for _, call in gen.calls for s in call])
    assert seeds[0] == seeds[1] == seeds[2] == [100, 103, 106, 109, 112]


def test_resume_after_a_stop_continues_where_it_stopped(tmp_path: Path) -> None:
    whole = tmp_path / "whole.jsonl"
    generate_tests(PROBLEMS, Scripted(), whole, CONFIG)
    out = tmp_path / "tests.jsonl"
    with pytest.raises(KeyboardInterrupt):
        generate_tests(PROBLEMS, Scripted(fail_on=1), out, CONFIG)
    assert {r.task_id for r in read_tests(out)} == {"T/0", "T/1"}
    with pytest.raises(RunExistsError, match="--resume"):
        generate_tests(PROBLEMS, Scripted(), out, CONFIG)
    gen = Scripted()
    summary = generate_tests(PROBLEMS, gen, out, CONFIG, resume=True)
    assert summary.skipped == 2 and summary.problems == 3
    assert [s for _, call in gen.calls for s in call] == [106, 109, 112]
    assert sorted(r.to_json().items() for r in read_tests(out)) == sorted(
        r.to_json().items() for r in read_tests(whole)
    )


def test_resume_rederives_tests_lost_between_the_two_writes(tmp_path: Path) -> None:
    out = tmp_path / "tests.jsonl"
    generate_tests(PROBLEMS, Scripted(), out, CONFIG)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(line for line in lines if '"T/4"' not in line))
    gen = Scripted()
    generate_tests(PROBLEMS, gen, out, CONFIG, resume=True)
    assert gen.calls == []
    assert len([r for r in read_tests(out) if r.task_id == "T/4"]) == 4


def test_resume_with_other_settings_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "tests.jsonl"
    generate_tests(PROBLEMS[:1], Scripted(), out, CONFIG)
    other = GenerationConfig(style="assert", n=4, seed=100, batch_problems=2)
    with pytest.raises(InputError, match=r"other settings \(n: 3 != 4\)"):
        generate_tests(PROBLEMS, Scripted(), out, other, resume=True)


def test_overwrite_replaces_the_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "tests.jsonl"
    generate_tests(PROBLEMS, Scripted(), out, CONFIG)
    generate_tests(PROBLEMS[:1], Scripted(), out, CONFIG, overwrite=True)
    assert {r.task_id for r in read_tests(out)} == {"T/0"}
    assert len(sidecar_path(out).read_text().splitlines()) == 1
