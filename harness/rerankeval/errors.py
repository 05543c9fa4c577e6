"""Errors a user can fix. The CLI prints them as one line, without a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RerankEvalError(Exception):
    """A problem the user can fix: the message says what failed, which input, and how to fix it."""


class InputError(RerankEvalError, ValueError):
    """A malformed or inconsistent input file or argument."""

    @classmethod
    def at(cls, path: object, line: int | None, what: str, fix: str) -> InputError:
        """Builds ``<path>:<line>: <what>. <fix>``."""
        where = f"{path}:{line}" if line is not None else f"{path}"
        return cls(f"{where}: {what}. {fix}")


class UnknownPluginError(RerankEvalError, LookupError):
    """A plugin name that no installed distribution registers."""

    @classmethod
    def make(cls, kind: str, name: str, installed: Iterable[str], group: str) -> UnknownPluginError:
        names = sorted(installed)
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return cls(
            f"unknown {kind} '{name}'.{hint} installed: {', '.join(names) or '(none)'} "
            f"(entry-point group '{group}')"
        )


class DuplicatePluginError(RerankEvalError, LookupError):
    """Two distributions register the same plugin name."""


class PluginContractError(RerankEvalError, TypeError):
    """A plugin loaded but does not satisfy its protocol."""


class MissingDependencyError(RerankEvalError, ImportError):
    """An optional dependency is not installed."""

    @classmethod
    def make(cls, feature: str, extra: str, missing: str) -> MissingDependencyError:
        return cls(
            f"{feature} needs optional dependencies: pip install 'rerankeval[{extra}]' (missing: {missing})"
        )


class ServerError(RerankEvalError, RuntimeError):
    """An OpenAI-compatible server (generation or scoring) could not be reached or refused a request."""


class SandboxUnavailableError(RerankEvalError, RuntimeError):
    """The isolated executor cannot start on this machine."""


class SandboxFaultError(RerankEvalError, RuntimeError):
    """The sandbox itself failed during a job (not the program): no verdict was recorded."""


class RunExistsError(RerankEvalError, FileExistsError):
    """A finished run would be overwritten."""


class RunLockedError(RerankEvalError, BlockingIOError):
    """Another process holds the run directory (one run at a time per ``--out``)."""


class RunWriteError(RerankEvalError, OSError):
    """A file of the run cannot be written (full disk, no permission, read-only file system)."""


class HarnessFaultError(RerankEvalError, RuntimeError):
    """A part of the harness (a model backend, a checker) failed: never a verdict on a candidate."""
