"""The view site's files, without a browser: one data file per problem, escaping, what each page holds."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from scaling_runs import TINY, tiny_selections, write_run

from rerankeval.cli.main import _register, cli
from rerankeval.errors import InputError
from rerankeval.report.frames import load_run
from rerankeval.view import MARKER, ProblemInfo, build_site, js_data, prepare_out, serve
from rerankeval.view.data import call_text
from rerankeval_evalplus.judge import first_failing_input

ROOT = Path(__file__).resolve().parents[3]
ASSETS = ROOT / "harness" / "rerankeval" / "view" / "assets"
COMMITTED = ROOT / "results" / "reference" / "lmeval_smollm2" / "rerank"
HOSTILE = "</script><img src=x onerror=alert(1)>"


def _payload(path: Path) -> list:
    """The [kind, key, data] a data file registers (undoing its escapes is JSON's own job)."""
    text = path.read_text(encoding="utf-8")
    prefix = "RV.register.apply(null,"
    assert text.startswith(prefix) and text.endswith(");\n")
    return json.loads(text[len(prefix) : -3])


@pytest.fixture()
def tiny_site(tmp_path: Path) -> Path:
    codes = {pid: [f"def f():\n    return {pid!r}, {i}\n" for i in range(4)] for pid in TINY}
    codes["P/hard"][3] = f"x = '{HOSTILE}'\u2028# & more\n"
    run = write_run(tmp_path / "run", TINY, selections=tiny_selections(), codes=codes)
    out = prepare_out(tmp_path / "site")
    info = {"P/easy": ProblemInfo(prompt=f"def f():\n    '''{HOSTILE}'''\n", entry_point="f")}
    build_site([load_run(run)], out, [info])
    return out


def test_js_data_escapes_markup_and_line_separators_and_round_trips() -> None:
    data = {"code": HOSTILE + "\u2028\u2029 & <!-- -->", "n": 1}
    text = js_data("problem", "r0/p0000", data)
    assert not set("<>&\u2028\u2029") & set(text)
    assert "\\u003c/script\\u003e" in text
    prefix = "RV.register.apply(null,"
    assert json.loads(text[len(prefix) : -3]) == ["problem", "r0/p0000", data]


def test_js_data_is_ascii_even_for_lone_surrogates() -> None:
    text = js_data("problem", "r0/p0000", {"code": "x = '\ud800' + 'é'"})
    assert text.isascii() and "\\ud800" in text and "\\u00e9" in text


def test_js_data_refuses_nan() -> None:
    with pytest.raises(ValueError):
        js_data("run", "r0", {"x": float("nan")})


def test_site_has_one_data_file_per_problem_and_an_overview(tiny_site: Path) -> None:
    assert sorted(p.name for p in (tiny_site / "data" / "r0").glob("p*.js")) == [
        "p0000.js",
        "p0001.js",
        "p0002.js",
    ]
    for name in ("index.html", "app.js", "style.css", MARKER, "data/runs.js"):
        assert (tiny_site / name).is_file(), name
    kind, key, run = _payload(tiny_site / "data" / "r0" / "index.js")
    assert (kind, key) == ("run", "r0")
    rows = {p["id"]: p for p in run["problems"]}
    assert set(rows) == set(TINY)
    assert rows["P/easy"]["plain"] == 0.75 and rows["P/medium"]["correct"] == 1
    # the first selection row per reranker is shown (CodeRM at all 4 tests)
    assert rows["P/easy"]["acc"] == {"coderm": 1.0, "first": 1.0}
    assert rows["P/hard"]["acc"]["coderm"] == 0.0
    assert run["rerankers"] == ["coderm", "first"]


def test_problem_page_groups_candidates_by_pass_pattern_and_marks_picks(tiny_site: Path) -> None:
    run = _payload(tiny_site / "data" / "r0" / "index.js")[2]
    file = next(p["file"] for p in run["problems"] if p["id"] == "P/easy")
    kind, key, page = _payload(tiny_site / "data" / "r0" / f"{file}.js")
    assert (kind, key) == ("problem", f"r0/{file}")
    assert page["matrix"] == TINY["P/easy"][1]
    # "pppp" x3 (CodeT 4*sqrt(3)) before "ppff" (2*sqrt(1))
    assert [c["members"] for c in page["clusters"]] == [[0, 1, 2], [3]]
    assert page["clusters"][0]["codet"] == pytest.approx(4 * 3**0.5)
    assert [c["passed"] for c in page["candidates"]] == [True, True, True, False]
    assert [c["n_passed"] for c in page["candidates"]] == [4, 4, 4, 2]
    assert page["picks"]["coderm"] == {
        "chosen": [0, 1, 2],
        "pick": 0,
        "acc": 1.0,
        "acc_base": None,
        "scores": [],
    }
    assert [t["n_pass"] for t in page["tests"]] == [4, 4, 3, 3]
    assert [t["source"] for t in page["tests"]][:2] == ["assert f() == 0", "assert f() == 1"]
    assert page["prompt"].startswith("def f():")


def test_hostile_candidate_code_stays_escaped_data(tiny_site: Path) -> None:
    run = _payload(tiny_site / "data" / "r0" / "index.js")[2]
    file = next(p["file"] for p in run["problems"] if p["id"] == "P/hard")
    raw = (tiny_site / "data" / "r0" / f"{file}.js").read_text(encoding="utf-8")
    assert "</script" not in raw.lower() and "<img" not in raw.lower() and "<" not in raw
    page = _payload(tiny_site / "data" / "r0" / f"{file}.js")[2]
    assert HOSTILE in page["candidates"][3]["code"]
    for path in (tiny_site / "data").rglob("*.js"):
        assert "<" not in path.read_text(encoding="utf-8"), path


def test_page_script_renders_data_as_text_only() -> None:
    app = re.sub(r"/\*.*?\*/", "", (ASSETS / "app.js").read_text(encoding="utf-8"), flags=re.S)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in app, sink
    html = (ASSETS / "index.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and "script-src 'self'" in html
    assert not re.search(r"https?://", html + app.replace("http://www.w3.org/2000/svg", ""))


def test_prepare_out_refuses_a_foreign_folder_and_replaces_a_site(tmp_path: Path, tiny_site: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="holds no rerankeval view site"):
        prepare_out(foreign)
    stale = tiny_site / "data" / "r0" / "p9999.js"
    stale.write_text("old")
    prepare_out(tiny_site)
    assert not stale.exists() and (tiny_site / "index.html").exists()


def test_serve_answers_on_localhost_only(tiny_site: Path) -> None:
    server = serve(tiny_site, 0, background=True)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs.js", timeout=10) as r:
            assert r.status == 200 and r.read().startswith(b"RV.register")
    finally:
        server.shutdown()
        server.server_close()


def test_cli_refuses_a_swebench_run() -> None:
    _register()
    run = ROOT / "results" / "reference" / "swebench_lite" / "oracle-labels"
    res = CliRunner().invoke(cli, ["view", str(run), "--out", "unused"])
    assert res.exit_code == 1
    assert "is a SWE-bench run" in res.output and "rerankeval swebench metrics" in res.output


def test_cli_says_when_a_run_has_no_ground_truth_yet(tmp_path: Path) -> None:
    _register()
    run = write_run(tmp_path / "run", TINY)
    (run / "gold.jsonl").unlink()
    res = CliRunner().invoke(cli, ["view", str(run), "--out", str(tmp_path / "site")])
    assert res.exit_code == 1 and "holds no ground truth yet" in res.output and "--resume" in res.output


def test_cli_writes_a_site_for_the_committed_run(tmp_path: Path) -> None:
    _register()
    report = ROOT / "results" / "reference" / "scaling"
    res = CliRunner().invoke(
        cli, ["view", str(COMMITTED), "--out", str(tmp_path / "site"), "--report", str(report)]
    )
    assert res.exit_code == 0, res.output
    assert "10 problem pages" in res.output
    figures = _payload(tmp_path / "site" / "data" / "runs.js")[2]["figures"]
    assert figures == [f"report/{p.name}" for p in sorted(report.glob("*.png"))] and figures
    assert all((tmp_path / "site" / "data" / f).is_file() for f in figures)
    files = sorted((tmp_path / "site" / "data" / "r0").glob("p*.js"))
    assert len(files) == len({json.loads(line)["problem_id"] for line in open(COMMITTED / "gold.jsonl")})


def test_first_failing_input_follows_evalplus_details() -> None:
    assert first_failing_input("pass", [True, True], 2) is None
    assert first_failing_input("fail", [True, True, False], 5) == 2
    assert first_failing_input("timeout", [True, True], 5) == 2  # the input that was running
    assert first_failing_input("timeout", [True, False], 5) == 1
    assert first_failing_input(None, [], 5) is None
    assert first_failing_input("fail", [], 5) is None


def test_call_text_shows_a_call_and_cuts_long_inputs() -> None:
    assert call_text("add", [2, [3, 4]]) == "add(2, [3, 4])"
    long = call_text("f", ["x" * 5000])
    assert len(long) < 700 and long.endswith("more characters)")


def test_a_run_without_selections_metrics_or_matrix_still_has_pages(tmp_path: Path) -> None:
    problems = {"P/a": ([True, False], ["", ""]), "P/b": ([False, False], ["", ""])}
    run = write_run(tmp_path / "run", problems)
    for name in ("matrix.jsonl", "tests.jsonl"):
        (run / name).unlink()
    out = prepare_out(tmp_path / "site")
    build_site([load_run(run)], out)
    overview = _payload(out / "data" / "r0" / "index.js")[2]
    assert overview["tables"] == [] and overview["rerankers"] == []
    page = _payload(out / "data" / "r0" / "p0000.js")[2]
    assert page["matrix"] == [] and page["tests"] == [] and page["picks"] == {}
    assert page["clusters"] == [{"members": [0, 1], "passed": 0, "codet": 0.0, "pattern": ""}]
    assert page["prompt"] is None


def test_every_asset_is_package_data() -> None:
    import configparser
    import fnmatch

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    globs = [g.strip() for g in cfg["options.package_data"]["rerankeval.view"].split(",")]
    for path in ASSETS.iterdir():
        rel = f"assets/{path.name}"
        assert any(fnmatch.fnmatch(rel, g) for g in globs), f"add {rel} to setup.cfg [options.package_data]"
