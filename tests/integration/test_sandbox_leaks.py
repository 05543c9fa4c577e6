"""The sandbox's view and channels: what a program can reach, and what the supervisor accepts from it.

* An editable install of a checkout under ``/tmp``, run from another folder (the case where the
  sandbox once hid the checker's package and every sample was judged ``fail``): right verdicts.
* A supervisor that cannot import its checker stops the run before any job, naming the module.
* The home directory's caches (EvalPlus's ground truth lives there) and data sets are not visible.
* System V IPC objects left by one job are invisible to the next.
* A returned value built to exhaust the supervisor (a 3 GB ``bytearray`` from a few bytes, a
  ``Fraction`` with a huge exponent) is refused quickly, as the program's failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from editable_install import editable_install

from rerankeval.errors import SandboxUnavailableError
from rerankeval.sandbox import CallJob, CheckerRef, LocalExecutor, TestsJob

ROOT = Path(__file__).resolve().parents[2]
CHECKER = """
def make(asset):
    expected = asset["expected"]
    return lambda i, out: out == expected[i]
"""
SCRIPT = """
import json, sys
from rerankeval.sandbox import CallJob, CheckerRef, LocalExecutor
assets = {"in": [[1], [2]], "chk": {"expected": [2, 3]}}
out = {}
with LocalExecutor(1, preload=("tmpcheck.checks",)) as ex:
    for name, body in (("right", "x + 1"), ("wrong", "x")):
        job = CallJob(code="def f(x):\\n    return " + body + "\\n", entry_point="f", inputs_key="in",
                      time_limits=(2.0, 2.0), overall_timeout_s=6.0,
                      checker=CheckerRef("tmpcheck.checks:make", "chk"))
        [(_, o)] = list(ex.run([job], assets))
        out[name] = [u.status for u in o.units]
    import rerankeval, tmpcheck
    out["from"] = [rerankeval.__file__, tmpcheck.__file__]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalExecutor]:
    with LocalExecutor(1, preload=("sandbox_checkers",)) as ex:
        if not ex.guarantees().get("read_only_filesystem"):
            pytest.skip("no mount view on this machine: the sandbox shows the whole file system")
        yield ex


def test_editable_install_under_tmp_run_from_another_folder_gets_right_verdicts(
    sandbox: LocalExecutor,
) -> None:
    base = Path(tempfile.mkdtemp(prefix="rerankeval-editable-", dir="/tmp"))
    elsewhere = Path(tempfile.mkdtemp(prefix="rerankeval-cwd-"))
    try:
        python = editable_install(
            base,
            {"rerankeval": ROOT / "harness" / "rerankeval"},
            {"tmpcheck": {"__init__.py": "", "checks.py": CHECKER}},
        )
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        res = subprocess.run(
            [str(python), "-c", SCRIPT], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
        )
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout.strip().splitlines()[-1])
        assert all(str(base) in f for f in out["from"]), out  # the checkout under /tmp, not this one
        assert out["right"] == ["pass", "pass"] and out["wrong"] == ["fail"], out
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(elsewhere, ignore_errors=True)


def test_a_checker_the_sandbox_cannot_import_stops_before_any_job() -> None:
    job = CallJob(
        code="def f(x):\n    return x\n",
        entry_point="f",
        inputs_key="in",
        time_limits=(1.0,),
        overall_timeout_s=3.0,
        checker=CheckerRef("no_such_checker_mod:make", "chk"),
    )
    with (
        LocalExecutor(1, preload=("no_such_checker_mod",)) as ex,
        pytest.raises(SandboxUnavailableError) as err,
    ):
        list(ex.run([job], {"in": [[1]], "chk": {}}))
    msg = str(err.value)
    assert "no_such_checker_mod" in msg and "Fix:" in msg, msg


def test_home_caches_and_data_sets_are_not_visible(sandbox: LocalExecutor) -> None:
    cache = Path.home() / ".cache" / "evalplus"
    cache.mkdir(parents=True, exist_ok=True)
    secret = Path(tempfile.mkstemp(prefix="gt-", suffix=".pkl", dir=cache)[1])
    data = ROOT.parent / "shared" / "data"
    try:
        secret.write_text("expected outputs")
        probe = (
            "import os\n"
            f"for p in ({str(secret)!r}, {str(cache)!r}, {str(Path.home())!r} + '/.bashrc', {str(data)!r}):\n"
            "    assert not os.path.exists(p), p\n"
        )
        [(_, out)] = list(sandbox.run([TestsJob(code="x = 1\n", tests=(probe,), time_limit_s=2.0)], {}))
        assert [u.status for u in out.units] == ["pass"], out.units
    finally:
        secret.unlink()


IPC = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
KEY = 0x5265AB01
"""


def test_a_job_does_not_see_ipc_objects_another_job_left(sandbox: LocalExecutor) -> None:
    if not sandbox.guarantees().get("ipc_isolated"):
        pytest.skip("no IPC namespace here")
    leave = TestsJob(code=IPC, tests=("assert libc.shmget(KEY, 4096, 0o1600) >= 0",), time_limit_s=2.0)
    look = TestsJob(code=IPC, tests=("assert libc.shmget(KEY, 0, 0) == -1, 'saw it'",), time_limit_s=2.0)
    results = [out for job in (leave, look) for _, out in sandbox.run([job], {})]
    assert [u.status for out in results for u in out.units] == ["pass", "pass"], results


BOMBS = {
    "bytearray_3gb": "class B:\n    def __reduce__(self):\n        return (bytearray, (3 * 10**9,))\n",
    "list_of_range": "class B:\n    def __reduce__(self):\n        return (list, (range(10**10),))\n",
    "huge_exponent": "import fractions\nclass B:\n"
    "    def __reduce__(self):\n        return (fractions.Fraction, ('1e999999999',))\n",
    "ndarray_shape": "import numpy\nclass B:\n"
    "    def __reduce__(self):\n        return (numpy.ndarray, ((10**6, 10**6),))\n",
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_values_built_to_exhaust_the_supervisor_are_refused_quickly(
    name: str, sandbox: LocalExecutor
) -> None:
    code = BOMBS[name] + "def f(x):\n    return B()\n"
    job = CallJob(
        code=code,
        entry_point="f",
        inputs_key="in",
        time_limits=(2.0,),
        overall_timeout_s=5.0,
        checker=CheckerRef("sandbox_checkers:expect", "chk"),
    )
    t = time.monotonic()
    [(_, out)] = list(sandbox.run([job], {"in": [[1]], "chk": {"expected": [2]}}))
    assert time.monotonic() - t < 3.0
    assert out.completed and [u.status for u in out.units] == ["fail"], out
    assert "not plain data" in out.units[0].detail, out.units


FORGER = """
import sys, os, pickle
def f(x):
    fr = sys._getframe()
    while fr is not None and fr.f_code.co_name != "run_tests_job":
        fr = fr.f_back
    send = fr.f_locals["send"]
    for i in range(4):
        send(("ok", i, 0.0, b""))
    send(("done",))
    os._exit(0)
"""


def test_comparisons_with_a_literal_are_decided_outside_the_program(sandbox: LocalExecutor) -> None:
    from rerankeval.unittests.runner import wrap_unittest

    unit = wrap_unittest(
        "", "class T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(f(1), 2)\n", "T"
    )
    tests = ("assert f(1) == 2", unit, "assert f(2) == 3 and True")
    programs = {
        "right": "def f(x):\n    return x + 1\n",
        "wrong": "def f(x):\n    return x\n",
        "forger": FORGER,
    }
    got = {}
    for name, code in programs.items():
        [(_, out)] = list(sandbox.run([TestsJob(code=code, tests=tests, time_limit_s=2.0)], {}))
        got[name] = [u.status for u in out.units]
    assert got["right"] == ["pass", "pass", "pass"], got
    assert got["wrong"] == ["fail", "fail", "fail"], got
    # the forger reports every test as passed from inside its process: the comparisons with a
    # literal never got its values; the third form is still decided in its process (documented)
    assert got["forger"][:2] == ["error", "error"], got


def test_library_noise_from_inside_the_sandbox_is_summarised_not_printed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    line = "<jemalloc>: arena 0 background thread creation failed (22)"
    (tmp_path / "noisy_lib.py").write_text(
        f"import sys\nfor _ in range(3):\n    sys.stderr.write({line!r} + '\\n')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("rerankeval.sandbox.local")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with LocalExecutor(1, preload=("noisy_lib",)) as ex:
            [(_, out)] = list(
                ex.run([TestsJob(code="x = 1\n", tests=("assert x == 1",), time_limit_s=2.0)], {})
            )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    assert [u.status for u in out.units] == ["pass"]
    assert "jemalloc" not in capfd.readouterr().err
    summary = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert len(summary) == 1 and "3 lines" in summary[0] and "jemalloc" in summary[0], summary


def test_the_folder_a_run_starts_from_is_not_visible(sandbox: LocalExecutor, tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "gold.jsonl").write_text("answers")
    gold = str(tmp_path / "runs" / "gold.jsonl")
    script = (
        "import json\nfrom rerankeval.sandbox import LocalExecutor, TestsJob\n"
        f"probe = 'import os\\nassert not os.path.exists(' + {gold!r}.__repr__() + ')'\n"
        "with LocalExecutor(1) as ex:\n"
        "    [(_, o)] = list(ex.run([TestsJob(code='x = 1', tests=(probe,), time_limit_s=2.0)], {}))\n"
        "print(json.dumps([u.status for u in o.units]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "harness")}
    res = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == ["pass"]
