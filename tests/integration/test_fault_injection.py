"""Fault injection: a run survives every fault it can meet, loses nothing finished and records nothing wrong.

Each test injects one fault into a tiny rerank run (hand-made problems, the real sandbox, a
model-free reward scorer: ``tests/fixtures/fault_runs.py``) and checks, against a clean reference
run, that:

* the fault stops the run with one line that names the input or fault and the fix (never a verdict);
* every row finished before the fault is still on disk, byte for byte (``results lost``);
* after the fix, ``--resume`` ends with exactly the reference's rows and metrics, no row twice
  (``wrong verdicts recorded`` counts rows or metrics that differ from the reference).

The figures are printed at the end of the session (``fault injection: faults injected ...``).
Faults: SIGKILL of the main process at random points (rerank with reward scoring; evaluate in
the slow tier), a write that fails with ENOSPC in each run file, a real full disk (a tiny tmpfs,
when this process may mount one), a truncated or corrupted line in every run file, two runs on one
``--out``, a reward-model backend that raises or returns malformed output, ``--overwrite`` next to
user files and an input that lies at one of the run's output paths; for sample and test generation
(``tests/fixtures/fault_generation.py``), SIGKILL at random points and a model backend that raises or
returns malformed output.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fault_figures
import fault_runs
import pytest

import rerankeval.pipeline.rm_scoring as rm_scoring
import rerankeval.runs as runs
from rerankeval.errors import HarnessFaultError, InputError, RunLockedError, RunWriteError
from rerankeval.pipeline import run_rerank
from rerankeval.sandbox import LocalExecutor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROW_FILES = ("gold.jsonl", "matrix.jsonl", "canonical.jsonl", "rm_scores.jsonl")


@pytest.fixture(scope="module")
def executor() -> Iterator[LocalExecutor]:
    with LocalExecutor(parallel=1) as ex:
        yield ex


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, executor: LocalExecutor) -> Path:
    """A clean run: the rows and metrics every faulty run must end with."""
    d = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as mp:
        _use(mp, fault_runs.TextScorer())
        cfg, cands = fault_runs.config(d / "inputs", d / "run")
        run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor)
    return d / "run"


@pytest.fixture(autouse=True)
def _scorer(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, fault_runs.TextScorer())


def _use(mp: pytest.MonkeyPatch, scorer: fault_runs.TextScorer) -> None:
    """Makes ``rm=text`` load ``scorer`` for one test (the reranker imports make_scorer by name)."""
    mp.setattr("rerankeval.rerankers.reward_model.make_scorer", lambda spec, **kw: scorer)


def _lines(path: Path) -> list[str]:
    """The complete lines of a file (a half-written tail is not a finished row)."""
    if not path.exists():
        return []
    text = path.read_text()
    return text.splitlines()[: text.count("\n")]


def _snapshot(out: Path) -> dict[str, list[str]]:
    return {name: _lines(out / name) for name in ROW_FILES}


def _lost(before: dict[str, list[str]], out: Path) -> int:
    """Finished rows of ``before`` that the run directory no longer holds as they were."""
    lost = 0
    for name, rows in before.items():
        now = set(_lines(out / name))
        lost += sum(1 for r in rows if r not in now)
    return lost


def _keyed(path: Path, key: tuple[str, ...]) -> dict[tuple[Any, ...], str]:
    rows = [json.loads(x) for x in _lines(path)]
    return {tuple(r[k] for k in key): json.dumps({k: v for k, v in r.items()}, sort_keys=True) for r in rows}


def _wrong(out: Path, reference: Path) -> int:
    """Rows (and metrics) that differ from the reference run, missing ones included, plus duplicates."""
    wrong = fault_runs.duplicates(out)
    for name in ROW_FILES:
        key = fault_runs.KEYED[name]
        mine, ref = _keyed(out / name, key), _keyed(reference / name, key)
        wrong += sum(1 for k in ref.keys() | mine.keys() if mine.get(k) != ref.get(k))
    metrics, ref_metrics = (p / "metrics.json" for p in (out, reference))
    if not metrics.exists() or json.loads(metrics.read_text()) != json.loads(ref_metrics.read_text()):
        wrong += 1
    return wrong


def _config(tmp: Path, **kw: Any) -> tuple[Any, list[Any]]:
    return fault_runs.config(tmp / "inputs", tmp / "run", **kw)


def _status(out: Path) -> dict[str, Any]:
    return json.loads((out / "run.json").read_text())  # type: ignore[no-any-return]


# --- the run directory: --overwrite, inputs at output paths, one run per --out -----------------


def test_overwrite_removes_only_what_the_run_wrote(
    tmp_path: Path, executor: LocalExecutor, reference: Path
) -> None:
    out = tmp_path / "run"
    samples, tests, cands = fault_runs.write_inputs(out)  # the samples live in the run directory
    (out / "tests.jsonl").rename(tmp_path / "tests.jsonl")
    (out / "notes.txt").write_text("my notes\n")
    (out / "selected").mkdir()
    (out / "selected" / "mine.jsonl").write_text("{}\n")
    cfg, _ = fault_runs.config(tmp_path / "unused", out, samples=samples, tests=tmp_path / "tests.jsonl")
    keep = {p: p.read_bytes() for p in (samples, out / "notes.txt", out / "selected" / "mine.jsonl")}
    run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor)
    (out / "stale.jsonl.tmp").write_text("x")
    run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor, overwrite=True)
    lost = sum(1 for p, data in keep.items() if not p.exists() or p.read_bytes() != data)
    fault_figures.record(lost=lost, wrong=_wrong(out, reference), ok=_status(out)["status"] == "finished")
    assert lost == 0
    assert _wrong(out, reference) == 0
    assert (out / "stale.jsonl.tmp").exists()  # not a file of the run: kept


def test_an_input_at_one_of_the_run_outputs_is_refused(tmp_path: Path, executor: LocalExecutor) -> None:
    out = tmp_path / "run"
    samples, tests, cands = fault_runs.write_inputs(out)  # tests.jsonl is also the run's own tests file
    before = tests.read_bytes()
    cfg, _ = fault_runs.config(tmp_path / "unused", out, samples=samples, tests=tests)
    with pytest.raises(InputError) as err:
        run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor)
    ok = "--tests" in str(err.value) and "Move the file out of the run directory" in str(err.value)
    fault_figures.record(lost=int(tests.read_bytes() != before), ok=ok and not (out / "run.json").exists())
    assert ok, str(err.value)
    assert tests.read_bytes() == before and not (out / "run.json").exists()


_HOLD = """
import sys, time
from rerankeval.runs import RunDir
with RunDir(sys.argv[1], resume=False):
    print("holding", flush=True)
    time.sleep(120)
"""


def _env() -> dict[str, str]:
    root = Path(__file__).resolve().parents[2]
    return {**os.environ, "PYTHONPATH": f"{root / 'harness'}:{root / 'plugins'}"}


def test_two_runs_on_one_out_the_second_is_refused_naming_the_first(
    tmp_path: Path, executor: LocalExecutor, reference: Path
) -> None:
    cfg, cands = _config(tmp_path)
    cfg.out.mkdir(parents=True)
    first = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(cfg.out)], stdout=subprocess.PIPE, text=True, env=_env()
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "holding"
        for resume in (False, True):
            if resume:
                (cfg.out / "run.json").write_text('{"status": "running"}')
            with pytest.raises(RunLockedError) as err:
                run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor, resume=resume)
            named = f"pid {first.pid}" in str(err.value)
            fault_figures.record(wrong=len(list(cfg.out.glob("*.jsonl"))), ok=named)
            assert named, str(err.value)
            assert not list(cfg.out.glob("*.jsonl"))  # the refused run wrote nothing
    finally:
        first.kill()  # SIGKILL: the kernel releases its lock
        first.wait()
    (cfg.out / "run.json").unlink()
    run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor)
    assert _wrong(cfg.out, reference) == 0


# --- failed writes: ENOSPC injected at the write layer, and a real full tmpfs -----------------


@pytest.mark.parametrize(
    "target", ["gold.jsonl", "matrix.jsonl", "rm_scores.jsonl", "selections.jsonl", "metrics.json"]
)
def test_a_failed_write_stops_the_run_and_resume_finishes_it(
    target: str, tmp_path: Path, executor: LocalExecutor, reference: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, cands = _config(tmp_path)
    full = OSError(errno.ENOSPC, "No space left on device")
    writes = {"n": 0}
    real_write, real_json = runs.JsonlAppender.write, runs.write_json_atomic

    def write(self: runs.JsonlAppender, row: dict[str, Any]) -> None:
        if self.path.name == target:
            writes["n"] += 1
            if writes["n"] > 3:
                raise runs.write_error(self.path, full)
        real_write(self, row)

    def write_json(path: Path, obj: Any, **kw: Any) -> None:
        if Path(path).name == target:
            raise runs.write_error(Path(path), full)
        real_json(path, obj, **kw)

    monkeypatch.setattr(runs.JsonlAppender, "write", write)
    monkeypatch.setattr("rerankeval.pipeline.run.write_json_atomic", write_json)
    with pytest.raises(RunWriteError) as err:
        run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor)
    message = str(err.value)
    meta = _status(cfg.out)
    before = _snapshot(cfg.out)
    monkeypatch.undo()
    _use(monkeypatch, fault_runs.TextScorer())
    run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor, resume=True)
    ok = (
        target in message
        and "Free space" in message
        and meta["status"] == "failed"
        and target in meta["error"]
    )
    lost, wrong = _lost(before, cfg.out), _wrong(cfg.out, reference)
    fault_figures.record(lost=lost, wrong=wrong, ok=ok)
    assert ok, (message, meta)
    assert lost == 0 and wrong == 0


@pytest.fixture()
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted under tmp_path (skipped where this process may not mount)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}); ENOSPC is injected instead"
        )
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave))
    return filler


def test_a_full_disk_is_refused_before_any_work(
    tiny_disk: Path, tmp_path: Path, executor: LocalExecutor
) -> None:
    cfg, cands = fault_runs.config(tmp_path / "inputs", tiny_disk / "run")
    _fill(tiny_disk, 256 * 1024)
    with pytest.raises(RunWriteError) as err:
        run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor)
    ok = "KiB free" in str(err.value) and str(tiny_disk / "run") in str(err.value)
    fault_figures.record(ok=ok and not (cfg.out / "run.json").exists())
    assert ok, str(err.value)


def test_a_disk_that_fills_mid_run_marks_it_failed_and_resume_finishes_it(
    tiny_disk: Path, tmp_path: Path, executor: LocalExecutor, reference: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "MIN_FREE_BYTES", 0)
    cfg, cands = fault_runs.config(tmp_path / "inputs", tiny_disk / "run")
    filler = _fill(tiny_disk, 24 * 1024)  # room for run.json and the first files, not for the whole run
    with pytest.raises(RunWriteError) as err:
        run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor)
    meta = _status(cfg.out)  # written in the room run.json kept
    before = _snapshot(cfg.out)
    filler.unlink()
    run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor, resume=True)
    ok = "No space left" in str(err.value) and meta["status"] == "failed"
    lost, wrong = _lost(before, cfg.out), _wrong(cfg.out, reference)
    fault_figures.record(lost=lost, wrong=wrong, ok=ok)
    assert ok, (str(err.value), meta)
    assert lost == 0 and wrong == 0


# --- run files: a corrupted line is an error naming file and line; a torn tail is resumed -----

CORRUPT = {
    "gold.jsonl": ("passed", "false"),
    "matrix.jsonl": ("tests", "zzzz"),
    "canonical.jsonl": ("tests", "pp?"),
    "rm_scores.jsonl": ("score", "0.5"),
    "candidates.jsonl": ("index", "1"),
    "tests.jsonl": ("test_id", 7),
    "selections.jsonl": ("chosen", "0"),
}


def _copy_reference(reference: Path, tmp: Path) -> Any:
    cfg, cands = _config(tmp)
    shutil.copytree(reference, cfg.out)
    return cfg, cands


def _resume_or_report(cfg: Any, cands: Any, executor: LocalExecutor, name: str) -> None:
    if name in ("candidates.jsonl", "tests.jsonl", "selections.jsonl"):  # read by reports, rewritten by runs
        from rerankeval.report.frames import load_run

        load_run(cfg.out)
    else:
        run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor, resume=True)


@pytest.mark.parametrize("kind", ["cut", "value"])
@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_a_corrupted_line_in_a_run_file_is_an_error_naming_file_and_line(
    name: str, kind: str, tmp_path: Path, executor: LocalExecutor, reference: Path
) -> None:
    cfg, cands = _copy_reference(reference, tmp_path)
    path = cfg.out / name
    lines = path.read_text().splitlines(keepends=True)
    no = 2  # a line in the middle of the file
    if kind == "cut":
        lines[no - 1] = lines[no - 1][: len(lines[no - 1]) // 2] + "\n"
    else:
        field, value = CORRUPT[name]
        row = json.loads(lines[no - 1])
        row[field] = value
        lines[no - 1] = json.dumps(row) + "\n"
    path.write_text("".join(lines))
    with pytest.raises(InputError) as err:
        _resume_or_report(cfg, cands, executor, name)
    ok = f"{name}:{no}:" in str(err.value) and ("--resume" in str(err.value) or "Fix" in str(err.value))
    fault_figures.record(wrong=0 if ok else 1, ok=ok)
    assert ok, str(err.value)


def test_a_corrupted_run_json_is_an_error_naming_it(
    tmp_path: Path, executor: LocalExecutor, reference: Path
) -> None:
    cfg, cands = _copy_reference(reference, tmp_path)
    (cfg.out / "run.json").write_text('{"status": "finished", "config": ')
    with pytest.raises(InputError) as err:
        run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor, resume=True)
    ok = "run.json" in str(err.value) and "--overwrite" in str(err.value)
    fault_figures.record(ok=ok)
    assert ok, str(err.value)
    run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor, overwrite=True)  # as the message says
    assert _wrong(cfg.out, reference) == 0


@pytest.mark.parametrize("name", ["gold.jsonl", "matrix.jsonl", "canonical.jsonl", "rm_scores.jsonl"])
def test_a_half_written_last_line_is_recomputed_on_resume(
    name: str, tmp_path: Path, executor: LocalExecutor, reference: Path
) -> None:
    cfg, cands = _copy_reference(reference, tmp_path)
    path = cfg.out / name
    text = path.read_text()
    cut = text[: len(text) - len(text.splitlines()[-1]) // 2 - 1]  # the last row, half written
    path.write_text(cut)
    before = _snapshot(cfg.out)
    run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor, resume=True)
    lost, wrong = _lost(before, cfg.out), _wrong(cfg.out, reference)
    fault_figures.record(lost=lost, wrong=wrong)
    assert lost == 0 and wrong == 0


# --- a reward-model backend that raises or returns malformed output ---------------------------


@pytest.mark.parametrize("fault", ["raise", "nan", "short"])
def test_a_failing_reward_model_is_a_harness_fault_never_a_score(
    fault: str, tmp_path: Path, executor: LocalExecutor, reference: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rm_scoring, "CHUNK", 10)
    _use(monkeypatch, fault_runs.TextScorer(fault=fault, fault_after=1))
    cfg, cands = _config(tmp_path)
    with pytest.raises(HarnessFaultError) as err:
        run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor)
    message, meta = str(err.value), _status(cfg.out)
    before = _snapshot(cfg.out)
    scored = [json.loads(x) for x in before["rm_scores.jsonl"]]
    _use(monkeypatch, fault_runs.TextScorer())
    run_rerank(cfg, fault_runs.benchmark(), cands, executor=executor, resume=True)
    ok = (
        "reward model 'rm'" in message
        and "--resume" in message
        and meta["status"] == "failed"
        and len(scored) == 10
    )
    lost, wrong = _lost(before, cfg.out), _wrong(cfg.out, reference)
    fault_figures.record(lost=lost, wrong=wrong, ok=ok)
    assert ok, (message, meta, len(scored))
    assert lost == 0 and wrong == 0


# --- SIGKILL of the main process at random points ---------------------------------------------


def _kill_and_resume(tmp_path: Path, reference: Path, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    env = {**_env(), "FAULT_SCORER_DELAY": "0.15", "FAULT_CHUNK": "5", "RERANKEVAL_LOG_LEVEL": "WARNING"}
    out = tmp_path / "run"

    def start() -> subprocess.Popen[bytes]:
        resume = ["--resume"] if (out / "run.json").exists() else []
        return subprocess.Popen(
            [sys.executable, str(FIXTURES / "fault_runs.py"), str(tmp_path), *resume],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    for _ in range(kills):  # a whole run takes about 3.5 s here (1.5 s of it starting Python)
        before = _snapshot(out)
        proc = start()
        time.sleep(rng.uniform(0.3, 3.5))
        killed = proc.poll() is None
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
        lost = _lost(before, out)
        if killed:
            fault_figures.record(lost=lost)
        assert lost == 0
    before = _snapshot(out)
    proc = start()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    lost, wrong = _lost(before, out), _wrong(out, reference)
    fault_figures.FIGURES["results lost"] += lost
    fault_figures.FIGURES["wrong verdicts recorded"] += wrong
    assert lost == 0 and wrong == 0


def test_sigkill_at_random_points_of_a_rerank_run_loses_and_repeats_nothing(
    tmp_path: Path, reference: Path
) -> None:
    _kill_and_resume(tmp_path, reference, kills=3, seed=1)


@pytest.mark.slow
def test_sigkill_at_many_random_points_of_a_rerank_run(tmp_path: Path, reference: Path) -> None:
    _kill_and_resume(tmp_path, reference, kills=12, seed=2)


# --- SWE-bench: a reward-model backend that fails mid-run -------------------------------------


def _swebench_inputs(tmp: Path) -> tuple[Path, Path]:
    inst, cands = tmp / "instances.jsonl", tmp / "candidates.jsonl"
    ids = [f"o__r-{k}" for k in range(6)]
    inst.write_text(
        "".join(json.dumps({"instance_id": i, "repo": "o/r", "problem_statement": i}) + "\n" for i in ids)
    )
    rows = [
        {
            "instance_id": i,
            "model_name_or_path": f"org/{m}",
            "model_patch": f"diff {m} {i}",
            "resolved": (k + m) % 2 == 0,
        }
        for k, i in enumerate(ids)
        for m in range(2)
    ]
    cands.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return inst, cands


@pytest.mark.parametrize("fault", ["raise", "nan"])
def test_a_failing_swebench_scorer_is_a_harness_fault_and_resume_finishes(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    import rerankeval.rerankers.reward_model as rm
    from rerankeval.cli.main import _register, cli
    from rerankeval.generation.scoring import ScorerOptions

    _register()
    inst, cands = _swebench_inputs(tmp_path)
    monkeypatch.setattr(fault_runs.TextScorer, "options", ScorerOptions(batch_size=4), raising=False)
    args = [
        "swebench",
        "rerank",
        "--instances",
        str(inst),
        "--candidates",
        str(cands),
        "--rm",
        "text",
        "--no-cache",
        "--n-boot",
        "10",
        "--ks",
        "1,2",
    ]
    env = {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")}

    def run(out: Path, scorer: fault_runs.TextScorer, *extra: str) -> Any:
        monkeypatch.setattr(rm, "make_scorer", lambda spec, **kw: scorer)
        return CliRunner().invoke(cli, [*args, "--out", str(out), *extra], env=env)

    ref = run(tmp_path / "ref", fault_runs.TextScorer())
    assert ref.exit_code == 0, ref.output
    out = tmp_path / "run"
    failed = run(out, fault_runs.TextScorer(fault=fault, fault_after=1))
    before = _lines(out / "rm_scores.jsonl")
    status = _status(out)["status"]
    resumed = run(out, fault_runs.TextScorer(), "--resume")
    assert resumed.exit_code == 0, resumed.output
    ok = (
        failed.exit_code == 1
        and "reward model 'rm-text'" in failed.output
        and "--resume" in failed.output
        and status == "failed"
        and len(before) == 4
    )
    lost = sum(1 for x in before if x not in set(_lines(out / "rm_scores.jsonl")))
    mine, theirs = (json.loads((d / "metrics.json").read_text()) for d in (out, tmp_path / "ref"))
    wrong = fault_runs.duplicates(out) + int(mine["selection"] != theirs["selection"])
    fault_figures.record(lost=lost, wrong=wrong, ok=ok)
    assert ok, (failed.output, status, len(before))
    assert lost == 0 and wrong == 0


# --- sample and test generation: SIGKILL at random points, a backend that fails -------------------


def _generated(out: Path) -> tuple[list[str], list[str]]:
    from rerankeval.unittests.artifact import sidecar_path

    return _lines(out), [json.loads(x)["task_id"] for x in _lines(sidecar_path(out))]


@pytest.mark.parametrize("kind", ["tests", "samples"])
def test_sigkill_of_generation_at_random_points_loses_and_draws_nothing_twice(
    kind: str, tmp_path: Path
) -> None:
    import fault_generation

    whole = tmp_path / "whole.jsonl"
    fault_generation.run(kind, whole, fault_generation.Writer())
    out = tmp_path / "out.jsonl"
    script = [sys.executable, str(FIXTURES / "fault_generation.py"), kind, str(out)]
    env = {**os.environ, "FAULT_GEN_DELAY": "0.25", "PYTHONPATH": os.pathsep.join([str(FIXTURES), *sys.path])}
    rng = random.Random(11 if kind == "tests" else 12)
    lost, progress = 0, []
    for _ in range(2):
        before = set(_lines(out))
        n_before = len(_generated(out)[1])
        proc = subprocess.Popen(script, env=env)
        deadline = time.monotonic() + 60
        while len(_generated(out)[1]) <= n_before and time.monotonic() < deadline:
            time.sleep(0.02)  # wait for the run's first new batch, then kill at a random moment
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        lost += len(before - set(_lines(out)))
        progress.append(len(_generated(out)[1]))
    assert 0 < progress[0] < progress[1] < len(fault_generation.PROBLEMS)  # both kills landed mid-run
    subprocess.run(script, env=env, check=True)
    rows, drawn = _generated(out)
    want, _ = _generated(whole)
    wrong = len(set(rows) ^ set(want)) + (len(rows) - len(set(rows))) + (len(drawn) - len(set(drawn)))
    fault_figures.record(lost=lost, wrong=wrong, ok=sorted(drawn) == sorted(set(drawn)))
    assert lost == 0 and wrong == 0
    assert sorted(rows) == sorted(want)


@pytest.mark.parametrize("kind", ["tests", "samples"])
@pytest.mark.parametrize("fault", ["raise", "short"])
def test_a_failing_generation_backend_is_a_harness_fault_and_resume_finishes(
    kind: str, fault: str, tmp_path: Path
) -> None:
    import fault_generation

    whole = tmp_path / "whole.jsonl"
    fault_generation.run(kind, whole, fault_generation.Writer())
    out = tmp_path / "out.jsonl"
    with pytest.raises(HarnessFaultError) as e:
        fault_generation.run(kind, out, fault_generation.Writer(fault=fault, fault_after=2))
    before, drawn_before = _generated(out)
    fault_generation.run(kind, out, fault_generation.Writer(), resume=True)
    rows, drawn = _generated(out)
    want, _ = _generated(whole)
    msg = str(e.value)
    ok = "vllm:fault-double" in msg and "--resume" in msg and "4 problems finished are kept" in msg
    lost = len(set(before) - set(rows))
    wrong = len(set(rows) ^ set(want)) + len(drawn) - len(set(drawn))
    fault_figures.record(lost=lost, wrong=wrong, ok=ok and len(drawn_before) == 4)
    assert ok, msg
    assert len(drawn_before) == 4 and lost == 0 and wrong == 0  # two batches of two problems were on disk
