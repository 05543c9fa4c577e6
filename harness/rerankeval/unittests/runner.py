"""The runner appended to a unittest class so that the sandbox can run it as one test.

The sandbox's :class:`~rerankeval.sandbox.TestsJob` executes the candidate program, then each
test source in a copy of the program's globals; a test passes when its source runs without
raising. A ``TestCase`` class alone raises nothing, so each class gets this runner: it runs
every method of the class (output to a private ``io.StringIO``), and raises ``AssertionError``
when any method failed or errored, or when none ran.

unittest catches every exception a test method raises, the sandbox's time-limit exception and
``MemoryError`` included. The runner's result class stops at those and re-raises them, so the
sandbox still records ``timeout`` / ``oom`` rather than a plain failure.
"""

from __future__ import annotations

_RUNNER = """

import io as _rerankeval_io
import unittest as _rerankeval_unittest


class _RerankevalResult(_rerankeval_unittest.TextTestResult):
    fatal = None

    def _fatal(self, err):
        if err is not None and (err[0] is MemoryError or err[0].__name__ == "TimeoutException"):
            self.fatal = err[1]
            self.stop()

    def addError(self, test, err):
        self._fatal(err)
        super().addError(test, err)

    def addSubTest(self, test, subtest, err):
        self._fatal(err)
        super().addSubTest(test, subtest, err)


_rerankeval_result = _rerankeval_unittest.TextTestRunner(
    stream=_rerankeval_io.StringIO(), verbosity=0, resultclass=_RerankevalResult
).run(_rerankeval_unittest.defaultTestLoader.loadTestsFromTestCase({cls}))
if _rerankeval_result.fatal is not None:
    raise _rerankeval_result.fatal
if _rerankeval_result.testsRun == 0 or not _rerankeval_result.wasSuccessful():
    raise AssertionError(
        "{cls}: %d failed, %d errors of %d"
        % (len(_rerankeval_result.failures), len(_rerankeval_result.errors), _rerankeval_result.testsRun)
    )
"""

#: First line of the runner block; marks where a generated class ends in a test source.
RUNNER_MARK = "import io as _rerankeval_io"


def runner_source(class_name: str) -> str:
    """The runner block for ``class_name`` (starts with a blank line)."""
    if not class_name.isidentifier():
        raise ValueError(f"not a class name: {class_name!r}")
    return _RUNNER.format(cls=class_name)


def wrap_unittest(prelude: str, class_source: str, class_name: str) -> str:
    """A stand-alone test source: ``prelude`` (imports, helpers), the class, then the runner.

    ``import unittest`` is added when the prelude does not already import it, since generated
    classes often refer to ``unittest.TestCase`` without importing it themselves.
    """
    head = prelude.strip("\n")
    if "import unittest" not in head and "from unittest" not in head:
        head = "import unittest\n" + head if head else "import unittest"
    return f"{head}\n\n\n{class_source.strip(chr(10))}\n{runner_source(class_name)}"


def strip_runner(source: str) -> str:
    """The test source without the runner block (the generated code alone)."""
    cut = source.find("\n" + RUNNER_MARK)
    return source if cut < 0 else source[:cut].rstrip("\n") + "\n"
