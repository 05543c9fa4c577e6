"""`rerankeval leaderboard`: several reports' leaderboards in one table and figure, on hand-made runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from scaling_runs import TINY, TINY_ORACLE, TINY_PLAIN, tiny_selections, write_run

from rerankeval.cli.main import _register, cli
from rerankeval.errors import InputError
from rerankeval.report.frames import load_run
from rerankeval.report.plots import plot_leaderboard
from rerankeval.report.tables import (
    LEADERBOARD_COLUMNS,
    leaderboard,
    merge_leaderboards,
    read_leaderboard,
    write_table,
)

#: A weaker policy on the same problems: it solves P/easy once in four and nothing else.
WEAK = {
    "P/easy": ([True, False, False, False], ["pppp", "ppff", "ffff", "pfff"]),
    "P/medium": ([False, False, False, False], ["pfpf", "ffff", "pfff", "ffff"]),
    "P/hard": TINY["P/hard"],
}


def _selections(problems) -> list[dict]:
    """``first`` for every problem of ``problems``."""
    return [
        {"problem_id": pid, "reranker": "first", "n_samples": 4, "n_tests": None, "chosen": [0], "pick": 0}
        for pid in problems
    ]


@pytest.fixture()
def two_reports(tmp_path: Path) -> tuple[Path, Path]:
    """A report folder for TINY's strong policy and a leaderboard.csv for the weak one."""
    strong = write_run(tmp_path / "strong-run", TINY, selections=tiny_selections())
    weak = write_run(tmp_path / "weak-run", WEAK, policy="weak-policy", selections=_selections(WEAK))
    write_table(leaderboard(load_run(strong)), tmp_path / "strong-report", "leaderboard")
    write_table(leaderboard(load_run(weak)), tmp_path / "weak-report", "leaderboard")
    return tmp_path / "strong-report", tmp_path / "weak-report" / "leaderboard.csv"


def test_merged_rows_keep_their_source_and_runs_are_ordered_by_plain_pass_at_1(two_reports) -> None:
    strong, weak = two_reports
    df = merge_leaderboards({"S": read_leaderboard(strong), "W": read_leaderboard(weak)})
    assert list(df.columns) == [*LEADERBOARD_COLUMNS, "source"]
    assert list(df["source"]) == ["S", "S", "W"]  # strong first (plain 1/3 > 1/12)
    assert list(df["reranker"]) == ["coderm", "first", "first"]  # best first within a run
    s = df[df.source == "S"].iloc[0]
    assert s.plain == pytest.approx(TINY_PLAIN) and s.oracle == pytest.approx(TINY_ORACLE)
    w = df[df.source == "W"].iloc[0]
    assert w.policy == "weak-policy"  # the CSV holds 6 significant digits
    assert [w.plain, w.reranked, w.oracle, w.gain] == pytest.approx([1 / 12, 1 / 3, 1 / 3, 1 / 4], abs=1e-6)


def test_runs_on_other_problem_sets_stay_apart(tmp_path: Path, two_reports) -> None:
    strong, _ = two_reports
    sub = {k: v for k, v in TINY.items() if k != "P/hard"}
    part = write_run(tmp_path / "part", sub, selections=_selections(sub))
    df = merge_leaderboards({"all": read_leaderboard(strong), "part": read_leaderboard(part)})
    first = df[df.reranker == "first"].set_index("source")
    assert first.loc["all", "n_problems"] == 3 and first.loc["part", "n_problems"] == 2
    # (3/4 + 1/4) / 2: not mixed with the 3-problem run
    assert first.loc["part", "plain"] == pytest.approx(0.5)
    assert list(df["source"]) == ["part", "all", "all"]  # the 2-problem run has the higher plain pass@1


def test_a_run_directory_is_read_from_its_selections(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", TINY, selections=tiny_selections())
    pd.testing.assert_frame_equal(read_leaderboard(run), leaderboard(load_run(run)))


def test_bad_sources_are_named_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty: holds neither leaderboard.csv .* nor run.json"):
        read_leaderboard(tmp_path / "empty")
    bad = tmp_path / "bad.csv"
    bad.write_text("dataset,policy\nx,y\n")
    with pytest.raises(InputError, match=r"bad.csv: lacks the leaderboard column\(s\) reranker, test_gen"):
        read_leaderboard(bad)


def test_figure_has_a_row_per_run_and_a_marker_per_reranker(two_reports) -> None:
    strong, weak = two_reports
    df = merge_leaderboards({"S": read_leaderboard(strong), "W": read_leaderboard(weak)})
    fig = plot_leaderboard(df)
    (ax,) = fig.axes
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ticks) == 2 and ticks[0].startswith("tiny-policy") and ticks[1].startswith("weak-policy")
    assert "3 problems x 4 samples; S" in ticks[0]
    points: dict[str, list[float]] = {}  # label -> x, y, x, y, ... (CSV values: 6 significant digits)
    for ln in ax.get_lines():
        points.setdefault(ln.get_label(), []).extend([float(ln.get_xdata()[0]), float(ln.get_ydata()[0])])
    near = {"abs": 1e-3}
    assert points["plain pass@1"] == pytest.approx([100 * TINY_PLAIN, 0, 100 / 12, 1], **near)
    assert points["oracle pass@N"] == pytest.approx([100 * TINY_ORACLE, 0, 100 / 3, 1], **near)
    assert points["coderm"] == pytest.approx([100 * 2 / 3, 0], **near)
    assert points["first"] == pytest.approx([100 / 3, 0, 100 / 3, 1], **near)
    assert ax.get_title() == "tinyeval"


def test_cli_writes_the_table_and_figure_and_refuses_a_source_twice(tmp_path: Path, two_reports) -> None:
    _register()
    strong, weak = two_reports
    out = tmp_path / "out"
    args = ["leaderboard", str(strong), str(weak), "--out", str(out), "--label", f"{weak}=weak model"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert {p.name for p in out.iterdir()} == {"leaderboard.csv", "leaderboard.md", "fig_leaderboard.png"}
    assert "| weak model |" in res.output and "| 33.3 |" in res.output
    assert list(pd.read_csv(out / "leaderboard.csv")["source"]) == [str(strong), str(strong), "weak model"]
    again = CliRunner().invoke(cli, args)
    assert again.exit_code != 0 and "already holds files" in again.output
    twice = CliRunner().invoke(cli, ["leaderboard", str(strong), str(strong), "--out", str(tmp_path / "o2")])
    assert twice.exit_code != 0 and "given more than once" in twice.output
