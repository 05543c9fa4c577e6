"""The Ray executor: the same sandboxed jobs, run by sandbox supervisors on Ray workers.

Each Ray task carries a batch of jobs to a worker, which hands them to a sandbox supervisor it
keeps for its lifetime (the same ``Slot`` and supervisor the local executor uses): untrusted code
never runs in the Ray worker's own process, and a job's outcome is exactly what the local
executor would report. Assets are stored once per run with ``ray.put``; a worker fetches only the
ones its supervisor does not hold yet. A task whose worker dies is retried (``max_retries``);
past that, or when a batch's sandbox fails twice, :meth:`RayExecutor.run` raises
:class:`~rerankeval.errors.SandboxFaultError`: the jobs get no verdict and the results already
yielded stand.

On one machine ``RayExecutor()`` starts a private Ray instance and stops it on :meth:`close`.
On a cluster, start Ray on every node (``ray start --head`` / ``ray start --address HEAD:6379``),
install rerankeval on each, and pass ``address="auto"`` (``--executor ray --ray-address auto``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from rerankeval.core.types import ProgramOutcome
from rerankeval.errors import MissingDependencyError, RerankEvalError, SandboxFaultError
from rerankeval.sandbox.executor import Job, job_assets
from rerankeval.sandbox.local import Slot

log = logging.getLogger(__name__)

_WORKER_SLOTS: dict[tuple[str, ...], Slot] = {}  # per Ray worker process: one supervisor per preload set


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError.make("the Ray executor", "ray", "ray") from None
    return ray


def _run_batch(
    batch: list[tuple[int, Job]], asset_refs: dict[str, Any], preload: tuple[str, ...]
) -> list[tuple[int, ProgramOutcome]]:
    """Runs in a Ray worker: the batch goes through this worker's sandbox supervisor."""
    ray = _import_ray()
    slot = _WORKER_SLOTS.get(preload)
    if slot is None:
        slot = _WORKER_SLOTS[preload] = Slot(preload)
    assets: dict[str, Any] = {}
    out = []
    for i, job in batch:
        if slot.proc is None or slot.proc.poll() is not None:
            slot.start()  # (re)started supervisors hold no assets yet
        missing = [k for k in job_assets(job) if k not in slot.has and k not in assets]
        if missing:
            assets.update(zip(missing, ray.get([asset_refs[k] for k in missing]), strict=True))
        out.append((i, slot.run(i, job, assets)))
    return out


def _get(ray: Any, ref: Any) -> list[tuple[int, ProgramOutcome]]:
    """A batch's results; a failure of the executor (never a verdict) as a one-line error."""
    try:
        return ray.get(ref)  # type: ignore[no-any-return]
    except ray.exceptions.RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, RerankEvalError):
            raise cause from None
        raise SandboxFaultError(
            f"a Ray task running sandbox jobs failed ({type(cause or e).__name__}: {cause or e}). "
            "No verdict was recorded for its jobs; finished results are kept: run the same command again"
        ) from None
    except ray.exceptions.RayError as e:
        raise SandboxFaultError(
            f"the Ray executor lost a worker and gave up on its jobs ({type(e).__name__}). No verdict was "
            "recorded for them; finished results are kept. Check the Ray cluster (ray status), then run the "
            "same command again"
        ) from None


class RayExecutor:
    """Runs sandbox jobs on Ray workers; the same ``run(jobs, assets, progress)`` as LocalExecutor.

    Args:
        address: None starts a private local Ray instance; ``"auto"`` or ``"HOST:PORT"`` joins a cluster.
        num_cpus: CPUs of the private instance (default: all); ignored when joining a cluster.
        preload: Modules each supervisor imports once (e.g. a checker's module).
        batch_size: Jobs per Ray task (default: enough batches for about four per CPU, at most 32 jobs).
        max_retries: Times a task is retried when its worker process dies.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        preload: Sequence[str] = (),
        batch_size: int | None = None,
        max_retries: int = 3,
    ) -> None:
        ray = _import_ray()
        self._owns = False
        if not ray.is_initialized():
            opts: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address:
                ray.init(address=address, **opts)
            else:
                ray.init(num_cpus=num_cpus, **opts)
            self._owns = True
        self.preload = tuple(preload)
        self.batch_size = batch_size
        self.parallel = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._task = ray.remote(num_cpus=1, max_retries=max_retries)(_run_batch)

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops the Ray instance this executor started (never one it joined)."""
        if self._owns:
            _import_ray().shutdown()
            self._owns = False

    def _batches(self, n: int) -> list[range]:
        size = self.batch_size or max(1, min(32, math.ceil(n / (4 * self.parallel))))
        return [range(s, min(n, s + size)) for s in range(0, n, size)]

    def run(
        self, jobs: Sequence[Job], assets: Mapping[str, Any], progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, ProgramOutcome]]:
        """Runs ``jobs`` (submitted in the given order) and yields results as batches complete."""
        ray = _import_ray()
        keys = sorted({k for job in jobs for k in job_assets(job)})
        refs = {k: ray.put(assets[k]) for k in keys}
        pending = {}
        for r in self._batches(len(jobs)):
            batch = [(i, jobs[i]) for i in r]
            batch_refs = {k: refs[k] for _, job in batch for k in job_assets(job)}
            pending[self._task.remote(batch, batch_refs, self.preload)] = len(batch)
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    pending.pop(ref)
                    results = _get(ray, ref)
                    if progress is not None:
                        progress(len(results))
                    yield from results
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
