"""LiveCodeBench's verdicts, computed in rerankeval's sandbox.

Each candidate runs in a sandbox child as LiveCodeBench's ``run_test`` runs it (see
:mod:`rerankeval_livecodebench.runtime`): tests in the dataset's order (public, then private), a
per-test time limit (``timeout`` seconds, LiveCodeBench's default 6), stopping at the first test
that does not pass. The trusted supervisor compares each output as ``grade_call_based`` (``==``,
a returned tuple compared as a list) or ``grade_stdio`` (stripped lines; a line that differs is
compared as a list of ``Decimal`` numbers) do. The result of a candidate is LiveCodeBench's list:
``True`` per passed test, then the code of the one that stopped it (-2 wrong answer of a stdin
problem, ``False`` of a functional one, -3 time limit, -4 runtime or compile error); it passes
when every test passed.

Where LiveCodeBench's own outcome depends on the machine, the sandbox decides and says so:
a program that hangs beyond its per-test alarm, or kills its own process, ends LiveCodeBench's
run by its global timeout (every test ``-1``); here it ends with ``-3`` or ``-4`` on the test in
flight. Both are failures; only the code differs. A return value that cannot be sent from the
child (an object of the program's own class) compares unequal here, where LiveCodeBench would call
its ``__eq__``.

Quirks kept, for identical verdicts: ``from io import *`` (in the imports the grader prepends)
makes ``open`` the real ``io.open``, so a stdin program that reads ``open(0)`` gets no input and
fails, as under LiveCodeBench; a functional wrong answer is ``False``, not ``-2``; ``exit()``
(``sys.exit`` through ``from sys import *``) ends a stdin program quietly, with what it printed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from rerankeval.cache import ResultCache
from rerankeval.core.types import ProgramOutcome, content_hash
from rerankeval.errors import InputError
from rerankeval.sandbox.executor import executor_or_local, run_confirming
from rerankeval.sandbox.jobs import CallJob, CheckerRef, Limits
from rerankeval_livecodebench.data import LcbProblem
from rerankeval_livecodebench.runtime import ENTRY, call_program, stdio_program

if TYPE_CHECKING:
    from rerankeval.sandbox.executor import Executor

#: LiveCodeBench's default per-test time limit (seconds; ``run_test``'s ``timeout``).
DEFAULT_TIMEOUT_S = 6
#: Modules the sandbox's workers load once, before forking children.
PRELOAD = ("rerankeval_livecodebench.runtime", "unittest.mock", "decimal")
_CACHE_VERSION = "lcb-grader-1"
#: LiveCodeBench's result codes.
WRONG_ANSWER, TIME_LIMIT, RUNTIME_ERROR = -2, -3, -4


def _stripped_lines(val: str) -> list[str]:
    return [line.strip() for line in val.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(x) for x in line.split()]
    except (InvalidOperation, ValueError):
        return None


def stdio_matches(prediction: str, expected: str) -> bool:
    """``grade_stdio``'s comparison of what a program printed with the expected output."""
    got, want = _stripped_lines(prediction), _stripped_lines(expected)
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if g == w:
            continue
        dg, dw = _decimals(g), _decimals(w)
        if dg is None or dw is None or dg != dw:
            return False
    return True


def make_checker(asset: Mapping[str, Any]) -> Callable[[int, Any], bool]:
    """The supervisor's verdict on one output: ``asset`` holds ``kind`` and the expected ``outputs``."""
    outputs = asset["outputs"]
    if asset["kind"] == "stdin":

        def check_stdio(i: int, out: Any) -> bool:
            return isinstance(out, str) and stdio_matches(out, outputs[i])

        return check_stdio
    expected = [json.loads(o) for o in outputs]

    def check_call(i: int, out: Any) -> bool:
        if isinstance(out, tuple):  # "don't penalize model if it produces tuples instead of lists"
            out = list(out)
        return bool(out == expected[i])

    return check_call


def call_inputs(problem: LcbProblem) -> list[list[Any]]:
    """Each test's arguments: one per test, ``[json.loads(line) for line in input.split("\\n")]`` for
    functional problems, ``[input]`` (the stdin text) for stdin ones.

    Raises:
        InputError: A functional test whose input lines are not JSON (LiveCodeBench fails every
            candidate there; a dataset fault is not a verdict).
    """
    if problem.is_stdin:
        return [[t.input] for t in problem.tests]
    try:
        return [[json.loads(line) for line in t.input.split("\n")] for t in problem.tests]
    except json.JSONDecodeError as e:
        raise InputError(f"{problem.question_id}: a test input is not JSON lines ({e.msg})") from None


def results_of(outcome: ProgramOutcome, n_tests: int, stdin: bool) -> list[bool | int]:
    """LiveCodeBench's result list from a sandbox outcome (see the module docstring).

    A wrong answer is ``-2`` for a stdin problem and ``False`` for a functional one: that is what
    ``grade_stdio`` and ``grade_call_based`` append (the latter keeps the comparison's result).
    """
    codes: dict[str, bool | int] = {
        "pass": True,
        "fail": WRONG_ANSWER if stdin else False,
        "timeout": TIME_LIMIT,
        "error": RUNTIME_ERROR,
        "oom": RUNTIME_ERROR,
    }
    out = [codes[u.status] for u in outcome.units]
    if not out:
        return [RUNTIME_ERROR]  # the program did not load (or hung while loading: the grader's alarm)
    if all(r is True for r in out) and len(out) < n_tests:
        out.append(TIME_LIMIT if not outcome.completed else RUNTIME_ERROR)  # stopped in flight
    return out


def passed(results: Sequence[bool | int]) -> bool:
    """LiveCodeBench's verdict: ``np.all(np.array(results) > 0)``."""
    return all(r is True or (not isinstance(r, bool) and r > 0) for r in results)


def _asset_keys(problem: LcbProblem, key_prefix: str) -> tuple[str, str]:
    return f"{key_prefix}:{problem.question_id}:in", f"{key_prefix}:{problem.question_id}:chk"


def problem_assets(problem: LcbProblem, key_prefix: str) -> dict[str, Any]:
    """The sandbox assets of one problem, shared by all its candidates' jobs: the tests' inputs and
    the checker's data (decoded once per problem, not once per candidate)."""
    in_key, chk_key = _asset_keys(problem, key_prefix)
    return {
        in_key: call_inputs(problem),
        chk_key: {
            "kind": "stdin" if problem.is_stdin else "functional",
            "outputs": [t.output for t in problem.tests],
        },
    }


def build_job(problem: LcbProblem, code: str, timeout_s: int, key_prefix: str) -> CallJob:
    """The sandbox job of one candidate (its assets: :func:`problem_assets`)."""
    program = stdio_program(code) if problem.is_stdin else call_program(code, str(problem.fn_name))
    in_key, chk_key = _asset_keys(problem, key_prefix)
    n = len(problem.tests)
    return CallJob(
        code=program,
        entry_point=ENTRY,
        inputs_key=in_key,
        time_limits=(float(timeout_s),) * n,
        overall_timeout_s=float((timeout_s + 1) * n + 5),  # the grader's global timeout
        checker=CheckerRef("rerankeval_livecodebench.grader:make_checker", chk_key),
        stop_on_fail=True,
        limits=Limits(),
        prelude="rerankeval_livecodebench.runtime:guard",
    )


def grade(
    problems: Mapping[str, LcbProblem],
    candidates: Sequence[tuple[str, str]],
    *,
    dataset_hash: str,
    timeout_s: int = DEFAULT_TIMEOUT_S,
    executor: Executor | None = None,
    parallel: int | None = None,
    cache: bool = True,
    progress: Callable[[int], None] | None = None,
    confirm_starved: bool = True,
) -> list[list[bool | int]]:
    """LiveCodeBench's result list for each ``(question_id, code)``, in order.

    Each distinct program of a problem runs once; results are cached by problem, program and
    time limit. A sandbox that fails raises (a harness fault is never a verdict). A program that hit
    the time limit while the machine kept it off the CPU runs again alone after the others and is
    graded on that run (``confirm_starved``; see :func:`rerankeval.sandbox.run_confirming`).

    Raises:
        InputError: A candidate for a problem the dataset does not hold, or an integer time limit
            below 1 (the grader's ``signal.alarm`` takes whole seconds).
    """
    if int(timeout_s) != timeout_s or timeout_s < 1:
        raise InputError(
            f"timeout {timeout_s!r}: LiveCodeBench's per-test limit is a whole number of seconds >= 1"
        )
    for pid, _ in candidates:
        if pid not in problems:
            raise InputError(f"candidate for unknown problem {pid!r}. Use samples of this dataset")
    keys = [content_hash(_CACHE_VERSION, dataset_hash, pid, str(timeout_s), code) for pid, code in candidates]
    copies = Counter(keys)
    store = ResultCache("livecodebench_verdicts", enabled=cache)
    try:
        known: dict[str, list[bool | int]] = {
            k: v["results"]
            for k, v in store.get_many(set(keys)).items()
            if isinstance(v, dict) and "results" in v
        }
        todo: dict[str, tuple[str, str]] = {}
        for k, c in zip(keys, candidates, strict=True):
            if k not in known:
                todo.setdefault(k, c)
        if progress is not None and len(keys) > len(todo):
            progress(len(keys) - sum(copies[k] for k in todo))
        if todo:
            jobs, assets, order = [], {}, list(todo)
            prefix = dataset_hash[:16]
            for pid in dict.fromkeys(pid for pid, _ in todo.values()):
                assets.update(problem_assets(problems[pid], prefix))
            for k in order:
                pid, code = todo[k]
                jobs.append(build_job(problems[pid], code, int(timeout_s), prefix))
            with ExitStack() as stack:
                ex = executor_or_local(executor, stack, parallel, PRELOAD)
                pending: dict[str, Any] = {}
                stack.callback(lambda: store.put_many(pending))
                for i, outcome in run_confirming(ex, jobs, assets, None, confirm=confirm_starved):
                    k = order[i]
                    prob = problems[todo[k][0]]
                    res = results_of(outcome, len(prob.tests), prob.is_stdin)
                    known[k] = res
                    pending[k] = {"results": res}
                    if progress is not None:
                        progress(copies[k])
                    if len(pending) >= 200:
                        store.put_many(pending)
                        pending = {}
        return [list(known[k]) for k in keys]
    finally:
        store.close()
