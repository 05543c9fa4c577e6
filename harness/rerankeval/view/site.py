"""Writes the static view site: HTML + JS + one small data file per problem, and serves it.

Layout of the site folder::

    index.html  app.js  style.css       # shipped with the package (rerankeval/view/assets/)
    rerankeval-view.json                # marks the folder as a view site (safe to rewrite)
    data/runs.js                        # the runs shown
    data/r0/index.js                    # run 0's overview (table, chart, problem list)
    data/r0/p0000.js ...                # one file per problem, loaded when the problem is opened
    data/r0/fig_*.png                   # figures found in the run's report/ folder
    data/report/*.png                   # figures of a `rerankeval report` folder (--report)

Every data file is a script that calls ``RV.register(kind, key, data)``: browsers refuse
``fetch()`` of local files, but load ``<script>`` tags from them, so the site opens from the file
system and can be published as it is. The data is JSON in which ``<``, ``>``, ``&``, U+2028 and
U+2029 are written as ``\\uXXXX`` escapes, so no text of a run (a candidate holding
``</script>``) can end the script or be read as markup; the page renders every text with
``textContent``. Nothing from the run is executed.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerankeval import __version__
from rerankeval.errors import InputError
from rerankeval.view.data import ProblemInfo, RunTables, overview, problem_page

if TYPE_CHECKING:
    from rerankeval.report.frames import RunFrames

log = logging.getLogger(__name__)

MARKER = "rerankeval-view.json"
ASSETS = ("index.html", "app.js", "style.css")
_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def js_data(kind: str, key: str | None, data: Any) -> str:
    """A data file's text: ``RV.register(kind, key, data);`` with markup characters escaped.

    Raises:
        ValueError: ``data`` holds NaN or infinity (clean it with :func:`rerankeval.view.data.clean`).
    """
    # ensure_ascii: every non-ASCII character (U+2028/9 and lone surrogates from a run's JSON among
    # them) becomes a \uXXXX escape, so the file is plain ASCII whatever a candidate holds
    text = json.dumps([kind, key, data], ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return f"RV.register.apply(null,{text.translate(_ESCAPES)});\n"


@dataclass(frozen=True)
class SiteResult:
    """What :func:`build_site` wrote.

    Attributes:
        out: The site folder (open ``out / "index.html"``).
        problems: Problem pages written, over all runs.
        bytes: Size of the data files written.
    """

    out: Path
    problems: int
    bytes: int

    @property
    def index(self) -> Path:
        return self.out / "index.html"


def prepare_out(out: Path) -> Path:
    """Makes ``out`` ready for a site: empty, missing, or a previous view site (its data is replaced).

    Raises:
        InputError: ``out`` is a file, or a non-empty folder that is not a view site.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError.at(out, None, "exists and is not a folder", "Choose another --out")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise InputError.at(
                out, None, "is not empty and holds no rerankeval view site", "Choose an empty or a new --out"
            )
        shutil.rmtree(out / "data", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _write(path: Path, text: str) -> int:
    data = text.encode("utf-8")
    path.write_bytes(data)
    return len(data)


def _labels(frames: Sequence[RunFrames]) -> list[str]:
    names = [f.name for f in frames]
    return [f"{n} ({f.path.name})" if names.count(n) > 1 else n for n, f in zip(names, frames, strict=True)]


def build_site(
    frames: Sequence[RunFrames],
    out: Path,
    infos: Sequence[Mapping[str, ProblemInfo]] | None = None,
    progress: Callable[[int], None] | None = None,
    report: Path | None = None,
) -> SiteResult:
    """Writes the site of one or more runs into ``out`` (see the module docstring).

    Args:
        frames: The runs (from :func:`rerankeval.report.load_run`).
        out: The site folder (prepared with :func:`prepare_out`).
        infos: Per run, problem_id -> what the benchmark knows (prompt, inputs); {} when unknown.
        progress: Called with 1 per problem page written.
        report: A folder written by ``rerankeval report``: its PNG figures are shown too.

    Returns:
        What was written.
    """
    out = Path(out)
    infos = list(infos) if infos is not None else [{} for _ in frames]
    assets = resources.files("rerankeval.view") / "assets"
    for name in ASSETS:
        (out / name).write_bytes((assets / name).read_bytes())
    runs = []
    labels = _labels(frames)
    n_pages = n_bytes = 0
    for k, (fr, info) in enumerate(zip(frames, infos, strict=True)):
        key = f"r{k}"
        folder = out / "data" / key
        folder.mkdir(parents=True, exist_ok=True)
        tables = RunTables.of(fr)
        files = {pid: f"p{i:04d}" for i, pid in enumerate(tables.gold)}
        for pid, stem in files.items():
            page = problem_page(tables, pid, info.get(pid))
            n_bytes += _write(folder / f"{stem}.js", js_data("problem", f"{key}/{stem}", page))
            n_pages += 1
            if progress is not None:
                progress(1)
        ov = overview(tables, files)
        ov["figures"] = _copy_figures(fr.path, folder)
        ov["has_prompts"] = bool(info)
        n_bytes += _write(folder / "index.js", js_data("run", key, ov))
        runs.append({"key": key, "label": labels[k], "path": str(fr.path), "n_problems": len(files)})
    figures = []
    if report is not None:
        (out / "data" / "report").mkdir(parents=True, exist_ok=True)
        figures = [f"report/{name}" for name in _copy_figures(report, out / "data" / "report", sub="")]
    index = {"runs": runs, "figures": figures, "version": __version__}
    n_bytes += _write(out / "data" / "runs.js", js_data("runs", None, index))
    (out / MARKER).write_text(
        json.dumps({"rerankeval": __version__, "runs": [r["path"] for r in runs]}, indent=2) + "\n",
        encoding="utf-8",
    )
    return SiteResult(out, n_pages, n_bytes)


def _copy_figures(run: Path, folder: Path, sub: str = "report") -> list[str]:
    """Copies the PNG figures of ``run/<sub>/`` (from ``rerankeval report``) into ``folder``."""
    names = []
    report = run / sub if sub else run
    for png in sorted(report.glob("*.png")) if report.is_dir() else []:
        shutil.copyfile(png, folder / png.name)
        names.append(png.name)
    return names


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("%s " + format, self.address_string(), *args)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


def serve(out: Path, port: int = 8000, *, background: bool = False) -> ThreadingHTTPServer:
    """Serves the site folder on 127.0.0.1 (never on other interfaces).

    Args:
        out: The site folder.
        port: TCP port (0 picks a free one; read it from ``server.server_address``).
        background: Serve from a daemon thread and return at once (tests); else the caller
            runs ``serve_forever``.

    Raises:
        InputError: The port is taken.
    """
    handler = partial(_QuietHandler, directory=str(out))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as e:
        raise InputError(f"cannot serve on 127.0.0.1:{port} ({e.strerror}). Pass another --port") from None
    if background:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
