"""Calibration maps and cross-fitting: the fitted maps, the folds, and the case where fitting on the
judged problems would look far better than the truth."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from rerankeval.cli.main import _register, cli
from rerankeval.core.calibrate import (
    CalibrationMap,
    Candidate,
    calibration_report,
    cross_fit,
    fit,
    folds_of,
    log_loss,
)
from rerankeval.errors import InputError


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _synthetic(n_problems: int, a: float, b: float, seed: int = 0) -> list[Candidate]:
    """Labels drawn from sigmoid(a*z + b): the true map is (a, b)."""
    rng = random.Random(seed)
    out = []
    for p in range(n_problems):
        for _ in range(8):
            z = rng.gauss(0, 2)
            out.append(Candidate(f"P{p}", z, rng.random() < _sigmoid(a * z + b)))
    return out


def test_platt_recovers_the_map_that_drew_the_labels() -> None:
    cands = _synthetic(400, a=0.5, b=-1.0)
    m = fit([c.z for c in cands], [c.label for c in cands], "platt")
    assert m.a == pytest.approx(0.5, abs=0.08)
    assert m.b == pytest.approx(-1.0, abs=0.12)


def test_temperature_keeps_the_half_point_and_finds_the_temperature() -> None:
    cands = _synthetic(400, a=0.25, b=0.0)
    m = fit([c.z for c in cands], [c.label for c in cands], "temperature")
    assert m.b == 0.0
    assert m.as_dict()["temperature"] == pytest.approx(4.0, rel=0.2)
    assert m.apply(0.0) == 0.5


@pytest.mark.parametrize(
    "labels", [[False] * 6 + [True] * 2, [True, True, False, False, False, False, False, False]]
)
def test_temperature_never_turns_the_ranking_around(labels: list[bool]) -> None:
    """A verifier that says YES to everything (every logit > 0) while most candidates are wrong, or
    whose higher scores are the wrong ones: the log loss alone would pick T < 0, a map that reverses
    the ranking. Temperature scaling stops at T > 0 (every probability near 0.5); Platt may flip."""
    zs = [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6]
    m = fit(zs, labels, "temperature")
    assert m.a > 0 and m.as_dict()["temperature"] > 0
    probs = [m.apply(z) for z in zs]
    assert probs == sorted(probs) and all(abs(p - 0.5) < 0.01 for p in probs)
    unconstrained = fit(zs, labels, "platt")
    assert log_loss([unconstrained.apply(z) for z in zs], labels) < log_loss(probs, labels)


def test_the_fit_minimises_the_log_loss() -> None:
    cands = _synthetic(50, a=2.0, b=0.5, seed=3)
    zs, ys = [c.z for c in cands], [c.label for c in cands]
    m = fit(zs, ys, "platt")
    best = log_loss([m.apply(z) for z in zs], ys)
    for da, db in ((0.05, 0), (-0.05, 0), (0, 0.05), (0, -0.05)):
        other = CalibrationMap("platt", m.a + da, m.b + db)
        assert log_loss([other.apply(z) for z in zs], ys) > best


def test_separable_labels_give_finite_parameters() -> None:
    m = fit([-2.0, -1.0, 1.0, 2.0], [False, False, True, True], "platt")
    assert math.isfinite(m.a) and math.isfinite(m.b) and m.a > 0


def test_folds_are_seeded_balanced_and_cover_every_problem() -> None:
    ids = [f"P{i}" for i in range(23)]
    f1, f2 = folds_of(ids, 5, seed=1), folds_of(list(reversed(ids)), 5, seed=1)
    assert f1 == f2  # the input order does not matter
    sizes = [sum(1 for v in f1.values() if v == k) for k in range(5)]
    assert sorted(sizes) == [4, 4, 5, 5, 5]
    assert folds_of(ids, 5, seed=2) != f1
    with pytest.raises(InputError, match="cannot fill 5 folds"):
        folds_of(ids[:3], 5, seed=0)


def test_cross_fitting_never_scores_a_problem_with_a_map_that_saw_it() -> None:
    """Low-score problems: score -2 correct, -1 wrong; high-score problems: 1 wrong, 2 correct.

    Pooled, the scores say nothing: the map fitted on every problem predicts 0.5 and looks
    perfectly calibrated in sample (ECE near 0). Each half alone shows a steep relation that does
    not hold on the other half, so when the folds split the halves, every out-of-fold probability
    is confidently low while half the candidates are correct. Cross-fitting must report that, not
    the in-sample figure.
    """
    cands = [Candidate(f"lo{i}", z, y) for i in range(4) for z, y in ((-2.0, True), (-1.0, False))] + [
        Candidate(f"hi{i}", z, y) for i in range(4) for z, y in ((1.0, False), (2.0, True))
    ]
    seed = next(
        s
        for s in range(10_000)  # a shuffle that puts every low-score problem in one fold
        if len({f for p, f in folds_of([c.problem_id for c in cands], 2, s).items() if p.startswith("lo")})
        == 1
    )
    res = cross_fit(cands, "platt", n_folds=2, seed=seed)
    rep = calibration_report(cands, res, n_boot=50, seed=0)
    assert rep["in_sample"]["ece"] < 0.05  # fitting on the judged problems: looks perfect
    assert rep["after"]["ece"]["value"] > 0.4  # the truth: the fitted relation does not carry over
    fold_of = folds_of([c.problem_id for c in cands], 2, seed)
    for c, p, f in zip(cands, res.calibrated, res.fold, strict=True):
        assert f == fold_of[c.problem_id]
        assert p == pytest.approx(res.maps[f].apply(c.z))
        assert p < 0.2  # each map, fitted on the other half, is confidently wrong here


def test_calibration_lowers_ece_of_an_overconfident_scorer_out_of_fold() -> None:
    # the scorer's logit is 4x too confident and shifted: the truth is sigmoid(z/4 - 1)
    cands = _synthetic(150, a=0.25, b=-1.0, seed=5)
    rep = calibration_report(cands, cross_fit(cands, "platt", 5, 0), n_boot=200)
    assert rep["after"]["ece"]["value"] < 0.5 * rep["before"]["ece"]["value"]
    assert rep["change"]["brier"]["ci"]["high"] < 0  # the improvement's interval excludes 0


def _run_dir(tmp_path: Path, cands: list[Candidate]) -> Path:
    run = tmp_path / "run"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"status": "finished"}))
    idx: dict[str, int] = {}
    scores, gold = [], []
    for c in cands:
        i = idx[c.problem_id] = idx.get(c.problem_id, -1) + 1
        scores.append(
            {
                "problem_id": c.problem_id,
                "index": i,
                "scorer": "verifier:x",
                "score": _sigmoid(c.z),
                "prob": _sigmoid(c.z),
            }
        )
        gold.append({"problem_id": c.problem_id, "index": i, "passed": c.label})
    (run / "rm_scores.jsonl").write_text("".join(json.dumps(r) + "\n" for r in scores))
    (run / "gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in gold))
    return run


def test_cli_writes_calibrated_scores_beside_the_raw_ones_and_applies_a_saved_map(tmp_path: Path) -> None:
    _register()
    run = _run_dir(tmp_path, _synthetic(60, a=0.25, b=-1.0, seed=7))
    raw_before = (run / "rm_scores.jsonl").read_bytes()
    r = CliRunner().invoke(cli, ["calibrate", str(run), "--n-boot", "50", "--no-figures"])
    assert r.exit_code == 0, r.output
    assert "ece" in r.output and "in-sample" in r.output
    doc = json.loads((run / "calibration" / "verifier_x.platt.json").read_text())
    assert len(doc["fold_maps"]) == 5 and doc["after"]["ece"]["value"] < doc["before"]["ece"]["value"]
    rows = [json.loads(line) for line in (run / "calibration" / "verifier_x.platt.scores.jsonl").open()]
    assert len(rows) == 480 and {r["fold"] for r in rows} == set(range(5))
    assert (run / "rm_scores.jsonl").read_bytes() == raw_before
    other = _run_dir(tmp_path / "o", _synthetic(30, a=0.25, b=-1.0, seed=8))
    r = CliRunner().invoke(
        cli,
        [
            "calibrate",
            str(other),
            "--apply",
            str(run / "calibration" / "verifier_x.platt.json"),
            "--n-boot",
            "0",
        ],
    )
    assert r.exit_code == 0, r.output
    applied = json.loads((other / "calibration" / "verifier_x.platt.applied.json").read_text())
    assert applied["full_map"] == doc["full_map"] and applied["fold_maps"] == []
    assert (other / "calibration" / "verifier_x.platt.applied.after.png").is_file()


def test_cli_names_the_scorers_when_several_are_present(tmp_path: Path) -> None:
    _register()
    run = _run_dir(tmp_path, _synthetic(10, a=1, b=0))
    with (run / "rm_scores.jsonl").open("a") as f:
        f.write(json.dumps({"problem_id": "P0", "index": 0, "scorer": "rm:y", "score": 0.3}) + "\n")
    r = CliRunner().invoke(cli, ["calibrate", str(run)])
    assert r.exit_code == 1 and "2 scorers (rm:y, verifier:x)" in r.output and "--scorer" in r.output
