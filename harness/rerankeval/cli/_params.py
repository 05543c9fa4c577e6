"""Number options that are checked: finite and in range, with a message naming the option.

click's ``FloatRange`` lets ``nan`` through (every comparison with NaN is false) and ``inf``
through any open upper end, so ``--time-limit nan`` used to reach the sandbox and turn every cell
into an error. :class:`Finite` refuses both; every float option of the CLI uses it.
"""

from __future__ import annotations

import math
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
