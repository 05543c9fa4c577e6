"""Ground truth identical to ``evalplus.evaluate`` 0.3.1, computed in the rerankeval sandbox.

What is the same as EvalPlus: expected outputs (EvalPlus's own ``get_groundtruth``, same cache
file), per-input time limits ``max(min_time_limit, factor * reference time)``, the whole-run limit
``min(60, sum(limits)) + 2`` s, the comparison (:mod:`rerankeval_evalplus.compare`), fast-check
semantics (stop at the first failing input), the in-child environment (``reliability_guard``),
and the status rules (a run that never reports completion is ``timeout``).
What is different: untrusted code runs in forked sandbox children, never next to the verdicts; a
fault of the sandbox (not of the program) is retried or stops the run with
:class:`~rerankeval.errors.SandboxFaultError`, and is never written as a verdict or cached;
identical programs of a task run once; base and plus runs of all samples are scheduled longest
first over all cores; results are cached by content hash, so a re-run recomputes nothing. A run
that hit a time limit while the machine held the CPU from it (it got less than half the limit) runs
again alone after the others and is judged on that run (``JudgeConfig.confirm_starved``): EvalPlus's
limits are wall-clock, and under load they fail correct programs that an idle machine passes.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Literal

from rerankeval.cache import ResultCache
from rerankeval.core.types import ProgramOutcome, content_hash
from rerankeval.sandbox import CallJob, CheckerRef, Executor, Limits, executor_or_local, run_confirming
from rerankeval_evalplus.dataset import EvalPlusDataset
from rerankeval_evalplus.samples import Sample

log = logging.getLogger(__name__)

EvalStatus = Literal["pass", "fail", "timeout"]
SEGMENTS = ("base", "plus")
#: v2: children see the modules EvalPlus has loaded (PRELOAD); v3: a program's annotations are
#: evaluated, as in plain Python (they were compiled under the sandbox's own `from __future__ import
#: annotations` before); v4: a program that runs out of memory is reported (`fail`), not lost (`timeout`);
#: v5: a fault of the sandbox is never a verdict (it is retried or stops the run; earlier versions
#: could cache it as `timeout`/`fail`), a child killed by a stray signal runs again, and the sandbox
#: shows programs no host files but the interpreter's; v6: encoding a returned value is no longer
#: charged to the input's time limit (as EvalPlus's comparison is not), so large outputs near their
#: limit no longer time out; v7: a returned value that cannot be pickled (MBPP's re.Match outputs) is
#: compared as EvalPlus compares it (not None, equal to nothing) instead of failing as a crash.
_CACHE_VERSION = "evalplus-0.3.1/v7"
#: Modules the sandbox imports before forking the children that judge samples. ``evalplus.evaluate``
#: brings what EvalPlus's own evaluating process has loaded when it forks its checkers (pandas and
#: numpy among them), so a program that imports those after its function gets them as under EvalPlus.
PRELOAD = ("rerankeval_evalplus.compare", "evalplus.eval", "evalplus.evaluate", "psutil")


@dataclass(frozen=True, slots=True)
class Verdict:
    """EvalPlus's verdict on one sample.

    Attributes:
        task_id: The problem.
        index: The sample's position among its task's samples.
        base_status: ``pass``, ``fail`` or ``timeout`` on the base inputs.
        plus_status: The same on the plus inputs (None with ``base_only``).
        base_details: Per-input pass flags for the inputs that ran (EvalPlus's ``details``).
        plus_details: The same for the plus inputs.
    """

    task_id: str
    index: int
    base_status: EvalStatus
    plus_status: EvalStatus | None
    base_details: tuple[bool, ...] = ()
    plus_details: tuple[bool, ...] = ()

    @property
    def base_passed(self) -> bool:
        """Correct on the original HumanEval/MBPP tests."""
        return self.base_status == "pass"

    @property
    def passed(self) -> bool:
        """Correct on base and plus inputs (HumanEval+ / MBPP+)."""
        return self.base_status == "pass" and self.plus_status == "pass"


@dataclass(frozen=True, slots=True)
class JudgeConfig:
    """Knobs of :func:`judge`, with EvalPlus's defaults.

    Attributes:
        min_time_limit: Floor of each per-input time limit (EvalPlus: 1.0 s).
        gt_time_limit_factor: Multiple of the reference solution's time (EvalPlus: 4.0).
        max_run_s: Cap of a whole run's limit before the +2 s slack (EvalPlus: 60 s).
        fast_check: Stop at the first failing input (EvalPlus's default; ``--test-details`` turns it off).
        base_only: Skip the plus inputs.
        evalplus_quirks: Reproduce EvalPlus 0.3.1's HumanEval/32 reporting quirk (see compare.py).
        confirm_starved: Run again, alone once the other runs are done, a run that hit a time
            limit while it got less than half of that time on the CPU
            (:func:`~rerankeval.core.types.cpu_starved`), and judge it on that run
            (:func:`rerankeval.sandbox.run_confirming`). EvalPlus's limits are wall-clock, so on a
            busy machine a correct but slow program fails them; on an idle one nothing runs again.
            Not part of :meth:`key`: it changes no verdict an idle machine gives.
    """

    min_time_limit: float = 1.0
    gt_time_limit_factor: float = 4.0
    max_run_s: float = 60.0
    fast_check: bool = True
    base_only: bool = False
    evalplus_quirks: bool = True
    confirm_starved: bool = True

    def __post_init__(self) -> None:
        import math

        from rerankeval.errors import InputError

        for name, v in (
            ("min_time_limit", self.min_time_limit),
            ("gt_time_limit_factor", self.gt_time_limit_factor),
            ("max_run_s", self.max_run_s),
        ):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise InputError(f"{name} must be a finite number >= 0, got {v!r}")

    def key(self) -> str:
        return (
            f"{self.min_time_limit}|{self.gt_time_limit_factor}|{self.max_run_s}|{self.fast_check}|"
            f"{self.evalplus_quirks}"
        )


def expected_outputs(dataset: EvalPlusDataset) -> dict[str, dict[str, Any]]:
    """EvalPlus's expected outputs and reference times (computed once, cached by EvalPlus's hash)."""
    from evalplus.eval._special_oracle import MBPP_OUTPUT_NOT_NONE_TASKS
    from evalplus.evaluate import get_groundtruth

    not_none = MBPP_OUTPUT_NOT_NONE_TASKS if dataset.name == "mbpp" else []
    with contextlib.redirect_stdout(sys.stderr):  # EvalPlus prints progress on stdout
        return get_groundtruth(dataset.problems, dataset.hash, not_none)  # type: ignore[no-any-return]


def status_from_outcome(
    out: ProgramOutcome, n_inputs: int, quirk_find_zero: bool
) -> tuple[EvalStatus, list[bool]]:
    """Maps a sandbox outcome to EvalPlus's ``(status, details)`` exactly as ``untrusted_check`` does."""
    details = [u.status == "pass" for u in out.units]
    if not out.completed:
        return "timeout", details
    if quirk_find_zero:
        # EvalPlus 0.3.1 `continue`s past its progress counter on find_zero: only a failing input is counted.
        details = [False] if not all(details) else []
    if len(details) == n_inputs and all(details):
        return "pass", details
    return "fail", details


def first_failing_input(status: str | None, details: Sequence[bool], n_inputs: int) -> int | None:
    """Position of the first input a sample did not pass, from EvalPlus's ``(status, details)``.

    ``details`` holds one flag per input that finished; a timeout stops on the input after the
    last finished one. None when the sample passed, or when nothing says which input failed.
    """
    if status in (None, "pass"):
        return None
    for i, ok in enumerate(details):
        if not ok:
            return i
    return len(details) if status == "timeout" and len(details) < n_inputs else None


def _time_limits(ref_time: Sequence[float], cfg: JudgeConfig) -> tuple[tuple[float, ...], float]:
    limits = tuple(max(cfg.min_time_limit, cfg.gt_time_limit_factor * t) for t in ref_time)
    overall = min(cfg.max_run_s, sum(limits)) + 2.0 + (0.0 if cfg.fast_check else 1.0)
    return limits, overall


#: Called with (cache key, (task_id, segment, sha), {"status", "details"}) for each run as it completes.
OnResult = Callable[[str, tuple[str, str, str], dict[str, Any]], None]


def judge(
    dataset: EvalPlusDataset,
    samples: Sequence[Sample],
    *,
    parallel: int | None = None,
    cache: bool = True,
    config: JudgeConfig | None = None,
    progress: Callable[[int], None] | None = None,
    executor: Executor | None = None,
    done: Mapping[str, dict[str, Any]] | None = None,
    on_result: OnResult | None = None,
) -> list[Verdict]:
    """Judges every sample on the base and plus inputs; returns verdicts aligned with ``samples``.

    Args:
        dataset: HumanEval+ or MBPP+.
        samples: Full programs (see :func:`read_samples`).
        parallel: Worker processes (default: all cores).
        cache: Read and write the result cache.
        config: EvalPlus knobs (defaults = EvalPlus's).
        progress: Called with the number of finished runs (for a progress bar); total = :func:`count_runs`.
        executor: The sandbox executor (default: a new LocalExecutor, closed at the end).
        done: Results already known by cache key (``run_keys``), e.g. read back from a journal; not re-run.
        on_result: Called for each executed run as soon as it completes (before the cache sees it).
    """
    cfg = config or JudgeConfig()
    expected = expected_outputs(dataset)
    segments = SEGMENTS[:1] if cfg.base_only else SEGMENTS
    store = ResultCache("evalplus_verdicts", enabled=cache)
    keys: dict[tuple[str, str, str], str] = {}  # (task, segment, sha) -> cache key
    for s in samples:
        sha = content_hash(s.solution)
        for seg in segments:
            keys.setdefault(
                (s.task_id, seg, sha),
                content_hash(_CACHE_VERSION, dataset.hash, s.task_id, seg, sha, cfg.key()),
            )
    cached = {k: v for k, v in store.get_many(keys.values()).items() if _valid_entry(v)}
    results: dict[str, Any] = {**cached, **(done or {})}
    todo = [(t, seg, sha) for (t, seg, sha), k in keys.items() if k not in results]
    if progress is not None and len(keys) > len(todo):
        progress(len(keys) - len(todo))
    code_by_sha = {content_hash(s.solution): s.solution for s in samples}
    if todo:
        log.info("%d unique runs to execute (%d cached)", len(todo), len(keys) - len(todo))
        results.update(
            _execute(
                dataset,
                expected,
                todo,
                code_by_sha,
                keys,
                cfg,
                parallel,
                store,
                progress,
                executor,
                on_result,
            )
        )
    store.close()
    out = []
    for s in samples:
        sha = content_hash(s.solution)
        base = results[keys[(s.task_id, "base", sha)]]
        plus = results[keys[(s.task_id, "plus", sha)]] if not cfg.base_only else None
        out.append(
            Verdict(
                s.task_id,
                s.index,
                base["status"],
                plus["status"] if plus else None,
                tuple(base["details"]),
                tuple(plus["details"]) if plus else (),
            )
        )
    return out


def run_keys(
    dataset: EvalPlusDataset, samples: Sequence[Sample], config: JudgeConfig | None = None
) -> set[str]:
    """The cache keys of the runs :func:`judge` needs for ``samples`` (what a journal row must match)."""
    cfg = config or JudgeConfig()
    segments = SEGMENTS[:1] if cfg.base_only else SEGMENTS
    return {
        content_hash(_CACHE_VERSION, dataset.hash, s.task_id, seg, content_hash(s.solution), cfg.key())
        for s in samples
        for seg in segments
    }


def _valid_entry(v: Any) -> bool:
    """A cached verdict as :func:`judge` writes it (anything else is recomputed)."""
    return (
        isinstance(v, dict)
        and v.get("status") in ("pass", "fail", "timeout")
        and isinstance(v.get("details"), list)
        and all(type(d) is bool for d in v["details"])
    )


def count_runs(samples: Sequence[Sample], base_only: bool = False) -> int:
    """Number of distinct (task, segment, program) runs :func:`judge` reports progress for."""
    return len({(s.task_id, content_hash(s.solution)) for s in samples}) * (1 if base_only else 2)


def _execute(
    dataset: EvalPlusDataset,
    expected: dict[str, dict[str, Any]],
    todo: list[tuple[str, str, str]],
    code_by_sha: dict[str, str],
    keys: dict[tuple[str, str, str], str],
    cfg: JudgeConfig,
    parallel: int | None,
    store: ResultCache,
    progress: Callable[[int], None] | None,
    executor: Executor | None,
    on_result: OnResult | None = None,
) -> dict[str, Any]:
    assets: dict[str, Any] = {}
    jobs: list[CallJob] = []
    import psutil

    mem_mb = min(4096, psutil.virtual_memory().total // (1024 * 1024))
    limits = Limits(memory_mb=mem_mb, stack_mb=mem_mb)
    for task_id, seg, sha in todo:
        problem = dataset.problems[task_id]
        in_key, chk_key = f"{dataset.hash}:{task_id}:{seg}:in", f"{dataset.hash}:{task_id}:{seg}:chk"
        if in_key not in assets:
            assets[in_key] = problem[f"{seg}_input"]
            assets[chk_key] = {
                "dataset": dataset.name,
                "entry_point": problem["entry_point"],
                "inputs": problem[f"{seg}_input"],
                "expected": expected[task_id][seg],
                "atol": problem["atol"],
            }
        tl, overall = _time_limits(expected[task_id][f"{seg}_time"], cfg)
        jobs.append(
            CallJob(
                code=code_by_sha[sha],
                entry_point=problem["entry_point"],
                inputs_key=in_key,
                time_limits=tl,
                overall_timeout_s=overall,
                checker=CheckerRef("rerankeval_evalplus.compare:make_checker", chk_key),
                stop_on_fail=cfg.fast_check,
                limits=limits,
                prelude="rerankeval_evalplus.compare:guard",
            )
        )
    # Longest first: many inputs and long limits dominate the tail, so start them early.
    order = sorted(range(len(jobs)), key=lambda i: -(len(jobs[i].time_limits) + jobs[i].overall_timeout_s))
    jobs = [jobs[i] for i in order]
    todo = [todo[i] for i in order]
    fresh: dict[str, Any] = {}
    pending: dict[str, Any] = {}

    def record(i: int, outcome: ProgramOutcome) -> None:
        task_id, seg, sha = todo[i]
        quirk = (
            cfg.evalplus_quirks
            and dataset.name == "humaneval"
            and dataset.problems[task_id]["entry_point"] == "find_zero"
        )
        status, details = status_from_outcome(outcome, len(jobs[i].time_limits), quirk)
        k = keys[(task_id, seg, sha)]
        fresh[k] = pending[k] = {"status": status, "details": details}
        if on_result is not None:
            on_result(k, todo[i], fresh[k])
        if len(pending) >= 200:
            store.put_many(pending)
            pending.clear()

    with ExitStack() as stack:
        ex = executor_or_local(executor, stack, parallel, PRELOAD)
        stack.callback(lambda: store.put_many(pending))  # what finished is kept, whatever stops the run
        for i, outcome in run_confirming(ex, jobs, assets, progress, confirm=cfg.confirm_starved):
            record(i, outcome)
    return fresh
