"""``rerankeval view``: a static, self-contained site to explore saved runs in a browser.

:func:`build_site` turns run directories (read with :func:`rerankeval.report.load_run`) into
HTML + JS + one data file per problem (:mod:`rerankeval.view.site`); :mod:`rerankeval.view.data`
decides what each page shows. Reading a run never executes anything from it: candidate code and
tests are data, escaped when written and rendered as text.
"""

from rerankeval.view.data import ProblemInfo, RunTables, overview, problem_page
from rerankeval.view.site import MARKER, SiteResult, build_site, js_data, prepare_out, serve

__all__ = [
    "MARKER",
    "ProblemInfo",
    "RunTables",
    "SiteResult",
    "build_site",
    "js_data",
    "overview",
    "prepare_out",
    "problem_page",
    "serve",
]
