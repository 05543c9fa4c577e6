"""LiveCodeBench's execution environment, reproduced inside rerankeval's sandbox child.

LiveCodeBench's grader (``lcb_runner/evaluation/testing_util.py``, shipped in PyPI's
``nvidia-livecodebench`` 26.3 as ``livecodebench.evaluation.testing_util``; MIT / Apache-2.0) runs a
candidate in its own process after a ``reliability_guard``. Here the sandbox child runs it the same
way: :func:`guard` is the child's prelude, :data:`IMPORT_STRING`, :func:`clean_if_name` and
:func:`make_function` build the program exactly as the grader does, and the entry points below
call it exactly as ``grade_call_based`` / ``grade_stdio`` do (``call_method``'s stdin patches and
``Capturing``, copied from the grader). What differs is where the verdict is decided: the child
only sends back the return value or the captured output; the comparison runs in the trusted
supervisor (:mod:`rerankeval_livecodebench.grader`).

:func:`clean_if_name` and :func:`make_function` only parse and unparse the program (no execution),
so the harness runs them outside the sandbox.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

#: The imports LiveCodeBench prepends to every program (verbatim, recursion limit included).
IMPORT_STRING = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\n"
    "from random import *\nfrom statistics import *\nfrom itertools import *\nfrom functools import *\n"
    "from operator import *\nfrom io import *\nfrom sys import *\nfrom json import *\n"
    "from builtins import *\nfrom typing import *\nimport string\nimport re\nimport datetime\n"
    "import collections\nimport heapq\nimport bisect\nimport copy\nimport math\nimport random\n"
    "import statistics\nimport itertools\nimport functools\nimport operator\nimport io\nimport sys\n"
    "import json\nsys.setrecursionlimit(50000)\n"
)


def clean_if_name(code: str) -> str:
    """The grader's ``clean_if_name``: a trailing ``if __name__ == '__main__':`` block is unwrapped."""
    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            code = ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001, S110 - the grader's bare except: the code stays as it is
        pass
    return code


def make_function(code: str) -> str:
    """The grader's ``make_function``: imports stay at the top, the rest becomes ``wrapped_function()``."""
    try:
        imports: list[ast.stmt] = []
        others: list[ast.stmt] = []
        for stmt in ast.parse(code).body:
            (imports if isinstance(stmt, (ast.Import, ast.ImportFrom)) else others).append(stmt)
        fn = ast.FunctionDef(
            name="wrapped_function",
            args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=others,
            decorator_list=[],
            lineno=-1,
        )
        return IMPORT_STRING + "\n" + ast.unparse(imports) + "\n" + ast.unparse(fn)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - the grader's: a program it cannot wrap runs as it is
        return code


#: Name of the entry point the programs built by the grader define.
ENTRY = "__rerankeval_lcb_entry__"


def stdio_program(code: str) -> str:
    """A stdin/stdout program as the grader compiles it, plus the entry point the child calls."""
    wrapped = make_function(clean_if_name(code))
    return (
        wrapped
        + f"\n\n{ENTRY} = __import__('rerankeval_livecodebench.runtime', fromlist=['stdio_entry'])"
        + ".stdio_entry(globals().get('wrapped_function'))\n"
    )


def call_program(code: str, fn_name: str) -> str:
    """A functional program as the grader compiles it (``Solution()`` made once, at load), plus the
    entry point."""
    solution = "class Solution" in code
    return (
        IMPORT_STRING
        + "\n\n"
        + code
        + f"\n\n{ENTRY} = __import__('rerankeval_livecodebench.runtime', fromlist=['call_entry'])"
        + f".call_entry(globals(), {fn_name!r}, {solution!r})\n"
    )


def normalized_output(text: str) -> list[str | tuple[str, ...]]:
    """Printed output in a form where ``==`` is ``grade_stdio``'s comparison: per stripped line, the
    line itself, or (when every token is a number) its tokens as normalized decimals, so that
    ``0.250000`` and ``0.25`` are equal and ``0.3`` and ``0.30000000000000004`` are not. Used by
    the generated stdin tests of the pass matrix (the verdict itself uses the grader's comparison)."""
    from decimal import Decimal, InvalidOperation

    out: list[str | tuple[str, ...]] = []
    for line in text.strip().split("\n"):
        line = line.strip()
        try:
            nums = [Decimal(x) for x in line.split()]
        except (InvalidOperation, ValueError):
            out.append(line)
            continue
        if any(d.is_nan() for d in nums):
            out.append(line)  # NaN equals nothing in the grader; kept as text here
            continue
        out.append(tuple(str(d.normalize()) if d != 0 else "0" for d in nums))
    return out


def call_entry(g: dict[str, Any], fn_name: str, solution: bool) -> Callable[..., Any]:
    """The grader's ``compile_code`` + ``get_function``: the method of one ``Solution()`` (LeetCode
    style) or the module's function; a missing one fails every call (the grader's runtime error)."""
    target: Any = g["Solution"]() if solution else None
    method = getattr(target, fn_name, None) if solution else g.get(fn_name)

    def entry(*args: Any) -> Any:
        if method is None:
            raise AttributeError(f"the program defines no {fn_name}")
        return method(*args)

    return entry


def stdio_entry(method: Callable[[], Any] | None) -> Callable[[str], str]:
    """One test of ``grade_stdio``: ``call_method`` under ``Capturing``; returns what was printed."""

    def entry(inputs: str) -> str:
        if method is None:
            raise AttributeError("the program defines no wrapped_function")
        with _Capturing() as captured:
            _call_method(method, inputs)
        return str(captured[0])

    return entry


class _Capturing(list):  # type: ignore[type-arg]
    """The grader's ``Capturing``: stdout into a StringIO whose ``close`` does nothing."""

    def __enter__(self) -> _Capturing:
        import sys
        from io import StringIO

        self._stdout = sys.stdout
        sys.stdout = self._stringio = StringIO()
        self._stringio.close = lambda *a: 1  # type: ignore[assignment, method-assign]
        return self

    def __exit__(self, *args: Any) -> None:
        import sys

        self.append(self._stringio.getvalue())
        del self._stringio
        sys.stdout = self._stdout


def _call_method(method: Callable[[], Any], inputs: str | list[str]) -> Any:
    """The grader's ``call_method``: stdin, ``open`` and the readline family read ``inputs``."""
    from io import StringIO
    from unittest.mock import mock_open, patch

    if isinstance(inputs, list):
        inputs = "\n".join(inputs)
    lines = iter(inputs.split("\n"))

    @patch("builtins.open", mock_open(read_data=inputs))
    @patch("sys.stdin", StringIO(inputs))
    @patch("sys.stdin.readline", lambda *args: next(lines))
    @patch("sys.stdin.readlines", lambda *args: inputs.split("\n"))
    @patch("sys.stdin.read", lambda *args: inputs)
    def inner(_method: Callable[[], Any]) -> Any:
        try:
            return _method()
        except SystemExit:
            pass

    return inner(method)


def guard() -> None:
    """The child's prelude: the grader's process state (``reliability_guard()`` with no memory
    limit, as ``run_test`` calls it, and the digit limit ``compute_code_generation_metrics`` sets).

    Not isolation (the sandbox provides that): a program that calls a disabled function fails here
    as it fails under LiveCodeBench.
    """
    import builtins
    import faulthandler
    import os
    import shutil
    import subprocess
    import sys

    sys.set_int_max_str_digits(50000)
    faulthandler.disable()
    builtins.quit = None  # type: ignore[assignment]
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in (
        "kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork", "forkpty",
        "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod", "chown",
        "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir",
    ):  # fmt: skip
        setattr(os, name, None)
    shutil.rmtree = None  # type: ignore[assignment]
    shutil.move = None  # type: ignore[assignment]
    shutil.chown = None  # type: ignore[assignment]
    subprocess.Popen = None  # type: ignore[assignment, misc]
    builtins.help = None  # type: ignore[assignment]
    for mod in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[mod] = None  # type: ignore[assignment]
