"""Unit tests generated on the fly for a ``*_rm`` run, written once and reused by later runs.

When a run names a ``test_generator`` instead of a tests artifact, the tests of the problems it
needs are generated with :func:`rerankeval.unittests.generate.generate_tests` (the engine's
generation, the same as ``rerankeval tests generate``) into a cached ``tests.jsonl`` whose name
depends on the dataset, the generator spec and the generation settings. Generation resumes:
problems already in the file are never generated again, so a second run (another policy model,
more documents) pays only for what is new. The problems passed are a prefix of the dataset (in
the order of :attr:`~rerankeval_lmeval.benchmarks.TaskBenchmark.test_problems`), so a
problem's seed (``seed + position * n``) is the same whichever run generates it. A lock file
keeps two processes from writing the same artifact at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rerankeval_lmeval.benchmarks import TaskBenchmark
    from rerankeval_lmeval.options import TaskOptions

log = logging.getLogger(__name__)

__all__ = ["ensure_generated"]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _done_tasks(path: Path) -> set[str]:
    from rerankeval.runs import read_jsonl
    from rerankeval.unittests.artifact import sidecar_path

    return {str(r.get("task_id")) for r in read_jsonl(sidecar_path(path), missing_ok=True)}


def ensure_generated(
    path: Path, options: TaskOptions, bench: TaskBenchmark, task_ids: Sequence[str] | None = None
) -> None:
    """Makes ``path`` hold generated tests for ``task_ids`` (default: every problem of the benchmark).

    Raises:
        InputError: A bad generator spec or a path that holds a run with other settings.
        MissingDependencyError: The generator's backend is not installed.
    """
    from rerankeval.generation import load_generator
    from rerankeval.unittests.generate import GenerationConfig, generate_tests

    assert options.test_generator is not None
    order = [p.problem_id for p in bench.test_problems]
    wanted = set(order if task_ids is None else task_ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        todo = wanted - _done_tasks(path)
        if not todo:
            log.info("generated tests for %d problems reused from %s", len(wanted), path)
            return
        last = max(order.index(t) for t in todo)
        problems = list(bench.test_problems[: last + 1])
        config = GenerationConfig(style=options.test_style, n=options.n_tests)  # type: ignore[arg-type]
        log.info(
            "generating unit tests with %s for %d problems (%d generations each) into %s",
            options.test_generator,
            len(todo),
            options.n_tests,
            path,
        )
        summary = generate_tests(
            problems,
            load_generator(options.test_generator),
            path,
            config,
            resume=path.exists() or _sidecar_exists(path),
        )
        log.info(
            "generated %d tests for %d problems in %.1f s (%d without any test)",
            summary.tests,
            summary.problems,
            summary.seconds,
            len(summary.problems_without_tests),
        )


def _sidecar_exists(path: Path) -> bool:
    from rerankeval.unittests.artifact import sidecar_path

    return sidecar_path(path).exists()
