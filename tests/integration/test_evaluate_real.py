"""`rerankeval evaluate` against `evalplus.evaluate` 0.3.1 on real model samples (fixed subset)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from rerankeval.core.types import ExecOutcome, ProgramOutcome, cpu_starved
from rerankeval_evalplus import judge, load_dataset, read_samples
from rerankeval_evalplus.judge import PRELOAD, JudgeConfig
from rerankeval_evalplus.samples import Sample

pytestmark = pytest.mark.realdata

# Tasks with passing and failing samples, the find_zero quirk (HumanEval/32), float outputs (HumanEval/2, /4).
TASKS = ("HumanEval/2", "HumanEval/4", "HumanEval/10", "HumanEval/32", "HumanEval/53")


@pytest.fixture(scope="module")
def subset(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from rerankeval_evalplus.importers import codet_samples

    work = tmp_path_factory.mktemp("agree")
    with gzip.open(shared_data / "humanevalplus" / "HumanEvalPlus.jsonl.gz", "rt") as f:
        problems = [json.loads(x) for x in f]
    ds_path = work / "subset.jsonl.gz"
    with gzip.open(ds_path, "wt") as f:
        for p in problems:
            if p["task_id"] in TASKS:
                f.write(json.dumps(p) + "\n")
    src = shared_data / "codet" / "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl"
    per_task: dict[str, int] = {}
    samples = work / "samples.jsonl"
    with open(samples, "w") as f:
        for row in codet_samples(src):
            if row["task_id"] in TASKS and per_task.get(row["task_id"], 0) < 8:
                per_task[row["task_id"]] = per_task.get(row["task_id"], 0) + 1
                f.write(json.dumps(row) + "\n")
    return ds_path, samples


def _annotation_samples(ds_path: Path) -> str:
    # Annotations naming `List` with no typing import (HumanEval/53's prompt has none), as in
    # code-davinci-002's samples HumanEval/37 #6 (nested def) and /33 #124 (module-level variable):
    # EvalPlus evaluates them, so the first fails on its first input and the second at load.
    prompt = load_dataset("humaneval", ds_path).problems["HumanEval/53"]["prompt"]
    tails = [
        "    def h(v: List[int]) -> int:\n        return v\n    return h(x) + y\n",
        "    return x + y\n\nz: List[int] = [1]\n",
        "    return x + y\n\ndef unused(v: List[int]) -> int:\n    return v\n",
    ]
    return "".join(json.dumps({"task_id": "HumanEval/53", "solution": prompt + t}) + "\n" for t in tails)


def test_verdicts_identical_to_evalplus(subset: tuple[Path, Path], tmp_path: Path) -> None:
    ds_path, fixed = subset
    samples = tmp_path / "samples.jsonl"
    samples.write_text(fixed.read_text() + _annotation_samples(ds_path))
    ep_samples = tmp_path / "ep.jsonl"
    ep_samples.write_bytes(samples.read_bytes())
    env = {**os.environ, "HUMANEVAL_OVERRIDE_PATH": str(ds_path)}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from evalplus.evaluate import evaluate; "
            f"evaluate('humaneval', samples={str(ep_samples)!r}, parallel=2)",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    theirs = json.loads((tmp_path / "ep_eval_results.json").read_text())
    out = tmp_path / "ours.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rerankeval.cli.main",
            "evaluate",
            "--dataset",
            "humaneval",
            "--samples",
            str(samples),
            "--dataset-path",
            str(ds_path),
            "--no-cache",
            "--out",
            str(out),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    ours = json.loads(out.read_text())
    assert ours["hash"] == theirs["hash"]
    assert ours["eval"].keys() == theirs["eval"].keys()
    fields = ("solution", "base_status", "plus_status", "base_fail_tests", "plus_fail_tests")
    for task, rows in theirs["eval"].items():
        assert [{k: r[k] for k in fields} for r in ours["eval"][task]] == [
            {k: r[k] for k in fields} for r in rows
        ]
    statuses = {r["base_status"] for rows in ours["eval"].values() for r in rows}
    assert {"pass", "fail"} <= statuses  # the subset exercises both outcomes
    assert all(r["plus_status"] == "fail" for r in ours["eval"]["HumanEval/32"])  # EvalPlus 0.3.1's quirk
    assert [r["base_status"] for r in ours["eval"]["HumanEval/53"][-3:]] == ["fail", "fail", "fail"]


def test_cheating_programs_never_pass(subset: tuple[Path, Path], tmp_path: Path) -> None:
    ds = load_dataset("humaneval", subset[0])
    prompt = ds.problems["HumanEval/53"]["prompt"]  # add(x, y)
    cheats = {
        "exit0": "import sys\nsys.exit(0)\n",
        "os_exit_in_call": "def add(x, y):\n    import os\n    os._exit(0)\n",
        "fake_marker": "def add(x, y):\n    print('PASS ALL TESTS OK')\n    return None\n",
        "eq_always_true": (
            "class A:\n    def __eq__(self, o):\n        return True\n    __hash__ = object.__hash__\n"
            "def add(x, y):\n    return A()\n"
        ),
        "kill_parent": "def add(x, y):\n    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n",
        "swallow_everything": (
            "def add(x, y):\n    try:\n        while True:\n            pass\n"
            "    except BaseException:\n        return x + y + 1\n"
        ),
    }
    samples_path = tmp_path / "cheats.jsonl"
    samples_path.write_text(
        "".join(
            json.dumps({"task_id": "HumanEval/53", "solution": prompt + code}) + "\n"
            for code in cheats.values()
        )
        + json.dumps({"task_id": "HumanEval/53", "solution": prompt + "    return x + y\n"})
        + "\n"
    )
    verdicts = judge(ds, read_samples(samples_path, ds), parallel=2, cache=False)
    assert [v.passed for v in verdicts] == [False] * len(cheats) + [True]


def test_programs_importing_what_evalplus_has_loaded_pass_as_under_evalplus(
    subset: tuple[Path, Path], tmp_path: Path
) -> None:
    # EvalPlus's evaluating process has pandas and numpy imported when it forks its checkers, so a
    # correct function followed by `import pandas as pd` passes there (CodeT sample HumanEval/50 #32).
    ds = load_dataset("humaneval", subset[0])
    prompt = ds.problems["HumanEval/53"]["prompt"]
    samples_path = tmp_path / "imports.jsonl"
    tails = ["import pandas as pd\n", "import numpy as np\nimport pandas as pd\n"]
    samples_path.write_text(
        "".join(
            json.dumps({"task_id": "HumanEval/53", "solution": prompt + "    return x + y\n" + tail}) + "\n"
            for tail in tails
        )
    )
    verdicts = judge(ds, read_samples(samples_path, ds), parallel=2, cache=False)
    assert [(v.base_status, v.plus_status) for v in verdicts] == [("pass", "pass")] * 2


def test_editable_install_under_tmp_evaluated_from_another_folder(
    subset: tuple[Path, Path], tmp_path: Path
) -> None:
    """The case where the sandbox hid the checker's package: every sample `fail`, pass@1 0.000, exit 0."""
    import shutil
    import tempfile

    from editable_install import ROOT, editable_install

    ds_path, samples = subset
    base = Path(tempfile.mkdtemp(prefix="rerankeval-editable-", dir="/tmp"))
    try:
        python = editable_install(
            base,
            {
                "rerankeval": ROOT / "harness" / "rerankeval",
                "rerankeval_evalplus": ROOT / "plugins" / "rerankeval_evalplus",
            },
        )
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["RERANKEVAL_CACHE_DIR"] = str(tmp_path / "cache")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        out = tmp_path / "tmp_install.json"
        res = subprocess.run(
            [
                str(python),
                "-m",
                "rerankeval.cli.main",
                "evaluate",
                "--dataset",
                "humaneval",
                "--samples",
                str(samples),
                "--dataset-path",
                str(ds_path),
                "--out",
                str(out),
            ],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert res.returncode == 0, res.stderr[-2000:]
        ours = json.loads(out.read_text())
    finally:
        shutil.rmtree(base, ignore_errors=True)
    ds = load_dataset("humaneval", ds_path)
    verdicts = judge(ds, read_samples(samples, ds), cache=False)
    statuses = [r["base_status"] for rows in ours["eval"].values() for r in rows]
    assert sorted(statuses) == sorted(v.base_status for v in verdicts)
    assert "pass" in statuses  # the checker ran: real verdicts, not a harness failure scored as `fail`


class _StarvingExecutor:
    """Runs jobs in the real sandbox, except that the first run of a program marked ``# starve`` comes
    back as a machine too busy would make it: its first input hit the time limit with a tenth of it
    on the CPU. Records every outcome by program."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.parallel, self.name = inner, inner.parallel, "starving"
        self.outcomes: dict[str, list[ProgramOutcome]] = {}

    def run(
        self, jobs: Sequence[Any], assets: Mapping[str, Any], progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, ProgramOutcome]]:
        real = [i for i, j in enumerate(jobs) if "# starve" not in j.code or j.code in self.outcomes]
        for i, j in enumerate(jobs):
            if i not in real:
                out = ProgramOutcome((ExecOutcome("timeout", 1.0, "TimeoutException", cpu_s=0.1),), True)
                self.outcomes.setdefault(j.code, []).append(out)
                yield i, out
        for k, out in self.inner.run([jobs[i] for i in real], assets, progress):
            self.outcomes.setdefault(jobs[real[k]].code, []).append(out)
            yield real[k], out


def test_a_run_starved_of_cpu_is_judged_again_on_a_second_run(subset: tuple[Path, Path]) -> None:
    """EvalPlus's time limits are wall-clock: a correct program that a busy machine kept off the CPU
    fails them. A run that hit a limit with less than half of it on the CPU runs again alone after
    the others and is judged on that run; a program that spins is judged once; one that sleeps is
    starved by its own doing, runs twice more and fails every time."""
    from rerankeval.sandbox import LocalExecutor

    ds = load_dataset("humaneval", subset[0])
    prompt = ds.problems["HumanEval/53"]["prompt"]
    bodies = {
        "correct, starved": "    # starve\n    return x + y\n",
        "spins": "    while True:\n        pass\n",
        "sleeps": "    import time\n    time.sleep(5)\n    return x + y\n",
    }
    samples = [Sample("HumanEval/53", i, prompt + b) for i, b in enumerate(bodies.values())]
    with LocalExecutor(parallel=2, preload=PRELOAD) as inner:
        ex = _StarvingExecutor(inner)
        verdicts = judge(ds, samples, cache=False, executor=ex, config=JudgeConfig(base_only=True))
        runs = {name: ex.outcomes[s.solution] for name, s in zip(bodies, samples, strict=True)}
        assert [v.base_status for v in verdicts] == ["pass", "fail", "fail"]
        assert len(runs["correct, starved"]) == 2 and runs["correct, starved"][1].units[0].passed
        spin, sleep = runs["spins"][0].units[-1], runs["sleeps"][0].units[-1]
        assert spin.status == sleep.status == "timeout"
        assert sleep.cpu_s is not None and sleep.cpu_s < 0.1 * sleep.duration_s  # it slept
        assert spin.cpu_s is not None and spin.cpu_s > sleep.cpu_s  # it ran
        assert len(runs["sleeps"]) == 3  # starved by its own doing: the first run and two alone
        # spinning on an idle core is not starvation; a loaded machine may starve it too (then it runs again)
        assert len(runs["spins"]) in ((2, 3) if cpu_starved(runs["spins"][0]) else (1,))
        ex = _StarvingExecutor(inner)
        off = JudgeConfig(base_only=True, confirm_starved=False)
        verdicts = judge(ds, samples, cache=False, executor=ex, config=off)
        assert [v.base_status for v in verdicts] == ["fail", "fail", "fail"]  # judged on the starved run
        assert all(len(runs) == 1 for runs in ex.outcomes.values())
