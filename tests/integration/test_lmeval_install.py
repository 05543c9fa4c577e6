"""Task installation (the YAML overlay) and option resolution of the *_rm tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rerankeval.cli.lmeval_cmd import lmeval
from rerankeval.errors import InputError
from rerankeval_lmeval.install import MANIFEST, install_tasks, source_dir, task_files, uninstall_tasks
from rerankeval_lmeval.options import TaskOptions


def test_install_copies_the_yamls_once_and_lm_eval_finds_the_tasks_there(tmp_path: Path) -> None:
    from lm_eval.tasks import TaskManager

    target = tmp_path / "lm_eval" / "tasks" / "rerankeval"
    first = CliRunner().invoke(lmeval, ["install-tasks", "--target", str(target)])
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in task_files(target)) == sorted(p.name for p in task_files(source_dir()))
    again = install_tasks(target)
    assert again.written == [] and len(again.unchanged) == len(task_files(source_dir()))
    tm = TaskManager(include_path=str(target), include_defaults=False)
    assert {"humaneval_plus_rm", "mbpp_plus_rm"} <= set(tm.all_tasks)


def test_install_rewrites_changed_files_and_removes_stale_ones(tmp_path: Path) -> None:
    target = tmp_path / "rerankeval"
    install_tasks(target)
    (target / "humaneval_plus_rm.yaml").write_text("task: edited\n")
    (target / MANIFEST).write_text((target / MANIFEST).read_text() + "old_task.yaml\n")
    (target / "old_task.yaml").write_text("task: old\n")
    report = install_tasks(target)
    assert report.written == ["humaneval_plus_rm.yaml"] and report.removed == ["old_task.yaml"]
    assert not (target / "old_task.yaml").exists()


def test_uninstall_removes_only_what_install_copied(tmp_path: Path) -> None:
    target = tmp_path / "rerankeval"
    install_tasks(target)
    (target / "users_own.yaml").write_text("task: mine\n")
    out = CliRunner().invoke(lmeval, ["install-tasks", "--uninstall", "--target", str(target)])
    assert out.exit_code == 0, out.output
    assert [p.name for p in target.iterdir()] == ["users_own.yaml"]


def test_uninstall_leaves_a_wheel_overlay_alone(tmp_path: Path) -> None:
    target = tmp_path / "rerankeval"
    target.mkdir()
    (target / "humaneval_plus_rm.yaml").write_text("task: humaneval_plus_rm\n")  # no manifest: pip owns it
    assert uninstall_tasks(target).removed == []
    assert (target / "humaneval_plus_rm.yaml").exists()


def test_options_prefer_metadata_then_environment_then_the_yaml() -> None:
    env = {"RERANKEVAL_REPEATS": "8", "RERANKEVAL_N_TESTS": "5", "RERANKEVAL_WORKERS": "3"}
    opts = TaskOptions.resolve("humaneval", {"repeats": 4}, {"repeats": 100}, env)
    assert (opts.repeats, opts.n_tests, opts.workers) == (4, 5, 3)
    assert TaskOptions.resolve("humaneval", {}, {"repeats": 100}, {}).repeats == 100


def test_seed_per_repeat_is_on_for_api_backends_only() -> None:
    def opts(meta: dict[str, object]) -> TaskOptions:
        return TaskOptions.resolve("mbpp", meta, {"repeats": 4}, {})

    assert opts({"base_url": "http://h/v1/completions"}).per_repeat_seeds
    assert not opts({"pretrained": "m"}).per_repeat_seeds
    assert not opts({"base_url": "http://h", "seed_per_repeat": "false"}).per_repeat_seeds
    assert opts({"pretrained": "m", "seed_per_repeat": True}).per_repeat_seeds


@pytest.mark.parametrize(
    "meta, message",
    [
        ({"repeats": "many"}, "not an integer"),
        ({"repeats": 0}, "at least 1"),
        ({"test_style": "pytest"}, "unittest or assert"),
        ({"tests": "/nonexistent/tests.jsonl"}, "tests artifact not found"),
    ],
)
def test_bad_options_name_the_option_and_the_fix(meta: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        TaskOptions.resolve("humaneval", meta, {"repeats": 4}, {})


@pytest.mark.slow
def test_plain_lm_eval_finds_the_installed_tasks_from_any_directory(tmp_path: Path) -> None:
    """``lm_eval --tasks humaneval_plus_rm`` with no --include_path, from a folder outside the checkout
    (needs ``rerankeval lmeval install-tasks`` or a wheel install, as the set-up script does)."""
    import json
    import os
    import shutil
    import subprocess

    from lmeval_tasks import write_dataset, write_tests

    from rerankeval_lmeval.install import target_dir

    installed = target_dir()
    if not installed.is_dir() or not task_files(installed):
        pytest.skip(f"the task YAMLs are not installed in {installed}: run `rerankeval lmeval install-tasks`")
    stale = [
        p.name
        for p in task_files(source_dir())
        if not (installed / p.name).is_file() or (installed / p.name).read_bytes() != p.read_bytes()
    ]
    assert not stale, f"installed YAMLs differ from the checkout ({stale}): rerun install-tasks"
    meta = {
        "humaneval_path": str(write_dataset(tmp_path / "mini.jsonl.gz")),
        "tests": str(write_tests(tmp_path / "tests.jsonl")),
        "repeats": 2,
        "workers": 2,
    }
    cmd = [
        shutil.which("lm_eval") or "lm_eval",
        "--model",
        "dummy",
        "--tasks",
        "humaneval_plus_rm",
        "--confirm_run_unsafe_code",
        "--metadata",
        json.dumps(meta),
        "--output_path",
        str(tmp_path / "out"),
    ]
    env = {**os.environ, "RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(next((tmp_path / "out").rglob("results_*.json")).read_text())["results"]
    assert results["humaneval_plus_rm"]["pass@1,plain"] == 0.0  # the dummy model answers "lol"
    assert "pass@1,rerank-coderm" in results["humaneval_plus_rm"]
