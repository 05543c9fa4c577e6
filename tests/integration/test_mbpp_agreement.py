"""MBPP+ verdict agreement with ``evalplus.evaluate``: the mutant generator and the differences found.

``benchmarks/evaluate_vs_evalplus.py --dataset mbpp`` judges each MBPP+ reference solution and
deterministic mutants of it with both tools. What it found, and what these tests pin down:

* Encoding a returned value was timed against the input's limit in rerankeval's child, while
  EvalPlus compares outside its per-input limit: a large output returned near its limit (Mbpp/255,
  ``combinations_colors`` with 1.66 M tuples) timed out only in rerankeval. Fixed: encoding runs
  outside the per-input limit (the run's overall limit still bounds it), as EvalPlus's comparison.
* EvalPlus's checking process is forked from its evaluating process and inherits its address space
  (all expected outputs of the dataset, the worker's copy of the task) under a 4 GiB RLIMIT_AS, so a
  program gets only what that process leaves: under 1 GiB on the full MBPP+ (3.2 GB inherited), none
  at all on Mbpp/255 (4.7 GB inherited even with Mbpp/255 alone: its reference solution raises
  MemoryError on plus input 85).
  rerankeval's child holds only its own inputs. Not reproduced (the headroom depends on the dataset
  file, the libraries loaded and the machine); the test below shows the mechanism on both tools.
"""

from __future__ import annotations

import ast
import gzip
import json
import sys
import warnings
from pathlib import Path

import pytest

from rerankeval.sandbox import CallJob, CheckerRef, LocalExecutor

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from mutants import KINDS, mutants  # noqa: E402

PROGRAM = '''import math

def f(xs, n):
    """Sum of the items above n, scaled."""
    total = 0
    for x in xs:
        if x > n:
            total += x * 2
    return total if total != 0 else -1
'''


def test_mutants_are_deterministic_distinct_programs_of_every_kind() -> None:
    runs = [mutants(PROGRAM, "f", len(KINDS), seed=s) for s in range(500)]
    assert runs[0] == mutants(PROGRAM, "f", len(KINDS), seed=0)  # same seed, same mutants
    seen_kinds = set()
    for ms in runs:
        sources = {m.code for m in ms}
        assert len(sources) == len(ms) and ast.unparse(ast.parse(PROGRAM)) + "\n" not in sources
        for m in ms:
            assert m.kind in KINDS
            compile(m.code, "<mutant>", "exec")
            seen_kinds.add(m.kind)
    assert seen_kinds == set(KINDS)
    assert len(mutants(PROGRAM, "f", 2, seed=0)) == 2
    assert mutants(PROGRAM, "no_such_function", 3) == []


def test_each_mutant_kind_does_what_it_says() -> None:
    by_kind = {m.kind: m for s in range(500) for m in mutants(PROGRAM, "f", len(KINDS), seed=s)}

    def call(kind: str) -> object:
        g: dict = {}
        exec(by_kind[kind].code, g)
        return g["f"]([1, 5, 9], 4)

    assert call("return_none") is None
    with pytest.raises(ValueError, match="mutant"):
        call("raise")
    assert "while True" in by_kind["loop"].code and "bytes(" in by_kind["memory"].code
    tree = ast.parse(by_kind["hang"].code)
    assert isinstance(tree.body[-1], ast.While)  # at module level: loading never ends
    assert any(call(k) != 28 for k in ("cmp", "const", "arith", "negate"))


@pytest.mark.realdata
def test_every_mbpp_reference_gets_compiling_mutants(shared_data: Path) -> None:
    with gzip.open(shared_data / "mbppplus" / "MbppPlus.jsonl.gz", "rt") as f:
        problems = [json.loads(x) for x in f]
    kinds: set[str] = set()
    warnings.simplefilter("ignore", SyntaxWarning)  # invalid escapes in a few reference solutions
    warnings.simplefilter("ignore", DeprecationWarning)
    for p in problems:
        ms = mutants(p["prompt"] + p["canonical_solution"], p["entry_point"], 3, seed=0)
        assert len(ms) >= 2, p["task_id"]
        for m in ms:
            compile(m.code, p["task_id"], "exec")
        kinds.update(m.kind for m in ms)
    assert kinds == set(KINDS)


# A value built when the program loads (not timed per input) and returned at once: encoding it
# takes far longer than the input's 20 ms limit.
BIG_OUTPUT = "BIG = [str(i) for i in range(800_000)]\ndef f(x):\n    return BIG\n"


def test_encoding_a_large_output_is_not_charged_to_the_input_time_limit() -> None:
    job = CallJob(
        code=BIG_OUTPUT,
        entry_point="f",
        inputs_key="in",
        time_limits=(0.02,),
        overall_timeout_s=30.0,
        checker=CheckerRef("sandbox_checkers:expect", "chk"),
    )
    assets = {"in": [[0]], "chk": {"expected": [[str(i) for i in range(800_000)]]}}
    with LocalExecutor(1) as ex:
        ((_, out),) = list(ex.run([job], assets))
    assert out.completed and [u.status for u in out.units] == ["pass"], out

    from evalplus.eval import untrusted_check

    status, _ = untrusted_check(
        "mbpp",
        BIG_OUTPUT,
        [[0]],
        "f",
        [[str(i) for i in range(800_000)]],
        0,
        [0.005],
        fast_check=True,
        min_time_limit=0.02,
    )
    assert status == "pass"  # EvalPlus agrees: its comparison is outside the per-input limit


ALLOCATES = "def f(x):\n    block = [0] * 10_000_000\n    return x\n"  # 80 MB


def _address_space() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))


def test_the_judging_process_memory_counts_against_evalplus_programs_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EvalPlus's child inherits its parent's address space under its RLIMIT_AS; ours does not."""
    from evalplus.eval import untrusted_check

    # EvalPlus's limit (4 GiB by default) set to what this process holds plus 1 GiB, whatever it imported.
    monkeypatch.setenv("EVALPLUS_MAX_MEMORY_BYTES", str(_address_space() + 1024**3))

    def evalplus_status() -> str:
        return untrusted_check("mbpp", ALLOCATES, [[1]], "f", [1], 0, [0.01], fast_check=True)[0]

    job = CallJob(
        code=ALLOCATES,
        entry_point="f",
        inputs_key="in",
        time_limits=(5.0,),
        overall_timeout_s=20.0,
        checker=CheckerRef("sandbox_checkers:expect", "chk"),
    )
    assets = {"in": [[1]], "chk": {"expected": [1]}}
    assert evalplus_status() == "pass"
    ballast = bytes(5 * 1024**3)  # 5 GiB of address space, never touched (no memory used)
    try:
        assert evalplus_status() == "fail"  # MemoryError: the parent's ballast counts against the program
        with LocalExecutor(1) as ex:  # 4 GiB for the program, whatever the harness holds
            ((_, out),) = list(ex.run([job], assets))
        assert out.completed and [u.status for u in out.units] == ["pass"], out
    finally:
        del ballast


RETURNS_A_MATCH = "import re\ndef check_str(string):\n    return re.search('^[aeiou]', string)\n"


@pytest.mark.parametrize(("word", "verdict"), [("annie", "pass"), ("dawood", "fail")])
def test_an_output_that_cannot_be_pickled_is_judged_as_evalplus_judges_it(word: str, verdict: str) -> None:
    """MBPP's output-not-None tasks (Mbpp/737, 787, 794) return re.Match objects: EvalPlus compares
    them in-process (``expected == (out is not None)``); here they cannot leave the sandbox, and must
    not be scored as a crash."""
    asset = {"dataset": "mbpp", "entry_point": "check_str", "inputs": [[word]], "expected": [True], "atol": 0}
    job = CallJob(
        code=RETURNS_A_MATCH,
        entry_point="check_str",
        inputs_key="in",
        time_limits=(1.0,),
        overall_timeout_s=30.0,
        checker=CheckerRef("rerankeval_evalplus.compare:make_checker", "chk"),
    )
    with LocalExecutor(1, preload=("rerankeval_evalplus.compare",)) as ex:
        ((_, out),) = list(ex.run([job], {"in": [[word]], "chk": asset}))
    assert [u.status for u in out.units] == [verdict], out

    from evalplus.eval import untrusted_check

    status, _ = untrusted_check(
        "mbpp", RETURNS_A_MATCH, [[word]], "check_str", [True], 0, [1.0], fast_check=True, min_time_limit=1.0
    )
    assert status == verdict
