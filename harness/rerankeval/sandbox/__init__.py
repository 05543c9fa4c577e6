"""Isolated execution of untrusted programs (candidates and generated tests).

How it works. Untrusted code never runs in the harness's process, nor in a Ray worker's. Each
worker slot has a *supervisor* (a fresh interpreter) that keeps the job's assets and checkers and
decides every verdict; it forks, once, a *zygote* that forks one child per job. The child runs the
program in a private working directory, with stdin closed and stdout/stderr captured to capped
files, and streams plain values back through a pipe. The supervisor enforces per-unit and overall
wall-clock limits and kills whatever the job started.

Guarantees that hold everywhere (any OS user, any Linux kernel):

* A program is judged only on what it returns: verdicts are decided by the supervisor from plain
  values (a restricted unpickler refuses anything else, e.g. an object whose ``__eq__`` always
  returns True). Exiting early (``exit(0)``, ``os._exit(0)``), dying, hanging, printing a success
  marker or returning nothing is never a pass.
* A program cannot forge results: each frame it sends is sealed with a per-job key, so bytes
  written to the result pipe by the program are discarded; a copy of the child forked by the
  program cannot report; the runner's own functions (``exec``, ``compile``, the timers, the pickler,
  ``os.write``) are bound before the program runs, so monkeypatching them, the builtins or the
  harness's modules changes nothing; every test runs with pristine builtins and no trace hook.
* A program cannot read the answers it is judged against in memory: the zygote is forked before any
  asset arrives and is only ever given inputs, never expected outputs or checkers (on disk: see the
  mount view below).
* A generated test's comparison with a literal (``assert f(x) == y``, ``self.assertEqual(f(x), y)``
  at the top level of a test or of a ``test*`` method) is decided by the supervisor: the child runs
  the test without the literal and sends the computed value (:mod:`rerankeval.sandbox._outside`).
* Untrusted output is bounded: the unpickler's constructors refuse arguments that expand (a
  ``range`` given to ``list``, a 3 GB ``bytearray`` size, a ``Fraction`` with a huge exponent, an
  ``ndarray`` shape), and each value is decoded and checked under a time limit.
* A fault of the sandbox is never a verdict: a supervisor or zygote that dies, a checker that
  cannot be built or a frame that cannot be decoded makes the job run again in a fresh supervisor,
  and a second failure stops the run with :class:`~rerankeval.errors.SandboxFaultError` (the cause
  and the fix); a child killed by a signal the supervisor did not send (the kernel's OOM killer, a
  stray ``kill``) runs once more before its death counts as the program's. Each supervisor imports
  its checkers before any job and refuses to start, naming the module, when it cannot.
* A generated test cannot be passed with a rigged object: tests are compiled with a guard on every
  value whose comparison or truth they decide (see :mod:`rerankeval.sandbox._testguard`); a test
  that catches its own assertion failures is rejected. The price: a test that compares values of
  a class the program itself defines with its own ``__eq__`` (a dataclass, say) ends as an error.
* rlimits: address space, file size, stack, no core dumps; for non-root users, process count.

Guarantees that hold where the kernel and privileges allow (root, or an unprivileged user
namespace; Linux 5.12+ for the read-only view). ``rerankeval sandbox check`` (or
:func:`guarantees`) prints which hold on a machine and probes them with hostile programs:

* a view of the file system that holds only what the interpreter needs (mount namespace and
  ``chroot``): the system folders (``/usr``, ``/etc``, ``/lib*``, ``/bin``, ``/sbin``, ``/sys``),
  ``/proc`` and this interpreter's code paths (its prefix, ``sys.path``, the packages of the
  checkers and of rerankeval however they are installed: editable, wheel, a venv or checkout under
  ``/tmp``), all read-only; no home directory, caches (EvalPlus's ground truth), data sets or run
  directories. ``/tmp`` and ``/dev/shm`` are private tmpfs, wiped after each job; ``/dev`` holds
  only null/zero/full/random/urandom;
* System V IPC (IPC namespace; a job's objects are removed when it ends): no job sees the host's or
  another job's shared memory, queues or semaphores (POSIX message queues are not removed);
* no network (network namespace: only a downed loopback); without one, seccomp allows only Unix
  sockets and no ``connect``;
* process isolation (PID namespace with its own ``/proc``): a job sees and can signal only its own
  processes (``kill(-1, SIGKILL)`` is harmless), and everything it started, including processes
  that left its session, is killed when it ends; without one, seccomp confines signals to the
  job's own process group;
* no privileges: a child running as root drops every capability (and cannot regain any);
* seccomp (x86_64): ``ptrace``, mounts, module loading, reboot, keyrings, ``bpf`` and the like fail;
* cgroup (v1, or v2 where writable): a job's total memory and process count are capped, so a fork
  bomb or many processes that each allocate a little cannot exhaust the machine; without one, a
  PID namespace's ``pid_max`` (301) still bounds a fork bomb.

Not covered: tests run in the program's own process, so a program written to attack this harness
specifically can forge a *test* result in its own job: plain Python reaches the runner's objects
through the frame stack or ``sys.modules`` (no ``ctypes`` needed), and then reports any test as
passed, except a comparison with a literal, where it can only report a value it guessed (it never
sees the literal); compiling its classes under a file name inside the Python installation passes
the comparison guard. It still cannot pass a checker-judged call unless it computes the right
outputs (a reference solution inside the interpreter's code paths counts as computing them), leave
its sandbox or affect other jobs. Side channels (timing, CPU contention) are not isolated. Network and
file-system isolation is set up per supervisor, not per job: jobs of one slot run one after
another and share the private ``/tmp`` only within a job. On other systems than Linux only the
first group of guarantees holds.

Library output. What the supervisor, its zygote and the libraries they load print (for example
``<jemalloc>: arena 0 background thread creation failed (22)``) goes to a file per worker slot,
not to the terminal; the executor logs one summary line when it closes (``RERANKEVAL_LOG_LEVEL=DEBUG``
lists every line), and a sandbox error quotes its tail.

Fault injection (``tests/integration/test_sandbox_faults.py``, run by CI): SIGKILL of a
supervisor, of its zygote and of a job's child in the middle of call and test jobs; a supervisor
killed on every try; a cache entry with bad JSON, a truncated row or unknown cells; a truncated
cache database; two runs sharing one cache at once. 13 faults injected, 13 survived (the right
results, or a stop with an error naming the cause and the fix), 0 results lost, 0 wrong verdicts
recorded.

Executors implement :class:`~rerankeval.sandbox.executor.Executor`. :class:`LocalExecutor` runs
supervisors on this machine; :class:`~rerankeval.sandbox.ray_executor.RayExecutor` (``pip install
'rerankeval[ray]'``) runs the same supervisors on Ray workers, locally or on a cluster
(``--executor ray --ray-address auto``). :func:`make_executor`
builds either.
"""

from __future__ import annotations

from collections.abc import Sequence

from rerankeval.errors import InputError
from rerankeval.sandbox.executor import Executor, executor_or_local, run_confirming
from rerankeval.sandbox.jobs import CallJob, CheckerRef, Limits, TestsJob
from rerankeval.sandbox.local import LocalExecutor, run_all

EXECUTORS = ("local", "ray")


def make_executor(
    kind: str = "local",
    parallel: int | None = None,
    ray_address: str | None = None,
    preload: Sequence[str] = (),
) -> Executor:
    """Builds an :class:`Executor`; close it (or use ``with``) when done.

    Args:
        kind: ``local`` (supervisors on this machine) or ``ray`` (supervisors on Ray workers).
        parallel: Worker slots for ``local``; CPUs of a private Ray instance for ``ray``.
        ray_address: None starts a private Ray instance; ``auto`` or ``HOST:PORT`` joins a cluster.
        preload: Modules every supervisor imports once (e.g. a checker's module).
    """
    if kind == "local":
        if ray_address:
            raise InputError(
                f"--ray-address {ray_address} is only used with --executor ray. "
                "Pass --executor ray, or drop --ray-address"
            )
        return LocalExecutor(parallel, preload=preload)
    if kind == "ray":
        from rerankeval.sandbox.ray_executor import RayExecutor

        return RayExecutor(address=ray_address, num_cpus=parallel, preload=preload)
    raise InputError(f"unknown executor '{kind}'. Use one of: {', '.join(EXECUTORS)}")


def guarantees() -> dict[str, bool | str]:
    """Which isolation guarantees hold on this machine (starts one supervisor; about a second)."""
    from rerankeval.sandbox.guarantees import guarantees as _guarantees

    return _guarantees()


__all__ = [
    "EXECUTORS",
    "CallJob",
    "CheckerRef",
    "Executor",
    "Limits",
    "LocalExecutor",
    "TestsJob",
    "executor_or_local",
    "run_confirming",
    "guarantees",
    "make_executor",
    "run_all",
]
