"""``allocate_online``: allocations that execute as they go, paying only for the cells they use."""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest

from rerankeval.core.rerank import PassMatrix
from rerankeval.errors import InputError
from rerankeval.scaling import allocate_online, allocate_tests


def matrix(pid: str, rows: list[str]) -> PassMatrix:
    return PassMatrix(pid, tuple(f"{pid}#{j}" for j in range(len(rows[0]) if rows else 0)), tuple(rows))


def random_matrix(pid: str, n: int, t: int, rng: random.Random, p: float = 0.5) -> PassMatrix:
    return matrix(pid, ["".join("p" if rng.random() < p else "f" for _ in range(t)) for _ in range(n)])


class Oracle:
    """A reveal callback over known matrices that records every range it was asked for."""

    def __init__(self, ms: Mapping[str, PassMatrix]) -> None:
        self.ms = ms
        self.calls: list[dict[str, tuple[int, int]]] = []

    def __call__(self, asked: Mapping[str, tuple[int, int]]) -> dict[str, list[str]]:
        self.calls.append(dict(asked))
        return {p: [r[a:b] for r in self.ms[p].rows] for p, (a, b) in asked.items()}

    def executions(self) -> int:
        return sum(len(self.ms[p].rows) * (b - a) for call in self.calls for p, (a, b) in call.items())

    def columns(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {p: [] for p in self.ms}
        for call in self.calls:
            for p, (a, b) in call.items():
                out[p].extend(range(a, b))
        return out

    def run(self, budget: float, method: str, **kw):  # type: ignore[no-untyped-def]
        return allocate_online(
            {p: m.test_ids for p, m in self.ms.items()},
            {p: len(m.rows) for p, m in self.ms.items()},
            budget,
            method,  # type: ignore[arg-type]
            self,
            **kw,
        )


def _problems(seed: int = 5, k: int = 5) -> dict[str, PassMatrix]:
    rng = random.Random(seed)
    return {
        f"p{i}": random_matrix(f"p{i}", rng.randint(2, 7), rng.randint(3, 25), rng, rng.random())
        for i in range(k)
    }


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("uniform", {}),
        ("greedy", {}),
        ("greedy", {"first_batch": 2, "estimator": "pass-rate"}),
        ("adaptive", {"step": 2}),
        ("adaptive", {"step": 3, "rule": "stable", "patience": 1}),
    ],
)
def test_online_allocation_equals_the_replay_and_pays_for_exactly_its_cells(
    method: str, options: dict[str, object]
) -> None:
    ms = _problems()
    for budget in (0.5 if method != "greedy" else 1, 4, 7.5, 100):
        oracle = Oracle(ms)
        alloc, cells = oracle.run(budget, method, **options)
        replay = allocate_tests(ms, budget, method, **options)  # type: ignore[arg-type]
        assert alloc.columns == replay.columns and alloc.settled == replay.settled
        # executions counted = cells actually revealed; no column revealed twice; within budget
        assert alloc.executions == oracle.executions()
        assert {p: tuple(c) for p, c in oracle.columns().items()} == dict(alloc.columns)
        assert alloc.tests <= round(budget * len(ms))
        for p, cols in alloc.columns.items():
            assert cells[p] == [r[: len(cols)] for r in ms[p].rows]


def test_uniform_reveals_once_and_greedy_reveals_its_first_batch_then_the_rest() -> None:
    ms = _problems(k=3)
    oracle = Oracle(ms)
    oracle.run(4, "uniform")
    assert len(oracle.calls) == 1
    oracle = Oracle(ms)
    alloc, _ = oracle.run(6, "greedy", first_batch=2)
    assert oracle.calls[0] == {p: (0, min(2, len(m.test_ids))) for p, m in ms.items()}
    assert len(oracle.calls) == 2
    assert all(a == min(2, len(ms[p].test_ids)) for p, (a, _) in oracle.calls[1].items())
    assert alloc.tests == 18


def test_greedy_with_a_difficulty_file_spends_by_coderms_marginal_gain_and_no_first_batch() -> None:
    # 3 problems x 10 candidates x 10 tests, budget 3 -> 9 tests. Smoothed p = (10 p + 1) / 12:
    # a: p=0.1 -> 1/6, b: p=0.5 -> 1/2, c: p=0.9 -> 5/6. Gains p (1-p)^b, largest first:
    # c0 .833, b0 .5, b1 .25, a0 .167, c1 .139, a1 .139, b2 .125, a2 .116, a3 .096 -> a 4, b 3, c 2
    ms = {p: matrix(p, ["pf" * 5] * 10) for p in "abc"}
    oracle = Oracle(ms)
    alloc, _ = oracle.run(3, "greedy", difficulty={"a": 0.1, "b": 0.5, "c": 0.9})
    assert {p: len(c) for p, c in alloc.columns.items()} == {"a": 4, "b": 3, "c": 2}
    assert oracle.calls == [{"a": (0, 4), "b": (0, 3), "c": (0, 2)}]
    assert alloc.executions == 90 == oracle.executions()


def test_greedy_agreement_estimates_from_code_hashes_and_runs_no_first_batch() -> None:
    ms = {p: matrix(p, ["p" * 10] * 4) for p in ("same", "mixed")}
    keys = {"same": ["x"] * 4, "mixed": ["x", "y", "z", "w"]}
    oracle = Oracle(ms)
    alloc, _ = oracle.run(3, "greedy", keys=keys, estimator="agreement")
    assert len(oracle.calls) == 1
    assert len(alloc.columns["mixed"]) > len(alloc.columns["same"])


def test_bad_options_fail_before_anything_runs() -> None:
    ms = _problems(k=2)
    for method, kw, match in [
        ("uniform", {"slack": 1}, "does not take slack"),
        ("adaptive", {"step": "five"}, "step='five' must be a whole number"),
        ("adaptive", {"step": 1.5}, "whole number"),
        ("greedy", {"estimator": "vibes"}, "unknown difficulty estimator"),
        ("uniform", {"difficulty": {"p0": 0.5, "p1": 0.5}}, "greedy allocation only"),
        ("greedy", {"difficulty": {"p0": 0.5}}, "no difficulty estimate"),
        ("greedy", {}, "first batch"),
        ("clever", {}, "unknown allocation"),
    ]:
        oracle = Oracle(ms)
        with pytest.raises(InputError, match=match):
            oracle.run(0.4 if kw == {} and method == "greedy" else 3, method, **kw)
        assert oracle.calls == [], method
    with pytest.raises(InputError, match="budget"):
        Oracle(ms).run(float("nan"), "greedy")


def test_problems_without_tests_spend_nothing_and_get_empty_rows() -> None:
    ms = {"none": PassMatrix("none", (), ("", "")), "some": matrix("some", ["ppf", "pff"])}
    for method in ("uniform", "greedy", "adaptive"):
        oracle = Oracle(ms)
        alloc, cells = oracle.run(2, method)
        assert alloc.columns["none"] == () and cells["none"] == ["", ""]
        assert all("none" not in call for call in oracle.calls)
