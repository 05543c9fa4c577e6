"""The leaderboard and table output (CSV with raw fractions, markdown with percent)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerankeval.core.metrics import oracle_pass_at_n, plain_pass_at_1
from rerankeval.report.frames import RunFrames

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def reads_tests(meta: Mapping[str, Any], label: str) -> bool:
    """Whether the reranker a run recorded as ``label`` reads the pass matrix (its selections cost
    test executions): asked of the reranker itself, built as run.json records it (without its reward
    model). A reranker that is not installed here is assumed to read the tests."""
    from rerankeval.errors import RerankEvalError
    from rerankeval.rerankers.registry import reranker_needs

    spec = next(
        (r for r in meta.get("rerankers") or () if isinstance(r, dict) and r.get("label") == label), None
    )
    try:
        return "matrix" in reranker_needs(str(spec["name"]) if spec else label, (spec or {}).get("args"))
    except RerankEvalError:
        return True


#: Columns holding fractions in [0, 1]; markdown shows them as percent.
PERCENT_COLUMNS = frozenset(
    {
        "plain",
        "reranked",
        "oracle",
        "gain",
        "pass@1",
        "low",
        "high",
        "gain_low",
        "gain_high",
        "target",
        "best_within_fraction",
        "pass_rate_min",
        "pass_rate_max",
        "ratio",
    }
)

LEADERBOARD_COLUMNS = [
    "dataset",
    "policy",
    "reranker",
    "test_generator",
    "n_problems",
    "n_samples",
    "plain",
    "reranked",
    "oracle",
    "gain",
    "tests_per_problem",
    "executions",
]


def _final_rows(sel: pd.DataFrame) -> pd.DataFrame:
    """Per problem, a reranker's rows at that problem's largest number of samples and of tests.

    A run may save several views (``n_samples`` / ``n_tests`` subsets) and several random draws
    of each; the leaderboard reads the fullest view and averages its draws. A null ``n_tests``
    means all tests.
    """
    sel = sel.copy()
    for col in ("n_samples", "n_tests"):
        if col not in sel.columns:
            sel[col] = None
        key = sel[col].astype(float).fillna(float("inf"))
        sel = sel[key == key.groupby(sel["problem_id"]).transform("max")]
    return sel


def _reranker_row(run: RunFrames, name: str, sel: pd.DataFrame) -> dict[str, Any]:
    golds = run.golds()
    reads = reads_tests(run.meta, name)
    accs, tests, execs = [], [], 0.0
    for pid, rows in sel.groupby("problem_id", sort=True):
        g = golds.get(str(pid))
        if g is None:
            continue
        per_draw = []
        for row in rows.itertuples(index=False):
            acc = getattr(row, "expected_acc", None)
            if acc is None or acc != acc:
                chosen = list(getattr(row, "chosen", None) or [getattr(row, "pick", 0)])
                acc = sum(bool(g[i]) for i in chosen) / len(chosen)
            per_draw.append(float(acc))
        accs.append(sum(per_draw) / len(per_draw))
        n_cols = len(run.matrices[str(pid)].test_ids) if str(pid) in run.matrices else 0
        n_tests = rows["n_tests"].astype(float).mean()
        used = 0.0 if not reads else (min(n_tests, n_cols) if n_tests == n_tests else float(n_cols))
        tests.append(used)
        execs += used * len(g)
    if len(accs) < len(golds):
        log.warning(
            "%s: reranker %s has selections for %d of %d problems; its row averages those only",
            run.path,
            name,
            len(accs),
            len(golds),
        )
    n_samples = sel["n_samples"].astype(float).max()
    return {
        "reranker": name,
        "n_problems": len(accs),
        "n_samples": int(n_samples) if n_samples == n_samples else None,
        "reranked": sum(accs) / len(accs) if accs else math.nan,
        "tests_per_problem": sum(tests) / len(tests) if tests else math.nan,
        "executions": int(round(execs)),
    }


def leaderboard(*runs: RunFrames, curve: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (policy, reranker, test generator): plain, reranked and oracle pass@1, gain, tests used.

    Reranked pass@1 comes from each run's saved selections (the reranker's rows at the largest
    number of samples and tests). A reranker that has no saved selections but appears in
    ``curve`` (a :func:`~rerankeval.report.curves.scaling_curve`) is taken from the curve's
    largest budget instead.

    Returns:
        Columns :data:`LEADERBOARD_COLUMNS`, sorted by dataset, policy and reranked pass@1 (best first).
    """
    import pandas as pd

    rows = []
    for run in runs:
        golds = list(run.golds().values())
        base = {
            "dataset": run.dataset,
            "policy": run.policy,
            "test_generator": run.test_generator,
            "plain": plain_pass_at_1(golds),
            "oracle": oracle_pass_at_n(golds),
        }
        seen = set()
        if not run.selections.empty:
            for name, sel in run.selections.groupby("reranker", sort=True):
                seen.add(str(name))
                rows.append({**base, **_reranker_row(run, str(name), _final_rows(sel))})
        if curve is not None and not curve.empty:
            mine = curve[
                (curve.policy == run.policy)
                & (curve.test_generator == run.test_generator)
                & (curve.dataset == run.dataset)
                & ~curve.reranker.isin(seen)
            ]
            for name, grp in mine.groupby("reranker", sort=True):
                top = grp.loc[grp["budget"].idxmax()]
                rows.append(
                    {
                        **base,
                        "reranker": name,
                        "n_problems": len(golds),
                        "n_samples": max((len(g) for g in golds), default=0),
                        "reranked": float(top["pass@1"]),
                        "tests_per_problem": float(top["tests_per_problem"]),
                        "executions": int(top["executions"]),
                    }
                )
    df = pd.DataFrame(rows, columns=[c for c in LEADERBOARD_COLUMNS if c != "gain"] + ["gain"])
    df["gain"] = df["reranked"] - df["plain"]
    df = df[LEADERBOARD_COLUMNS]
    return df.sort_values(["dataset", "policy", "reranked"], ascending=[True, True, False], ignore_index=True)


def _cell(col: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if col in PERCENT_COLUMNS and isinstance(v, int | float) and not isinstance(v, bool):
        return f"{100 * v:+.1f}" if col.startswith("gain") else f"{100 * v:.1f}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.2f}".rstrip("0").rstrip(".")
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v).replace("|", "\\|")


def to_markdown(df: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    """A GitHub markdown table; fraction columns (:data:`PERCENT_COLUMNS`) are shown as percent."""
    cols = list(columns) if columns is not None else list(df.columns)
    head = [f"{c} (%)" if c in PERCENT_COLUMNS else c for c in cols]
    lines = [
        "| " + " | ".join(head) + " |",
        "|"
        + "|".join("---:" if c in PERCENT_COLUMNS or df[c].dtype.kind in "if" else "---" for c in cols)
        + "|",
    ]
    for rec in df[cols].itertuples(index=False):
        lines.append("| " + " | ".join(_cell(c, v) for c, v in zip(cols, rec, strict=True)) + " |")
    return "\n".join(lines) + "\n"


def write_table(
    df: pd.DataFrame, out_dir: Path, name: str, columns: Iterable[str] | None = None
) -> list[Path]:
    """Writes ``<name>.csv`` (raw values) and ``<name>.md`` (percent) into ``out_dir``; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / f"{name}.csv", out_dir / f"{name}.md"
    df.to_csv(csv_path, index=False, float_format="%.6g")
    md_path.write_text(to_markdown(df, list(columns) if columns is not None else None), encoding="utf-8")
    return [csv_path, md_path]


def read_leaderboard(source: Path) -> pd.DataFrame:
    """One report's leaderboard: a ``leaderboard.csv`` (or a folder holding one, as ``rerankeval
    report`` writes it), or a run directory (its saved selections, read with :func:`leaderboard`).

    Raises:
        InputError: ``source`` is none of these, or its CSV lacks leaderboard columns.
    """
    import pandas as pd

    from rerankeval.errors import InputError
    from rerankeval.report.frames import load_run

    source = Path(source)
    csv = source / "leaderboard.csv" if source.is_dir() else source
    if source.is_dir() and not csv.is_file():
        if (source / "run.json").is_file():
            return leaderboard(load_run(source))
        raise InputError(
            f"{source}: holds neither leaderboard.csv (a `rerankeval report` folder) nor run.json "
            "(a run directory). Give a report folder, its leaderboard.csv, or a run directory"
        )
    if not csv.is_file():
        raise InputError(
            f"{csv}: no such file. Give a report folder, its leaderboard.csv, or a run directory"
        )
    try:
        df = pd.read_csv(csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{csv}: not a CSV file ({exc}). Give a leaderboard.csv written by `rerankeval report`"
        ) from None
    missing = [c for c in LEADERBOARD_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"{csv}: lacks the leaderboard column(s) {', '.join(missing)}. "
            "Give a leaderboard.csv written by `rerankeval report`"
        )
    return df[LEADERBOARD_COLUMNS]


def merge_leaderboards(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The leaderboards of several reports in one table.

    Args:
        tables: Source label (say, the report folder) -> its leaderboard (:data:`LEADERBOARD_COLUMNS`).

    Returns:
        :data:`LEADERBOARD_COLUMNS` and ``source``, one row per input row. Rows are grouped per
        dataset, then per run (policy, test generator, problems, samples and source; runs in order of
        plain pass@1, best first), and within a run by reranked pass@1, best first.
        Runs on different problem sets (``n_problems``) stay apart: their numbers are not comparable.
    """
    import pandas as pd

    frames = [df.assign(source=label) for label, df in tables.items() if not df.empty]
    cols = [*LEADERBOARD_COLUMNS, "source"]
    if not frames:
        return pd.DataFrame(columns=cols)
    df = pd.concat(frames, ignore_index=True)[cols]
    group = ["dataset", "policy", "test_generator", "n_problems", "n_samples", "source"]
    df["_plain"] = df.groupby(group, dropna=False)["plain"].transform("max")
    df = df.sort_values(
        ["dataset", "_plain", *group[1:], "reranked"],
        ascending=[True, False, True, True, True, True, True, False],
        ignore_index=True,
    )
    return df.drop(columns="_plain")
