"""The ``rerankeval`` command: a click group; each command lives in its own module.

stdout carries results (tables, run paths); stderr carries logs and progress bars.
Exit codes: 0 success, 1 a runtime or input error (one line, no traceback), 2 a usage error.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import sys
from pathlib import Path

import click

from rerankeval import __version__
from rerankeval.errors import RerankEvalError
from rerankeval.runs import write_error

log = logging.getLogger("rerankeval")
#: Failed writes the CLI reports as one line (the run files' write layer already does; this catches the rest).
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}


def cache_dir() -> str:
    """The result cache's folder, as the cache resolves it (for messages)."""
    return os.environ.get("RERANKEVAL_CACHE_DIR") or os.path.expanduser("~/.cache/rerankeval")


def setup_logging() -> None:
    """Configures the ``rerankeval`` logger once (level from RERANKEVAL_LOG_LEVEL, default INFO)."""
    if getattr(setup_logging, "_done", False):
        return
    # stdout carries the commands' tables and JSON: vLLM logs to stdout unless told otherwise (read
    # when vLLM is imported, which the commands do later)
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    level = os.environ.get("RERANKEVAL_LOG_LEVEL", "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    setup_logging._done = True  # type: ignore[attr-defined]


class _Group(click.Group):
    """Prints :class:`RerankEvalError` as one line on stderr and exits 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except RerankEvalError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(1)
        except OSError as e:
            if e.errno not in _WRITE_ERRNOS:
                raise
            click.echo(f"error: {write_error(Path(e.filename or '.'), e)}", err=True)
            ctx.exit(1)
        except sqlite3.OperationalError as e:
            if "disk" not in str(e) and "readonly" not in str(e):
                raise
            click.echo(
                f"error: the result cache cannot be written ({e}). Free space under {cache_dir()} (or "
                "set RERANKEVAL_CACHE_DIR elsewhere, or pass --no-cache), then re-run with --resume",
                err=True,
            )
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted: finished results are saved; re-run with --resume to continue", err=True)
            ctx.exit(130)


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "RERANKEVAL"}
)
@click.version_option(__version__, prog_name="rerankeval")
def cli() -> None:
    """Score code models with and without reward-guided reranking."""
    setup_logging()


def _register() -> None:
    from rerankeval.cli.calibrate_cmd import calibrate
    from rerankeval.cli.demo_cmd import demo
    from rerankeval.cli.evaluate_cmd import evaluate
    from rerankeval.cli.leaderboard_cmd import leaderboard
    from rerankeval.cli.lmeval_cmd import lmeval
    from rerankeval.cli.models_cmd import models
    from rerankeval.cli.plugins_cmd import plugins
    from rerankeval.cli.report_cmd import report
    from rerankeval.cli.rerank_cmd import rerank
    from rerankeval.cli.samples_cmd import samples
    from rerankeval.cli.sandbox_cmd import sandbox
    from rerankeval.cli.swebench_cmd import swebench
    from rerankeval.cli.tests_cmd import tests
    from rerankeval.cli.view_cmd import view

    cli.add_command(calibrate)
    cli.add_command(demo)
    cli.add_command(evaluate)
    cli.add_command(leaderboard)
    cli.add_command(lmeval)
    cli.add_command(models)
    cli.add_command(plugins)
    cli.add_command(rerank)
    cli.add_command(report)
    cli.add_command(samples)
    cli.add_command(sandbox)
    cli.add_command(swebench)
    cli.add_command(tests)
    cli.add_command(view)


def main() -> None:
    _register()
    cli(prog_name="rerankeval")


if __name__ == "__main__":
    main()
