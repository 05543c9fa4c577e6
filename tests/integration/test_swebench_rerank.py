"""``rerankeval swebench rerank|metrics`` end to end: run directory, predictions, metrics, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rerankeval.cli.main import _register, cli

RESOLVED = {  # instance -> labels of run A's and run B's candidate (B has none for i3)
    "o__r-1": (True, False),
    "o__r-2": (False, False),
    "o__r-3": (False, True),
    "o__r-4": (True, True),
    "o__r-5": (False,),
}


def _write(tmp_path: Path) -> tuple[Path, Path, Path]:
    inst = tmp_path / "instances.jsonl"
    rows = [
        {"instance_id": i, "repo": "o/r", "problem_statement": f"issue {i}"} for i in [*RESOLVED, "o__r-6"]
    ]
    inst.write_text("".join(json.dumps(r) + "\n" for r in rows))
    files = []
    for run, pos in (("A", 0), ("B", 1)):
        rows = [
            {
                "instance_id": i,
                "model_name_or_path": f"org/{run}",
                "model_patch": f"diff {run} {i}",
                "resolved": labels[pos],
            }
            for i, labels in RESOLVED.items()
            if len(labels) > pos
        ]
        path = tmp_path / f"run{run}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        files.append(path)
    return inst, files[0], files[1]


def _oracle_args(inst: Path, a: Path, b: Path, out: Path, *extra: str) -> list[str]:
    """``swebench rerank`` of both candidate files with the oracle-labels scorer."""
    return [
        "swebench",
        "rerank",
        "--instances",
        str(inst),
        "--candidates",
        str(a),
        "--candidates",
        str(b),
        "--rm",
        "oracle-labels",
        "--out",
        str(out),
        *extra,
    ]


def _invoke(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    _register()
    res = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def test_oracle_scorer_run_writes_predictions_and_reaches_the_oracle_bounds(tmp_path: Path) -> None:
    inst, a, b = _write(tmp_path)
    out = tmp_path / "run"
    env = {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")}
    args = [
        "swebench",
        "rerank",
        "--instances",
        str(inst),
        "--candidates",
        str(a),
        "--candidates",
        str(b),
        "--rm",
        "oracle-labels",
        "--out",
        str(out),
        "--n-boot",
        "20",
        "--ks",
        "1,2",
    ]
    code, stdout, stderr = _invoke(args, env)
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} >= {
        "run.json",
        "candidates.jsonl",
        "gold.jsonl",
        "rm_scores.jsonl",
        "selections.jsonl",
        "predictions.jsonl",
        "metrics.json",
        "report",
    }
    preds = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert [p["instance_id"] for p in preds] == list(RESOLVED)
    assert {p["model_name_or_path"] for p in preds} == {"ensemble-2-models+rerank.oracle-labels"}
    assert preds[2]["model_patch"] == "diff B o__r-3" and preds[0]["model_patch"] == "diff A o__r-1"
    m = json.loads((out / "metrics.json").read_text())
    sel, q = m["selection"], m["rm_quality"]
    assert sel["rerank"]["resolved"] == sel["oracle"]["resolved"] == 3
    assert sel["rerank"]["rate_benchmark"] == pytest.approx(3 / 6) and sel["runs"]["org/A"]["resolved"] == 2
    assert q["auc"]["value"] == 1.0 and q["ece"]["value"] == 0.0
    runs = m["per_run"]
    assert (
        runs["org/A"]["n_candidates"] == 5
        and runs["org/A"]["n_resolved"] == 2
        and runs["org/B"]["auc"] == 1.0
    )
    assert runs["org/A"]["picked"] + runs["org/B"]["picked"] == 5
    assert runs["org/B"]["picked_resolved"] == 1 and runs["org/A"]["mean_prob_resolved"] == 1.0
    for row in q["rm_at_k"]:
        assert row["rm"]["value"] == pytest.approx(row["oracle"]["value"])
    # the scores' argmax and the reference points, all through the reranker registry
    assert list(sel["rerankers"]) == ["oracle-labels", "first", "random", "oracle"]
    assert sel["primary"] == "oracle-labels" and sel["rerankers"]["oracle-labels"]["pick"]["resolved"] == 3
    for name in ("first", "oracle"):
        assert sel["rerankers"][name]["pick"] == sel[name]
    assert sel["rerankers"]["random"]["expected"] == sel["random"]
    oracle_preds = [json.loads(x) for x in (out / "predictions" / "oracle.jsonl").read_text().splitlines()]
    assert [p["model_patch"] for p in oracle_preds] == [p["model_patch"] for p in preds]
    assert (out / "report" / "fig_rm_at_k.png").stat().st_size > 0
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    assert "RM@2" in stdout and "predictions:" in stdout

    code, _, stderr = _invoke(args, env)  # never overwrite silently
    assert code == 1 and "already holds a finished run" in stderr
    code, _, _ = _invoke([*args, "--resume", "--no-figures"], env)
    assert code == 0 and len((out / "rm_scores.jsonl").read_text().splitlines()) == 9


def test_metrics_relabels_a_saved_run_from_harness_reports(tmp_path: Path) -> None:
    inst, a, b = _write(tmp_path)
    out = tmp_path / "run"
    env = {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")}
    code, _, stderr = _invoke(
        _oracle_args(inst, a, b, out, "--n-boot", "0", "--no-figures"),
        env,
    )
    assert code == 0, stderr
    # reports that disagree with the resolved fields: run A resolved nothing, run B everything
    ids = list(RESOLVED)
    (tmp_path / "org__A.x.json").write_text(json.dumps({"resolved_ids": [], "unresolved_ids": ids}))
    (tmp_path / "org__B.x.json").write_text(json.dumps({"resolved_ids": ids, "unresolved_ids": []}))
    sel_report = tmp_path / "sel.x.json"
    sel_report.write_text(json.dumps({"resolved_ids": ["o__r-1"], "unresolved_ids": []}))
    code, stdout, stderr = _invoke(
        [
            "swebench",
            "metrics",
            str(out),
            "--report",
            str(tmp_path / "org__A.x.json"),
            "--report",
            str(tmp_path / "org__B.x.json"),
            "--selection-report",
            str(sel_report),
            "--n-boot",
            "0",
            "--bins",
            "5",
            "--json",
            "--no-figures",
        ],
        env,
    )
    assert code == 0, stderr
    m = json.loads(stdout)
    assert m["selection"]["runs"]["org/B"]["resolved"] == 4 and m["selection"]["oracle"]["resolved"] == 4
    # the oracle reranker reads labels and ranks again; `first` never saw them and keeps its picks (run A's)
    rerankers = m["selection"]["rerankers"]
    assert rerankers["oracle"]["pick"]["resolved"] == 4 and rerankers["first"]["pick"]["resolved"] == 0
    assert m["rm_quality"]["ece"]["n_bins"] == 5 and m["harness"][0]["resolved"] == 1
    gold = [json.loads(x) for x in (out / "gold.jsonl").read_text().splitlines()]
    assert sum(g["passed"] for g in gold) == 4


def test_a_scorer_that_needs_labels_fails_in_one_line_when_they_are_missing(tmp_path: Path) -> None:
    inst, a, _ = _write(tmp_path)
    bare = tmp_path / "bare.jsonl"
    bare.write_text(
        "".join(
            json.dumps({k: v for k, v in json.loads(x).items() if k != "resolved"}) + "\n"
            for x in a.read_text().splitlines()
        )
    )
    code, _, stderr = _invoke(
        [
            "swebench",
            "rerank",
            "--instances",
            str(inst),
            "--candidates",
            str(bare),
            "--rm",
            "oracle-labels",
            "--out",
            str(tmp_path / "r"),
        ],
        {},
    )
    assert code == 1 and stderr.startswith("error:") and len(stderr.strip().splitlines()) == 1
    assert "'oracle-labels' reads the labels" in stderr and "Label them (--report)" in stderr
    assert len(stderr.splitlines()) == 1


@pytest.mark.realdata
def test_full_swebench_lite_candidates_with_the_oracle_scorer(shared_data: Path, tmp_path: Path) -> None:
    lite = shared_data / "swebench_lite"
    out = tmp_path / "lite"
    code, _, stderr = _invoke(
        [
            "swebench",
            "rerank",
            "--instances",
            str(lite / "swe-bench-lite_test.jsonl"),
            "--candidates",
            str(lite / "lite_candidates_acr_sweagent.jsonl"),
            "--rm",
            "oracle-labels",
            "--out",
            str(out),
            "--n-boot",
            "50",
            "--no-figures",
        ],
        {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert code == 0, stderr
    m = json.loads((out / "metrics.json").read_text())
    q = m["rm_quality"]
    assert (m["n_candidates"], q["n_problems"], q["n_problems_mixed"]) == (1973, 299, 84)
    assert m["selection"]["n_instances_benchmark"] == 300 and q["auc"]["value"] == 1.0
    assert m["selection"]["rerank"]["resolved"] == m["selection"]["oracle"]["resolved"]
    assert q["rm_at_k"][-1]["rm"]["value"] == pytest.approx(q["rm_at_k"][-1]["oracle"]["value"])
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 299


@pytest.mark.docker
@pytest.mark.realdata
def test_the_real_harness_grades_a_reranked_predictions_file(shared_data: Path, tmp_path: Path) -> None:
    """Needs a Docker daemon (and network for the images): the gold patch of one instance resolves it."""
    from rerankeval_swebench import SweCandidate, read_report, run_harness, write_predictions

    lite = shared_data / "swebench_lite" / "swe-bench-lite_test.jsonl"
    row = json.loads(lite.read_text().splitlines()[0])
    gold = SweCandidate(row["instance_id"], 0, "gold", "gold", row["patch"], f"{lite}:1")
    preds = write_predictions(tmp_path / "preds.jsonl", [gold], "gold+rerank.test")
    report = run_harness(
        preds,
        "rerankeval-docker-test",
        dataset=str(lite),
        max_workers=1,
        report_dir=tmp_path,
        instance_ids=[row["instance_id"]],
    )
    assert report.name == "gold+rerank.test.rerankeval-docker-test.json"
    assert read_report(report).resolved == {row["instance_id"]}


def test_mixed_only_keeps_the_instances_whose_candidates_disagree(tmp_path: Path) -> None:
    inst, a, b = _write(tmp_path)
    out = tmp_path / "run"
    args = _oracle_args(inst, a, b, out, "--n-boot", "0", "--no-figures", "--mixed-only")
    code, _, stderr = _invoke(args, {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")})
    assert code == 0, stderr
    rows = [json.loads(x) for x in (out / "candidates.jsonl").read_text().splitlines()]
    assert sorted({r["problem_id"] for r in rows}) == ["o__r-1", "o__r-3"]
    m = json.loads((out / "metrics.json").read_text())
    assert m["rm_quality"]["n_problems_mixed"] == m["rm_quality"]["n_problems"] == 2


LAST_RERANKER = """
class LastReranker:
    name = "last"
    needs = frozenset()
    def rank(self, items):
        from rerankeval.core.rerank import Ranking
        return [Ranking(tuple(float(i) for i in range(len(it.candidates))), (len(it.candidates) - 1,))
                for it in items]

class BrokenReranker(LastReranker):
    name = "broken"
    def rank(self, items):
        raise ZeroDivisionError("a bug in the plugin")
"""


def _install_last_reranker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party distribution registering the reranker ``last`` (it picks the last candidate)."""
    site = tmp_path / "site"
    info = site / "fake_swe_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "fake_swe_plugin_mod.py").write_text(LAST_RERANKER, encoding="utf-8")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-swe-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[rerankeval.rerankers]\nlast = fake_swe_plugin_mod:LastReranker\n"
        "broken = fake_swe_plugin_mod:BrokenReranker\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("RERANKEVAL_PLUGINS", raising=False)


def test_registry_rerankers_run_on_swebench_without_a_reward_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """first / random / oracle and a third-party reranker pick patches; the first one writes
    predictions.jsonl; no candidate is scored and no reward-model metric is made up."""
    _install_last_reranker(tmp_path, monkeypatch)
    inst, a, b = _write(tmp_path)
    out = tmp_path / "run"
    args = [
        "swebench",
        "rerank",
        "--instances",
        str(inst),
        "--candidates",
        str(a),
        "--candidates",
        str(b),
        "--out",
        str(out),
        "--n-boot",
        "0",
        *[x for r in ("last", "first", "random", "oracle") for x in ("--reranker", r)],
    ]
    code, stdout, stderr = _invoke(args, {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")})
    assert code == 0, stderr
    m = json.loads((out / "metrics.json").read_text())
    sel = m["selection"]
    # labels A/B: r-1 T/F, r-2 F/F, r-3 F/T, r-4 T/T, r-5 F (A only)
    resolved = {k: v["pick"]["resolved"] for k, v in sel["rerankers"].items()}
    assert resolved == {"last": 2, "first": 2, "random": 2, "oracle": 3}  # random writes the lowest index
    assert sel["rerankers"]["random"]["expected"]["resolved"] == pytest.approx(2.0)  # uniform pick
    assert sel["rerank"] == sel["rerankers"]["last"]["pick"] and sel["primary"] == "last"
    assert m["rm_quality"] is None and m["per_run"] == {} and m["scorer"] is None
    preds = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert {p["model_name_or_path"] for p in preds} == {"ensemble-2-models+rerank.last"}
    assert [p["model_patch"] for p in preds][:3] == ["diff B o__r-1", "diff B o__r-2", "diff B o__r-3"]
    assert sorted(p.name for p in (out / "predictions").iterdir()) == [
        "first.jsonl",
        "last.jsonl",
        "oracle.jsonl",
        "random.jsonl",
    ]
    assert not (out / "rm_scores.jsonl").exists() and not (out / "report").exists()
    meta = json.loads((out / "run.json").read_text())
    assert [(r["label"], r["dist"]) for r in meta["rerankers"]][0] == ("last", "fake-swe-plugin")
    assert "last" in stdout and "predictions.jsonl holds last's" in stdout
    code, stdout, stderr = _invoke(["swebench", "metrics", str(out), "--n-boot", "0", "--json"], {})
    assert code == 0, stderr
    assert json.loads(stdout)["selection"] == sel  # recomputed from the saved rankings and labels


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--reranker", "coderm"), "reads a pass matrix of generated tests"),
        (("--reranker", "first", "--reranker", "first"), "given twice"),
    ],
)
def test_rerankers_that_cannot_run_on_swebench_are_refused_before_any_work(
    tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    inst, a, _ = _write(tmp_path)
    out = tmp_path / "run"
    args = ["swebench", "rerank", "--instances", str(inst), "--candidates", str(a), "--out", str(out), *extra]
    code, _, stderr = _invoke(args, {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")})
    assert code == 1 and message in stderr, stderr
    assert not (out / "candidates.jsonl").exists()


def test_the_oracle_is_refused_where_candidates_are_unlabelled(tmp_path: Path) -> None:
    inst, a, _ = _write(tmp_path)
    bare = tmp_path / "bare.jsonl"
    bare.write_text(
        "".join(
            json.dumps({k: v for k, v in json.loads(x).items() if k != "resolved"}) + "\n"
            for x in a.read_text().splitlines()
        )
    )
    args = [
        "swebench",
        "rerank",
        "--instances",
        str(inst),
        "--candidates",
        str(bare),
        "--out",
        str(tmp_path / "r"),
        "--reranker",
        "first",
        "--reranker",
        "oracle",
    ]
    code, _, stderr = _invoke(args, {})
    assert code == 1 and "reranker 'oracle' reads the labels" in stderr, stderr
    code, _, stderr = _invoke([*args[:-2], "--no-figures"], {"RERANKEVAL_CACHE_DIR": str(tmp_path / "c")})
    assert code == 0, stderr  # first alone needs no label: predictions for a harness to grade
    assert (tmp_path / "r" / "predictions.jsonl").is_file()


def test_a_reranker_that_fails_stops_the_run_as_a_harness_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_last_reranker(tmp_path, monkeypatch)
    inst, a, b = _write(tmp_path)
    out = tmp_path / "run"
    args = [
        *_oracle_args(inst, a, b, out),
        *("--reranker", "first", "--reranker", "rm", "--reranker", "broken", "--no-figures"),
    ]
    code, _, stderr = _invoke(args, {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")})
    assert code != 0 and "reranker 'broken' failed: ZeroDivisionError" in stderr, stderr
    assert not (out / "metrics.json").exists() and not (out / "predictions.jsonl").exists()
    assert len((out / "rm_scores.jsonl").read_text().splitlines()) == 9  # kept for --resume


def test_a_committed_run_recomputes_from_its_candidates_files(tmp_path: Path) -> None:
    """A committed run keeps scores and selections but not the data's patches and labels:
    ``swebench metrics --candidates`` rebuilds them (the run's own --mixed-only selection) and
    recomputes the same numbers; other candidates are refused by name."""
    inst, a, b = _write(tmp_path)
    out = tmp_path / "run"
    env = {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")}
    code, _, stderr = _invoke(
        _oracle_args(inst, a, b, out, "--mixed-only", "--n-boot", "50", "--no-figures"), env
    )
    assert code == 0, stderr
    before = json.loads((out / "metrics.json").read_text())
    for name in ("candidates.jsonl", "gold.jsonl", "rm_scores.jsonl"):  # what a committed oracle run lacks
        (out / name).unlink()
    args = ["swebench", "metrics", str(out), "--n-boot", "50", "--json", "--no-figures"]
    code, stdout, stderr = _invoke([*args, "--candidates", str(a), "--candidates", str(b)], env)
    assert code == 0, stderr
    after = json.loads(stdout)
    assert after["rm_quality"] == before["rm_quality"] and after["selection"] == before["selection"]
    assert len((out / "gold.jsonl").read_text().splitlines()) == 4  # o__r-1 and o__r-3, two each
    code, _, stderr = _invoke([*args, "--candidates", str(a)], env)  # run B's candidates missing
    assert code != 0 and "not the candidates" in stderr


@pytest.mark.realdata
@pytest.mark.parametrize(
    "run", ["oracle-labels", "tiny-verifier-vllm", "tiny-head-vllm", "qwen2.5-coder-1.5b-verifier"]
)
def test_the_committed_reference_runs_reproduce_from_their_scores(
    shared_data: Path, tmp_path: Path, run: str
) -> None:
    import shutil

    committed = Path(__file__).resolve().parents[2] / "results" / "reference" / "swebench_lite" / run
    out = tmp_path / run
    shutil.copytree(committed, out)
    env = {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")}
    cands = shared_data / "swebench_lite" / "lite_candidates_acr_sweagent.jsonl"
    code, stdout, stderr = _invoke(
        ["swebench", "metrics", str(out), "--candidates", str(cands), "--json", "--no-figures"], env
    )
    assert code == 0, stderr
    new, old = json.loads(stdout), json.loads((committed / "metrics.json").read_text())
    for key in ("auc", "ece", "accuracy", "brier", "rm_at_k"):
        assert new["rm_quality"].get(key) == old["rm_quality"].get(key), key
    for key in ("first", "random", "oracle", "rerank", "runs"):
        assert new["selection"][key] == old["selection"][key], key
    if "per_run" in old:  # runs committed before the per-agent breakdown existed have none
        assert new["per_run"] == old["per_run"]
    fitted = (
        sorted((committed / "calibration").glob("*.json")) if (committed / "calibration").is_dir() else []
    )
    for path in fitted:  # the calibration figures reproduce from the restored run too
        saved = json.loads(path.read_text())
        code, stdout, stderr = _invoke(
            ["calibrate", str(out), "--method", saved["method"], "--out", str(tmp_path / "cal"), "--json"],
            env,
        )
        assert code == 0, stderr
        again = json.loads(stdout)
        for key in ("fold_maps", "full_map", "before", "after", "change", "in_sample", "n_candidates"):
            assert again[key] == saved[key], (path.name, key)


@pytest.mark.realdata
def test_a_committed_run_resumes_through_the_engine_loop_and_reproduces(
    shared_data: Path, tmp_path: Path
) -> None:
    """The real verifier's run, written before SWE-bench ran through the engine loop (scores keyed
    by the scorer's spec, no fingerprint): ``swebench rerank --resume`` scores nothing, ranks again
    and gives the committed numbers; other inputs are refused."""
    import shutil

    committed = Path(__file__).resolve().parents[2] / "results" / "reference" / "swebench_lite"
    out = tmp_path / "run"
    shutil.copytree(committed / "qwen2.5-coder-1.5b-verifier", out)
    lite = shared_data / "swebench_lite"
    args = [
        *("swebench", "rerank", "--instances", str(lite / "swe-bench-lite_test.jsonl")),
        *("--candidates", str(lite / "lite_candidates_acr_sweagent.jsonl")),
        *("--rm", "verifier:vllm:qwen2.5-coder-1.5b", "-R", "max_length=4096", "-R", "batch_size=8"),
        *("--out", str(out), "--resume", "--no-figures"),
    ]
    env = {"RERANKEVAL_CACHE_DIR": str(tmp_path / "cache")}
    code, _, stderr = _invoke(args, env)  # the run's --mixed-only is missing
    assert code == 1 and "cannot resume, the inputs differ from the run's (mixed_only)" in stderr
    code, stdout, stderr = _invoke([*args, "--mixed-only"], env)
    assert code == 0, stderr
    new = json.loads((out / "metrics.json").read_text())
    old = json.loads((committed / "qwen2.5-coder-1.5b-verifier" / "metrics.json").read_text())
    assert new["selection"] == old["selection"] and new["per_run"] == old["per_run"]
    for key in ("auc", "auc_within", "ece", "accuracy", "brier", "rm_at_k", "reliability"):
        assert new["rm_quality"][key] == old["rm_quality"][key], key
    assert new["n_truncated"] == old["n_truncated"] == 7
    assert "589 scored by verifier:vllm:qwen2.5-coder-1.5b" in stdout
    assert len((out / "rm_scores.jsonl").read_text().splitlines()) == 589  # nothing scored again
