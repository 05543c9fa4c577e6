"""Shared options: numbers that are checked (finite and in range, with a message naming the
option), and the benchmark options every command that reads a benchmark takes.

click's ``FloatRange`` lets ``nan`` through (every comparison with NaN is false) and ``inf``
through any open upper end, so ``--time-limit nan`` used to reach the sandbox and turn every cell
into an error. :class:`Finite` refuses both; every float option of the CLI uses it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click


class Finite(click.FloatRange):
    """A float option: finite (no ``nan``, ``inf``), within ``[min, max]`` when given."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


def finite(value: Any, name: str) -> float:
    """Checks a number read outside click (plugin and allocation arguments).

    Raises:
        click.BadParameter: ``value`` is a non-finite float (``NaN``, ``Infinity``).
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise click.BadParameter(f"{value!r} is not a finite number", param_hint=name)
    return value


#: LiveCodeBench's default release (what ``--release`` gives when not set).
DEFAULT_RELEASE = "release_v6"


def dataset_options(help_text: str) -> Any:
    """``--dataset`` (HumanEval+, MBPP+, LiveCodeBench) and LiveCodeBench's ``--release``,
    ``--start-date`` and ``--end-date``: one decorator for every command that reads a benchmark."""

    def decorate(fn: Any) -> Any:
        for option in reversed(
            (
                click.option(
                    "--dataset",
                    type=click.Choice(["humaneval", "mbpp", "livecodebench"]),
                    required=True,
                    help=help_text,
                ),
                click.option(
                    "--release",
                    default=DEFAULT_RELEASE,
                    show_default=True,
                    help="LiveCodeBench: the hub dataset's release tag (when no --dataset-path is given).",
                ),
                click.option(
                    "--start-date",
                    default=None,
                    metavar="YYYY-MM-DD",
                    help="LiveCodeBench: first contest day.",
                ),
                click.option(
                    "--end-date", default=None, metavar="YYYY-MM-DD", help="LiveCodeBench: last contest day."
                ),
            )
        ):
            fn = option(fn)
        return fn

    return decorate


def check_window(dataset: str, release: str, start_date: str | None, end_date: str | None) -> None:
    """Refuses LiveCodeBench's options with another dataset (they would be silently ignored)."""
    if dataset != "livecodebench" and (start_date or end_date or release != DEFAULT_RELEASE):
        raise click.UsageError("--release, --start-date and --end-date apply to --dataset livecodebench")


def path_labels(
    pairs: tuple[str, ...], paths: tuple[Path, ...], flag: str, name: str = "RUN_DIR", what: str = "runs"
) -> dict[Path, str]:
    """``NAME=LABEL`` options -> {path as given: label}; the path must be one of ``paths``.

    Raises:
        InputError: A pair without ``=`` or label, or naming a path that is not among ``paths``.
    """
    from rerankeval.errors import InputError

    out: dict[Path, str] = {}
    known = {p.resolve(): p for p in paths}
    for pair in pairs:
        path, sep, label = pair.partition("=")
        if not sep or not label or Path(path).resolve() not in known:
            raise InputError(f"{flag} takes {name}=LABEL with {name} one of the {what} given; got {pair!r}")
        out[known[Path(path).resolve()]] = label
    return out
