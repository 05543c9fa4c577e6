"""The Qwen2.5-Coder reference runs (results/reference/qwen2.5-coder/humaneval/first40, all, and
first40-unittest for the test-style comparison; mbpp/first200) reproduce from their committed files
with one `rerankeval rerank` command and no model: the verifier's scores come from the committed
rm_scores.jsonl, and the committed ground truth and pass-matrix rows are checked by running a few
problems again in the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rerankeval.cli.main import _register, cli

REF = (
    Path(__file__).resolve().parents[2] / "results" / "reference" / "qwen2.5-coder" / "humaneval" / "first40"
)
RERANKERS = (
    "first",
    "random",
    "coderm",
    "codet",
    "mbr-exec",
    "rm",
    "hybrid",
    "hybrid:mode=tiebreak",
    "oracle",
)

#: the rerankers of the test-style run (humaneval/first40-unittest: first40's samples, unittest tests)
TEST_RERANKERS = ("first", "random", "coderm", "codet", "mbr-exec", "oracle")

#: codet's pass@1 on all 164 problems, and on the first 40 with unittest tests (the runs' table.md)
CODET_ALL = 0.621
CODET_UNITTEST = 0.871
#: on the first 200 MBPP+ problems (mbpp/first200/table.md), filled in when that run is finished
CODET_MBPP = float("nan")

#: each dataset's file under ../shared/data
DATASET_FILES = {
    "humaneval": "humanevalplus/HumanEvalPlus.jsonl.gz",
    "mbpp": "mbppplus/MbppPlus.jsonl.gz",
}

pytestmark = pytest.mark.realdata


def _rerank(
    shared_data: Path,
    samples: Path,
    tests: Path,
    out: Path,
    *extra: str,
    rerankers: tuple[str, ...] = RERANKERS,
    dataset: str = "humaneval",
) -> dict:
    _register()
    args = [
        *("rerank", "--dataset", dataset),
        *("--dataset-path", str(shared_data / DATASET_FILES[dataset])),
        *("--samples", str(samples), "--tests", str(tests), "--test-details"),
        *(x for r in rerankers for x in ("--reranker", r)),
        *(("--rm", "verifier:vllm:qwen2.5-coder-1.5b") if "rm" in rerankers else ()),
        *("--bootstrap", "1000", "--out", str(out), *extra),
    ]
    res = CliRunner().invoke(cli, args, env={"RERANKEVAL_CACHE_DIR": str(out.parent / "cache")})
    assert res.exit_code == 0, res.output
    return json.loads((out / "metrics.json").read_text())


def _rows(path: Path, pids: set[str]) -> dict:
    rows = (json.loads(x) for x in path.read_text().splitlines())
    return {(r["problem_id"], r["index"]): r for r in rows if r["problem_id"] in pids}


@pytest.mark.parametrize(
    ("dataset", "subset", "samples_from", "rerankers", "codet"),
    [
        ("humaneval", "first40", "first40", RERANKERS, 0.806),
        ("humaneval", "all", "all", RERANKERS, CODET_ALL),
        ("humaneval", "first40-unittest", "first40", TEST_RERANKERS, CODET_UNITTEST),
        ("mbpp", "first200", "first200", RERANKERS, CODET_MBPP),
    ],
)
def test_the_committed_tables_reproduce_without_a_model(
    shared_data: Path,
    tmp_path: Path,
    dataset: str,
    subset: str,
    samples_from: str,
    rerankers: tuple[str, ...],
    codet: float,
) -> None:
    ref = REF.parents[1] / dataset / subset
    if not (ref / "metrics.json").exists():
        pytest.skip(f"{dataset}/{subset}/ is not finished")
    out = tmp_path / "run"
    out.mkdir()
    rows = ["gold.jsonl", "matrix.jsonl"] + (["rm_scores.jsonl"] if "rm" in rerankers else [])
    for name in ("run.json", "canonical.jsonl", *rows):
        shutil.copy(ref / name, out / name)
    samples = ref.parent / samples_from / "samples.jsonl"
    new = _rerank(
        shared_data, samples, ref / "tests.jsonl", out, "--resume", rerankers=rerankers, dataset=dataset
    )
    old = json.loads((ref / "metrics.json").read_text())
    for key in ("plus", "base", "rerankers", "unit_test_quality", "rm_quality", "n_tests"):
        assert new[key] == old[key], key
    assert new["rerankers"]["codet"]["plus"]["pass@1"] == pytest.approx(codet, abs=5e-4)
    # nothing was scored or executed again: every row came from the committed files
    for name in rows:
        assert (out / name).read_text().count("\n") == (ref / name).read_text().count("\n"), name


def test_its_ground_truth_and_pass_matrix_rows_are_what_the_sandbox_gives(
    shared_data: Path, tmp_path: Path
) -> None:
    pids = {
        "HumanEval/1",
        "HumanEval/26",
    }  # a problem the tests rescue, one where they mislead every reranker
    samples, tests = tmp_path / "samples.jsonl", tmp_path / "tests.jsonl"
    for src, dst, key in (
        (REF / "samples.jsonl", samples, "task_id"),
        (REF / "tests.jsonl", tests, "task_id"),
    ):
        dst.write_text("".join(x + "\n" for x in src.read_text().splitlines() if json.loads(x)[key] in pids))
    out = tmp_path / "run"
    _rerank(shared_data, samples, tests, out, rerankers=("coderm",))  # no model: the rows only
    for name in ("gold.jsonl", "matrix.jsonl", "canonical.jsonl"):
        mine, theirs = _rows(out / name, pids), _rows(REF / name, pids)
        assert mine.keys() == theirs.keys() and mine, name
        for key, row in theirs.items():
            fields = (
                ("passed", "base_passed", "plus_frac", "base_frac") if name == "gold.jsonl" else ("tests",)
            )
            assert {f: mine[key][f] for f in fields} == {f: row[f] for f in fields}, (name, key)


def test_the_full_run_grows_from_the_first40_files() -> None:
    """humaneval/all/ started from first40's files: its rows of those 40 problems are theirs, unchanged, and
    no problem appears twice (a resumed run appends only the problems it had not generated)."""
    full = REF.parent / "all"
    if not full.is_dir():
        pytest.skip("humaneval/all/ is not started")
    for name in ("samples.jsonl", "samples.generations.jsonl", "tests.jsonl", "tests.generations.jsonl"):
        if not (full / name).exists():
            continue
        first = (REF / name).read_text().splitlines()
        rows = (full / name).read_text().splitlines()
        assert rows[: len(first)] == first, name
        if name.endswith("generations.jsonl"):
            ids = [json.loads(x)["task_id"] for x in rows]
            assert len(ids) == len(set(ids)), name
    # the same samples, inputs and tests give the same ground truth and pass-matrix rows
    pids = {json.loads(x)["task_id"] for x in (REF / "samples.generations.jsonl").read_text().splitlines()}
    for name, fields in (
        ("gold.jsonl", ("passed", "base_passed", "plus_frac")),
        ("matrix.jsonl", ("tests",)),
    ):
        if not (full / name).exists():
            continue
        mine, theirs = _rows(full / name, pids), _rows(REF / name, pids)
        assert mine.keys() == theirs.keys() and len(mine) == 40 * 16, name
        for key, row in theirs.items():
            assert {f: mine[key][f] for f in fields} == {f: row[f] for f in fields}, (name, key)


def test_the_mbpp_samples_were_generated_once_each_with_one_setting() -> None:
    """mbpp/first200/'s samples came from two invocations (a stop after 4 problems, then a resume): every
    problem is there once, in dataset order, with its 16 samples, and every row has the same settings."""
    folder = REF.parents[1] / "mbpp" / "first200"
    if not (folder / "samples.generations.jsonl").exists():
        pytest.skip("mbpp/first200/ is not started")
    gens = [json.loads(x) for x in (folder / "samples.generations.jsonl").read_text().splitlines()]
    ids = [g["task_id"] for g in gens]
    assert len(ids) == len(set(ids))
    assert sorted(ids, key=lambda t: int(t.split("/")[1])) == ids
    keys = ("model_sha256", "n", "temperature", "top_p", "seed", "max_tokens")
    settings = {tuple(g[k] for k in keys) for g in gens}
    assert len(settings) == 1 and next(iter(settings))[1:] == (16, 0.8, 0.95, 0, 512)
    samples = [json.loads(x)["task_id"] for x in (folder / "samples.jsonl").read_text().splitlines()]
    assert samples == [t for t in ids for _ in range(16)]


def test_the_mbpp_tests_so_far_are_one_run_with_one_setting() -> None:
    """mbpp/first200/'s unittest classes grow across stopped and resumed runs: the problems done are a
    prefix of the samples' problems, each once, all with one setting (1,024-token cap), and tests.jsonl
    holds exactly the classes each generation row counts (no batch half-written)."""
    folder = REF.parents[1] / "mbpp" / "first200"
    if not (folder / "tests.generations.jsonl").exists():
        pytest.skip("mbpp/first200/'s tests are not started")
    gens = [json.loads(x) for x in (folder / "tests.generations.jsonl").read_text().splitlines()]
    ids = [g["task_id"] for g in gens]
    rows = (folder / "samples.generations.jsonl").read_text().splitlines()
    samples = [json.loads(x)["task_id"] for x in rows]
    assert ids == samples[: len(ids)]
    keys = ("generator", "style", "n", "temperature", "top_p", "max_tokens", "seed")
    settings = {tuple(g[k] for k in keys) for g in gens}
    assert settings == {("vllm:qwen2.5-coder-1.5b", "unittest", 10, 0.8, 0.95, 1024, 0)}
    per_task: dict[str, int] = {}
    for line in (folder / "tests.jsonl").read_text().splitlines():
        t = json.loads(line)["task_id"]
        per_task[t] = per_task.get(t, 0) + 1
    assert per_task == {g["task_id"]: g["n_tests"] for g in gens if g["n_tests"]}
