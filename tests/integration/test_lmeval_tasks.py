"""The *_rm tasks through lm-eval 0.4.13's real evaluator, with a scripted model whose answers are
known: every filter's metric, the logged rows, per-repeat seeds, and the fail-fast checks."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lmeval_tasks import CORRECT, EXPECTED, TASKS_DIR, N, ScriptedLM, write_dataset, write_tests

from rerankeval.errors import InputError
from rerankeval_lmeval.filters import parse_row

Run = tuple[dict[str, Any], ScriptedLM]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("lmeval")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RERANKEVAL_CACHE_DIR", str(tmp / "cache"))
        for var in (
            "RERANKEVAL_TESTS",
            "RERANKEVAL_TEST_GENERATOR",
            "RERANKEVAL_REPEATS",
            "RERANKEVAL_SEED_PER_REPEAT",
        ):
            mp.delenv(var, raising=False)
        yield {
            "humaneval_path": str(write_dataset(tmp / "mini.jsonl.gz")),
            "tests": str(write_tests(tmp / "tests.jsonl")),
            "repeats": N,
            "workers": 2,
        }


@pytest.fixture(scope="module")
def standard_run(inputs: dict[str, Any]) -> tuple[dict[str, Any], ScriptedLM]:
    """A local backend: one request per document with ``repeats``."""
    return evaluate({**inputs, "pretrained": "some/model"})


@pytest.fixture(scope="module")
def api_run(inputs: dict[str, Any]) -> tuple[dict[str, Any], ScriptedLM]:
    """An OpenAI-compatible backend (its model args name a base_url)."""
    return evaluate({**inputs, "base_url": "http://127.0.0.1:1/v1/completions", "seed": 40})


def load_task(metadata: dict[str, Any]) -> dict[str, Any]:
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)
    return tm.load(["humaneval_plus_rm"])


def evaluate(metadata: dict[str, Any], lm: ScriptedLM | None = None) -> tuple[dict[str, Any], ScriptedLM]:
    """lm-eval's own evaluator (simple_evaluate minus its environment report and seeding)."""
    from lm_eval.evaluator import evaluate as lm_eval_evaluate

    lm = lm or ScriptedLM()
    task_dict = load_task(metadata)
    res = lm_eval_evaluate(
        lm=lm, task_dict=task_dict, log_samples=True, bootstrap_iters=0, confirm_run_unsafe_code=True
    )
    assert res is not None
    return res, lm


def test_one_generation_pass_reports_every_filter_side_by_side(standard_run: Run) -> None:
    res, lm = standard_run
    got = res["results"]["humaneval_plus_rm"]
    for key, value in EXPECTED.items():
        assert got[key] == pytest.approx(value), key
    assert len(lm.requests) == 3 * N  # one pass: N samples per problem, shared by all filters
    assert res["configs"]["humaneval_plus_rm"]["repeats"] == N
    assert all(kw["temperature"] == 0.8 and kw["top_p"] == 0.95 and kw["do_sample"] for _, kw in lm.requests)


def test_logged_rows_show_candidates_tests_rewards_and_the_pick(standard_run: Run) -> None:
    res, _ = standard_run
    rows = {(s["doc"]["task_id"], s["filter"]): s for s in res["samples"]["humaneval_plus_rm"]}
    plain = parse_row(rows[("HumanEval/0", "plain")]["filtered_resps"][0])
    assert [c["passed"] for c in plain["candidates"]] == CORRECT["HumanEval/0"]
    assert "return a + b" in plain["candidates"][1]["program"]
    coderm = parse_row(rows[("HumanEval/0", "rerank-coderm")]["filtered_resps"][0])
    assert [c["tests_passed"] for c in coderm["candidates"]] == [0, 2, 2, 1]
    assert {c["n_tests"] for c in coderm["candidates"]} == {2}
    assert [c["reward"] for c in coderm["candidates"]][1] == max(c["reward"] for c in coderm["candidates"])
    assert coderm["picked"] == 1 and coderm["picked_passed"] is True and set(coderm["tied"]) == {1, 2}
    assert "return a + b" in coderm["picked_program"]
    oracle = rows[("HumanEval/2", "oracle")]
    assert parse_row(oracle["filtered_resps"][0])["correct"] == 0 and oracle["pass@n"] == 0.0
    assert len(rows[("HumanEval/1", "plain")]["resps"][0]) == N


def test_api_backends_get_one_request_per_repeat_with_its_own_seed(api_run: Run) -> None:
    res, lm = api_run
    seeds = sorted(kw["seed"] for _, kw in lm.requests)
    assert seeds == sorted([40, 41, 42, 43] * 3)
    got = res["results"]["humaneval_plus_rm"]
    for key, value in EXPECTED.items():  # the same scores as one request with repeats
        assert got[key] == pytest.approx(value), key
    row = next(s for s in res["samples"]["humaneval_plus_rm"] if s["filter"] == "plain")
    assert len(row["resps"]) == N and sum(1 for r in row["filtered_resps"] if parse_row(r)) == 1


def test_local_backends_keep_lm_evals_single_request_with_repeats(standard_run: Run) -> None:
    res, lm = standard_run
    assert all("seed" not in kw for _, kw in lm.requests)
    row = next(s for s in res["samples"]["humaneval_plus_rm"] if s["filter"] == "plain")
    assert len(row["resps"]) == 1 and len(row["resps"][0]) == N


def test_the_reward_model_filter_appears_only_when_a_reward_model_is_configured(
    inputs: dict[str, Any], standard_run: Run
) -> None:
    assert not any("rerank-rm" in k for k in standard_run[0]["results"]["humaneval_plus_rm"])
    res, _ = evaluate({**inputs, "rm": "oracle-labels"})  # the scorer that reads the known labels
    got = res["results"]["humaneval_plus_rm"]
    assert got["pass@1,rerank-rm"] == pytest.approx(EXPECTED["pass@n,oracle"])
    row = next(
        s
        for s in res["samples"]["humaneval_plus_rm"]
        if s["filter"] == "rerank-rm" and s["doc"]["task_id"] == "HumanEval/1"
    )
    assert [c["reward"] for c in parse_row(row["filtered_resps"][0])["candidates"]] == [1.0, 0.0, 1.0, 1.0]
    # the labels as a reward (and as probabilities): a perfect ranking and a perfect calibration,
    # pooled over every candidate, as on SWE-bench
    assert got["rm_auc,rerank-rm"] == 1.0 and got["rm_ece,rerank-rm"] == 0.0


def test_a_model_scored_filter_reports_auc_and_ece_pooled_over_every_candidate(
    inputs: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import fault_runs

    from rerankeval.core.rm_metrics import expected_calibration_error, roc_auc

    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))  # its scores stay out of the others'
    scorer = fault_runs.TextScorer()  # a reward that is a function of the program text
    monkeypatch.setattr("rerankeval.rerankers.reward_model.make_scorer", lambda spec, **kw: scorer)
    res, _ = evaluate({**inputs, "rm": "text"})
    got = res["results"]["humaneval_plus_rm"]
    cands = [
        c
        for s in res["samples"]["humaneval_plus_rm"]
        if s["filter"] == "rerank-rm"
        for c in parse_row(s["filtered_resps"][0])["candidates"]
    ]
    assert len(cands) == 3 * N and all(0.0 <= c["prob"] <= 1.0 for c in cands)
    gold = [c["passed"] for c in cands]
    assert got["rm_auc,rerank-rm"] == pytest.approx(roc_auc([c["reward"] for c in cands], gold))
    assert got["rm_ece,rerank-rm"] == pytest.approx(
        expected_calibration_error([c["prob"] for c in cands], gold)
    )
    assert 0.0 < got["rm_ece,rerank-rm"] < 1.0


def test_unit_test_rerankers_without_tests_stop_before_generation(inputs: dict[str, Any]) -> None:
    meta = {k: v for k, v in inputs.items() if k != "tests"}
    lm = ScriptedLM()
    with pytest.raises(InputError, match="need unit tests"):
        evaluate(meta, lm)
    assert lm.requests == []


def test_a_missing_tests_artifact_is_named_in_the_error(inputs: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="tests artifact not found"):
        evaluate({**inputs, "tests": str(tmp_path / "nope.jsonl")})


def test_greedy_decoding_with_repeats_warns(inputs: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    task = load_task({**inputs, "repeats": 2})["tasks"]["humaneval_plus_rm"]
    task.set_config(key="generation_kwargs", value={"do_sample": False}, update=True)  # as --gen_kwargs does
    with caplog.at_level(logging.WARNING, logger="rerankeval_lmeval"):
        task.build_all_requests(limit=1)
    assert any("greedy" in r.getMessage() for r in caplog.records)


def test_repeats_come_from_metadata_over_the_yaml(
    inputs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RERANKEVAL_REPEATS", "7")
    assert load_task({**inputs, "repeats": 3})["tasks"]["humaneval_plus_rm"].config.repeats == 3
    meta = {k: v for k, v in inputs.items() if k != "repeats"}
    assert load_task(meta)["tasks"]["humaneval_plus_rm"].config.repeats == 7
    monkeypatch.delenv("RERANKEVAL_REPEATS")
    assert load_task(meta)["tasks"]["humaneval_plus_rm"].config.repeats == 100


def test_exported_samples_hold_the_programs_lm_eval_scored(standard_run: Run, tmp_path: Path) -> None:
    from rerankeval_lmeval.export import export_samples

    res, _ = standard_run
    logged = tmp_path / "samples_humaneval_plus_rm.jsonl"
    logged.write_text("".join(json.dumps(s) + "\n" for s in res["samples"]["humaneval_plus_rm"]))
    out = tmp_path / "samples.jsonl"
    assert export_samples(logged, out) == 3 * N
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["task_id"] for r in rows] == [f"HumanEval/{i}" for i in range(3) for _ in range(N)]
    plain = {s["doc"]["task_id"]: s for s in res["samples"]["humaneval_plus_rm"] if s["filter"] == "plain"}
    candidates = parse_row(plain["HumanEval/0"]["filtered_resps"][0])["candidates"]
    assert [r["solution"] for r in rows[:N]] == [c["program"] for c in candidates]


def test_metrics_equal_those_of_rerankeval_rerank_on_the_same_samples_and_tests(
    standard_run: Run, inputs: dict[str, Any], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from rerankeval.cli.main import _register, cli
    from rerankeval_lmeval.export import export_samples

    res, _ = standard_run
    logged = tmp_path / "samples_humaneval_plus_rm.jsonl"
    logged.write_text("".join(json.dumps(s) + "\n" for s in res["samples"]["humaneval_plus_rm"]))
    export_samples(logged, tmp_path / "samples.jsonl")
    _register()
    run = CliRunner().invoke(
        cli,
        [
            "rerank",
            "--dataset",
            "humaneval",
            "--dataset-path",
            inputs["humaneval_path"],
            "--samples",
            str(tmp_path / "samples.jsonl"),
            "--tests",
            inputs["tests"],
            "--reranker",
            "first",
            "--reranker",
            "coderm",
            "--reranker",
            "codet",
            "--bootstrap",
            "0",
            "--parallel",
            "2",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert run.exit_code == 0, run.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    got = res["results"]["humaneval_plus_rm"]
    assert got["pass@1,plain"] == pytest.approx(metrics["plus"]["plain_pass@1"])
    assert got["pass@n,oracle"] == pytest.approx(metrics["plus"]["oracle_pass@n"])
    for name in ("first", "coderm", "codet"):
        label = "first" if name == "first" else f"rerank-{name}"
        assert got[f"pass@1,{label}"] == pytest.approx(metrics["rerankers"][name]["plus"]["pass@1"]), name
    # the reward quality of the tests-passed reward, as rerank's rm_quality computes it
    unit = metrics["rm_quality"]["unit-test reward (tests passed)"]["plus"]
    assert got["rm_auc,rerank-coderm"] == pytest.approx(unit["auc"]["value"])
    assert "rm_ece,rerank-coderm" not in got  # no model, no probability to calibrate


@pytest.mark.model
def test_tests_generated_on_the_fly_are_cached_for_the_next_run(
    inputs: dict[str, Any], tiny_lm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rerankeval.unittests.artifact import sidecar_path

    meta = {k: v for k, v in inputs.items() if k != "tests"}
    meta |= {
        "test_generator": f"hf:{tiny_lm_dir}",
        "test_style": "assert",
        "n_tests": 2,
        "tests_cache": str(tmp_path / "tests"),
    }
    first, _ = evaluate(meta)
    artifacts = list((tmp_path / "tests").glob("humaneval_*.jsonl"))
    generated = [a for a in artifacts if not a.name.endswith(".generations.jsonl")]
    assert len(generated) == 1
    assert len(sidecar_path(generated[0]).read_text().splitlines()) == 3  # one row per problem

    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("tests were generated again")

    monkeypatch.setattr("rerankeval.generation.load_generator", no_generation)
    second, _ = evaluate(meta)
    assert second["results"]["humaneval_plus_rm"] == first["results"]["humaneval_plus_rm"]


@pytest.mark.parametrize("fault", ["raise", "nan"])
def test_a_failing_reward_model_stops_the_task_as_a_harness_fault(
    inputs: dict[str, Any], fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fault_runs

    from rerankeval.errors import HarnessFaultError

    scorer = fault_runs.TextScorer(fault=fault, fault_after=0)
    monkeypatch.setattr("rerankeval.rerankers.reward_model.make_scorer", lambda spec, **kw: scorer)
    with pytest.raises(
        HarnessFaultError,
        match="reward model .rerank-rm.*(failed|malformed).*Fix it .the model backend.*re-run lm_eval",
    ):
        evaluate({**inputs, "rm": "text"})


def test_plain_also_reports_the_unbiased_pass_at_k_up_to_the_repeats(inputs: dict[str, Any]) -> None:
    from math import comb

    res, _ = evaluate({**inputs, "pass_at_k": "2/3/10"})  # 10 > N = 4: not estimable, left out
    got = res["results"]["humaneval_plus_rm"]

    def unbiased(c: int, k: int) -> float:
        return 1 - comb(N - c, k) / comb(N, k)

    counts = [sum(v) for v in CORRECT.values()]
    for k in (2, 3):
        assert got[f"pass@{k},plain"] == pytest.approx(sum(unbiased(c, k) for c in counts) / len(counts))
    assert "pass@10,plain" not in got and got["pass@1,plain"] == pytest.approx(EXPECTED["pass@1,plain"])
    assert not any(key.startswith("pass@2,") and key != "pass@2,plain" for key in got)


def test_a_bad_pass_at_k_is_refused_naming_the_option(inputs: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="pass_at_k='1/ten'"):
        load_task({**inputs, "pass_at_k": "1/ten"})


def test_the_engine_run_directory_is_kept_with_run_dir(inputs: dict[str, Any], tmp_path: Path) -> None:
    """The task runs the engine's loop; with run_dir its directory stays, holding rerank's files and
    metrics (reward and unit-test quality) equal to lm-eval's figures."""
    res, _ = evaluate({**inputs, "run_dir": str(tmp_path / "runs"), "bootstrap": 20})
    run = tmp_path / "runs" / "humaneval_plus_rm"
    for name in (
        "run.json",
        "gold.jsonl",
        "matrix.jsonl",
        "selections.jsonl",
        "metrics.json",
        "samples.jsonl",
    ):
        assert (run / name).is_file(), name
    m = json.loads((run / "metrics.json").read_text())
    got = res["results"]["humaneval_plus_rm"]
    assert m["plus"]["plain_pass@1"] == pytest.approx(got["pass@1,plain"])
    for label in ("first", "rerank-coderm", "rerank-codet"):
        assert m["rerankers"][label]["plus"]["pass@1"] == pytest.approx(got[f"pass@1,{label}"]), label
        assert m["rerankers"][label]["plus"]["ci_problems"]["B"] == 20 * 5
    assert m["unit_test_quality"]["plus"]["n_tests"] == 5 and "rm_quality" in m
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
