"""``rerankeval rerank`` end to end on two real HumanEval+ tasks (EvalPlus ground truth, real sandbox)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rerankeval.cli.main import _register, cli

PROMPT_ADD = "def f"  # unused marker; programs below are complete

SAMPLES = {
    "HumanEval/2": [
        "def truncate_number(number: float) -> float:\n    return int(number)\n",  # wrong
        "def truncate_number(number: float) -> float:\n    return number % 1.0\n",  # correct
        "def truncate_number(number: float) -> float:\n    return number - int(number)\n",  # correct
    ],
    "HumanEval/53": [
        "def add(x: int, y: int):\n    return x + y\n",  # correct
        "def add(x: int, y: int):\n    return x * y\n",  # wrong
        "def add(x: int, y: int):\n    return x - y\n",  # wrong
    ],
}
TESTS = {
    "HumanEval/2": [
        "assert truncate_number(3.5) == 0.5",
        "assert abs(truncate_number(1.25) - 0.25) < 1e-9",
        "assert truncate_number(3.0) == 3",
    ],  # the last one is a wrong generated test
    "HumanEval/53": ["assert add(2, 3) == 5", "assert add(2, 2) == 4", "assert add(0, 0) == 0"],
}


@pytest.fixture
def inputs(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    rows = [
        json.loads(line) for line in gzip.open(shared_data / "humanevalplus" / "HumanEvalPlus.jsonl.gz", "rt")
    ]
    ds = tmp_path / "HumanEvalPlus-2.jsonl.gz"
    with gzip.open(ds, "wt") as f:
        for r in rows:
            if r["task_id"] in SAMPLES:
                f.write(json.dumps(r) + "\n")
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        "".join(json.dumps({"task_id": t, "solution": s}) + "\n" for t, sols in SAMPLES.items() for s in sols)
    )
    tests = tmp_path / "tests.jsonl"
    tests.write_text(
        "".join(
            json.dumps(
                {
                    "task_id": t,
                    "test_id": f"{t}#{j}",
                    "test": src,
                    "style": "assert",
                    "generator": "hand",
                    "sample_index": j,
                }
            )
            + "\n"
            for t, srcs in TESTS.items()
            for j, src in enumerate(srcs)
        )
    )
    return {"dataset": ds, "samples": samples, "tests": tests, "out": tmp_path / "run"}


@pytest.mark.realdata
def test_rerank_cli_scores_real_tasks_and_writes_evalplus_selections(inputs: dict[str, Path]) -> None:
    _register()
    args = [
        "rerank",
        "--dataset",
        "humaneval",
        "--dataset-path",
        str(inputs["dataset"]),
        "--samples",
        str(inputs["samples"]),
        "--tests",
        str(inputs["tests"]),
        "--reranker",
        "random",
        "--reranker",
        "coderm",
        "--reranker",
        "codet",
        "--reranker",
        "oracle",
        "--parallel",
        "2",
        "--bootstrap",
        "20",
        "--out",
        str(inputs["out"]),
    ]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    metrics = json.loads((inputs["out"] / "metrics.json").read_text())
    # HumanEval/2: 2 of 3 correct; HumanEval/53: 1 of 3.
    assert metrics["plus"]["plain_pass@1"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert metrics["base"]["oracle_pass@n"] == 1.0
    # HumanEval/2 rows: wrong fpp? int(3.5)=3 -> f, int(1.25) -> f, int(3.0)==3 -> p; correct ones: p p f.
    # HumanEval/53 rows: correct ppp; x*y: f p p; x-y: f f p.  Every rule picks the correct programs.
    for name in ("coderm", "codet", "oracle"):
        assert metrics["rerankers"][name]["plus"]["pass@1"] == 1.0, name
    assert "HumanEval+" in res.output and "coderm" in res.output and f"run: {inputs['out']}" in res.output
    picked = {
        json.loads(line)["task_id"]: json.loads(line)["solution"]
        for line in (inputs["out"] / "selected" / "coderm.jsonl").read_text().splitlines()
    }
    assert picked == {"HumanEval/2": SAMPLES["HumanEval/2"][1], "HumanEval/53": SAMPLES["HumanEval/53"][0]}
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "--resume" in again.output


def _rerank(inputs: dict[str, Path], *extra: str, tests: bool = True) -> list[str]:
    """``rerank`` on the two-task dataset and samples, writing to inputs["out"]."""
    args = ["rerank", "--dataset", "humaneval", "--dataset-path", str(inputs["dataset"])]
    args += ["--samples", str(inputs["samples"]), "--out", str(inputs["out"])]
    return args + (["--tests", str(inputs["tests"])] if tests else []) + list(extra)


@pytest.mark.realdata
def test_rerank_cli_reports_unknown_rerankers_before_running(inputs: dict[str, Path]) -> None:
    _register()
    res = CliRunner().invoke(cli, _rerank(inputs, "--reranker", "codt"))
    assert res.exit_code == 1
    assert "unknown reranker 'codt'. Did you mean 'codet'?" in res.output
    assert not (inputs["out"] / "matrix.jsonl").exists()


@pytest.mark.realdata
@pytest.mark.model
def test_rerank_cli_ranks_with_a_real_verifier_and_no_tests(
    inputs: dict[str, Path], tiny_lm_dir: Path
) -> None:
    _register()
    rm = ["--reranker", "rm", "--rm", f"verifier:hf:{tiny_lm_dir}", "--reranker", "first"]
    opts = ["-R", "rm.yes=Yes", "-R", "rm.no=No", "-R", "rm.max_length=512", "--bootstrap", "20"]
    res = CliRunner().invoke(cli, _rerank(inputs, *rm, *opts, tests=False))
    assert res.exit_code == 0, res.output
    metrics = json.loads((inputs["out"] / "metrics.json").read_text())
    scores = [json.loads(x) for x in (inputs["out"] / "rm_scores.jsonl").read_text().splitlines()]
    label = "rm:yes=Yes,no=No,max_length=512"  # -R arguments are part of a reranker's label
    assert len(scores) == 6 and all(0.0 < r["prob"] < 1.0 and r["scorer"] == label for r in scores)
    by = {(r["problem_id"], r["index"]): r["score"] for r in scores}
    sel = [json.loads(x) for x in (inputs["out"] / "selections.jsonl").read_text().splitlines()]
    for row in (r for r in sel if r["reranker"] == label):
        best = max(by[(row["problem_id"], i)] for i in range(3))
        assert row["chosen"] == [i for i in range(3) if by[(row["problem_id"], i)] == best]
    q = metrics["rm_quality"][label]["plus"]
    assert q["n_candidates"] == 6 and 0.0 <= q["auc"]["value"] <= 1.0 and q["ece"]["value"] >= 0.0
    assert "ROC-AUC" in res.output and "reward quality vs HumanEval+" in res.output
    run = json.loads((inputs["out"] / "run.json").read_text())
    assert run["rerankers"][0]["args"]["rm"] == f"verifier:hf:{tiny_lm_dir}"


@pytest.mark.realdata
def test_rerank_cli_rm_flag_needs_the_rm_reranker(inputs: dict[str, Path]) -> None:
    _register()
    res = CliRunner().invoke(
        cli, _rerank(inputs, "--reranker", "first", "--rm", "hf:some/model", tests=False)
    )
    assert res.exit_code == 2 and "add --reranker rm" in res.output
    res = CliRunner().invoke(cli, _rerank(inputs, "--reranker", "codet", tests=False))
    assert res.exit_code == 1 and "--tests" in res.output and not inputs["out"].exists()


@pytest.mark.realdata
def test_gold_records_the_first_failing_input_and_view_shows_it(inputs: dict[str, Path]) -> None:
    _register()
    res = CliRunner().invoke(cli, _rerank(inputs, "--reranker", "codet", "--bootstrap", "20"))
    assert res.exit_code == 0, res.output
    gold = {
        (r["problem_id"], r["index"]): r
        for r in map(json.loads, (inputs["out"] / "gold.jsonl").read_text().splitlines())
    }
    # every wrong program here fails the first base input: 3.5 -> 3, add(0, 1) -> 0 or -1
    for (pid, i), row in gold.items():
        assert row["base_fail_at"] == (None if row["base_passed"] else 0), (pid, i)
    site = inputs["out"].parent / "site"
    res = CliRunner().invoke(cli, ["view", str(inputs["out"]), "--out", str(site)])
    assert res.exit_code == 0, res.output
    text = (site / "data" / "r0" / "p0001.js").read_text()
    page = json.loads(text[len("RV.register.apply(null,") : -3])[2]
    assert page["id"] == "HumanEval/53" and page["prompt"].startswith("\n\ndef add(x: int, y: int)")
    assert [c["base_fail"] for c in page["candidates"]] == [None, "add(0, 1)", "add(0, 1)"]


@pytest.mark.realdata
def test_test_details_gives_fractions_and_the_ranking_metrics(inputs: dict[str, Path]) -> None:
    _register()
    args = _rerank(inputs, "--reranker", "coderm", "--bootstrap", "0", "--test-details")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    gold = {
        (r["problem_id"], r["index"]): r
        for r in map(json.loads, (inputs["out"] / "gold.jsonl").read_text().splitlines())
    }
    for row in gold.values():
        if row["passed"]:
            assert row["base_frac"] == row["plus_frac"] == 1.0
        else:
            assert row["plus_frac"] is not None and 0.0 <= row["plus_frac"] < 1.0
    # x * y equals x + y on (2, 2) and (0, 0): it passes a share of the inputs, x - y fewer or none
    assert gold[("HumanEval/53", 1)]["plus_frac"] > 0.0
    m = json.loads((inputs["out"] / "metrics.json").read_text())
    ranking = m["rm_quality"]["unit-test reward (tests passed)"]["plus"]["ranking"]
    assert ranking["n_problems"] == 2 and ranking["top1_accuracy"] is not None
