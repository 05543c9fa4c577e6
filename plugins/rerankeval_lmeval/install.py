"""Puts the ``*_rm`` task YAMLs where a plain ``lm_eval --tasks humaneval_plus_rm`` finds them.

lm-eval 0.4.13 discovers tasks only by scanning ``lm_eval/tasks/**.yaml`` (plus one
``--include_path``); it has no entry points for tasks. A wheel of rerankeval carries the YAMLs
as the overlay package ``lm_eval.tasks.rerankeval`` (``pip uninstall`` removes them). An editable
install (``pip install -e .``) cannot place files inside another distribution, so
``rerankeval lmeval install-tasks`` copies them from the checkout's ``tasks/lmeval`` into the
installed lm-eval's ``tasks/rerankeval`` folder, and ``--uninstall`` removes exactly what it
copied (listed in a manifest file). Both are idempotent.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, field
from pathlib import Path

from rerankeval.errors import RerankEvalError

log = logging.getLogger(__name__)

__all__ = [
    "OVERLAY",
    "InstallReport",
    "install_tasks",
    "source_dir",
    "target_dir",
    "task_files",
    "uninstall_tasks",
]

#: Folder under ``lm_eval/tasks`` that holds our YAMLs.
OVERLAY = "rerankeval"
MANIFEST = ".rerankeval-installed"


@dataclass
class InstallReport:
    """What an install or uninstall did.

    Attributes:
        target: The ``lm_eval/tasks/rerankeval`` folder.
        written: Files copied because they were missing or different.
        unchanged: Files already identical.
        removed: Files deleted (uninstall, or stale files of an earlier install).
        in_place: The YAMLs already live there (a wheel install): nothing to do.
    """

    target: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    in_place: bool = False


def task_files(folder: Path) -> list[Path]:
    """The task YAMLs and ``*_yaml`` templates of ``folder``, sorted."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and (p.suffix == ".yaml" or p.name.endswith("_yaml"))
    )


def source_dir() -> Path:
    """Where our YAMLs are: the checkout's ``tasks/lmeval`` (editable install), else the wheel's overlay.

    Raises:
        RerankEvalError: Neither exists (a broken install).
    """
    checkout = Path(__file__).resolve().parents[2] / "tasks" / "lmeval"
    if checkout.is_dir() and task_files(checkout):
        return checkout
    overlay = target_dir()
    if overlay.is_dir() and task_files(overlay):
        return overlay
    raise RerankEvalError(
        f"cannot find the rerankeval task YAMLs (looked in {checkout} and {overlay}). "
        "Reinstall rerankeval: pip install rerankeval (or pip install -e . in a checkout)"
    )


def target_dir() -> Path:
    """``<installed lm_eval>/tasks/rerankeval``.

    Raises:
        RerankEvalError: lm-eval is not installed.
    """
    spec = importlib.util.find_spec("lm_eval.tasks")
    if spec is None or not spec.submodule_search_locations:
        raise RerankEvalError("lm-eval is not installed: pip install 'lm-eval>=0.4.13,<0.4.14'")
    return Path(next(iter(spec.submodule_search_locations))) / OVERLAY


def install_tasks(target: Path | None = None) -> InstallReport:
    """Copies the task YAMLs into lm-eval's task folder (only files that differ).

    Args:
        target: Destination folder (default: :func:`target_dir`).

    Raises:
        RerankEvalError: The destination is not writable.
    """
    target = Path(target) if target is not None else target_dir()
    src = source_dir()
    report = InstallReport(target)
    if src.resolve() == target.resolve():
        report.in_place = True
        return report
    try:
        target.mkdir(parents=True, exist_ok=True)
        previous = _manifest(target)
        names = []
        for f in task_files(src):
            names.append(f.name)
            dest = target / f.name
            data = f.read_bytes()
            if dest.is_file() and dest.read_bytes() == data:
                report.unchanged.append(f.name)
                continue
            tmp = dest.with_name(dest.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(dest)
            report.written.append(f.name)
        for stale in sorted(set(previous) - set(names)):
            (target / stale).unlink(missing_ok=True)
            report.removed.append(stale)
        (target / MANIFEST).write_text("".join(n + "\n" for n in names), encoding="utf-8")
    except PermissionError as e:
        raise RerankEvalError(
            f"cannot write the task YAMLs to {target} ({e.strerror}). Run with permission "
            "to write to that environment, or use lm_eval --include_path "
            f"{src} instead"
        ) from None
    return report


def uninstall_tasks(target: Path | None = None) -> InstallReport:
    """Removes what :func:`install_tasks` copied (and the folder when it is then empty).

    A folder without our manifest (a wheel's overlay, which ``pip uninstall`` owns) is left alone.
    """
    target = Path(target) if target is not None else target_dir()
    report = InstallReport(target)
    names = _manifest(target)
    for name in names:
        p = target / name
        if p.exists():
            p.unlink()
            report.removed.append(name)
    (target / MANIFEST).unlink(missing_ok=True)
    if target.is_dir() and names:
        for cache in target.glob("__pycache__"):
            for f in cache.iterdir():
                f.unlink()
            cache.rmdir()
        if not any(target.iterdir()):
            target.rmdir()
    return report


def _manifest(target: Path) -> list[str]:
    m = target / MANIFEST
    if not m.is_file():
        return []
    return [line.strip() for line in m.read_text(encoding="utf-8").splitlines() if line.strip()]
