"""``rerank --budget/--allocation/-A/--difficulty``: usage errors, the config they build, the table line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rerankeval.cli.rerank_cmd import rerank
from rerankeval.errors import InputError
from rerankeval.pipeline import RerankConfig
from rerankeval.pipeline.table import budget_line, format_markdown, format_text


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, str]:
    for name in ("samples", "tests", "difficulty"):
        (tmp_path / f"{name}.jsonl").write_text("{}\n")
    return {name: str(tmp_path / f"{name}.jsonl") for name in ("samples", "tests", "difficulty")}


def invoke(files: dict[str, str], *extra: str, difficulty: bool = False) -> tuple[int, str]:
    args = ["--dataset", "humaneval", "--samples", files["samples"], "--tests", files["tests"]]
    args += ["--reranker", "coderm", "--out", str(Path(files["samples"]).parent / "run"), *extra]
    if difficulty:
        args += ["--difficulty", files["difficulty"]]
    res = CliRunner().invoke(rerank, args)
    return res.exit_code, res.output


@pytest.mark.parametrize(
    ("extra", "difficulty", "message"),
    [
        (["--allocation", "greedy"], False, "--allocation only apply with --budget"),
        (["-A", "step=2"], False, "-A only apply with --budget"),
        ([], True, "--difficulty only apply with --budget"),
        (["--budget", "5", "--num-tests", "3"], False, "--budget and --num-tests exclude each other"),
        (
            ["--budget", "5", "--allocation", "adaptive"],
            True,
            "--difficulty is read by --allocation greedy only",
        ),
        (["--budget", "5", "-A", "slack=1"], False, "allocation 'uniform' does not take slack"),
        (["--budget", "5", "-A", "select=codet"], False, "allocation 'uniform' does not take select"),
        (["--budget", "5", "--allocation", "adaptive", "-A", "step=two"], False, "must be a whole number"),
        (["--budget", "5", "-A", "step"], False, "expected key=value"),
        (["--budget", "0"], False, "--budget"),
        (["--budget", "5", "--allocation", "clever"], False, "'clever' is not one of"),
    ],
)
def test_inconsistent_budget_flags_are_usage_errors(
    files: dict[str, str], extra: list[str], difficulty: bool, message: str
) -> None:
    code, out = invoke(files, *extra, difficulty=difficulty)
    assert code == 2, out
    assert message in out.replace("\n", " ").replace("  ", " ")


def test_a_probe_needs_the_hidden_states(files: dict[str, str]) -> None:
    code, out = invoke(files, "--budget", "5", "--allocation", "greedy", "--probe", files["difficulty"])
    assert code == 2 and "--probe reads hidden states: pass them with --difficulty" in out


def test_the_config_validates_a_budget_before_anything_runs(tmp_path: Path) -> None:
    base = {"dataset": "humaneval", "samples": tmp_path, "tests": tmp_path, "rerankers": (), "out": tmp_path}
    with pytest.raises(InputError, match="exclude each other"):
        RerankConfig(**base, budget=3, num_tests=2)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="does not take"):
        RerankConfig(**base, budget=3, allocation="greedy", allocation_options={"step": 1})  # type: ignore[arg-type]
    with pytest.raises(InputError, match="budget must be a number"):
        RerankConfig(**base, budget=float("nan"))  # type: ignore[arg-type]
    cfg = RerankConfig(**base, budget=3, allocation="adaptive", allocation_options={"step": 2})  # type: ignore[arg-type]
    assert cfg.results_key()["budget"] == {
        "budget": 3,
        "allocation": "adaptive",
        "options": {"step": 2},
        "difficulty_sha256": None,
        "probe_sha256": None,
    }
    assert RerankConfig(**base).results_key()["budget"] is None  # type: ignore[arg-type]


METRICS = {
    "views": {"plus": "HumanEval+", "base": "HumanEval"},
    "n_problems": 162,
    "n_samples": {"min": 100, "max": 100},
    "n_tests": 3240,
    "time_limit_s": 0.25,
    "draws": 1,
    "plus": {"plain_pass@1": 0.5, "oracle_pass@n": 1.0},
    "base": {"plain_pass@1": 0.5, "oracle_pass@n": 1.0},
    "rerankers": {},
    "budget": {
        "method": "adaptive",
        "budget": 20.0,
        "tests": 3240,
        "mean_tests": 20.0,
        "executions": 312_000,
        "full_executions": 1_000_000,
        "fraction": 0.312,
        "rounds": 7,
        "settled": 40,
    },
}


def test_the_summary_shows_what_the_budget_spent() -> None:
    line = budget_line(METRICS)
    assert line == (
        "budget: adaptive, 20.0 tests/problem -> 3,240 tests (20.0/problem), 312,000 executions "
        "(31.2% of all 1,000,000), 7 rounds, 40 problems settled"
    )
    assert format_text(METRICS).splitlines()[1] == line
    assert line in format_markdown(METRICS).splitlines()[0]
    assert budget_line({k: v for k, v in METRICS.items() if k != "budget"}) is None
