"""SWE-bench plugin I/O: candidates from several files, labels from fields or harness reports,
the predictions file, harness detection and the prompt inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rerankeval.errors import InputError
from rerankeval_swebench import (
    PATCH_TEMPLATE,
    HarnessUnavailableError,
    docker_problem,
    labels_from_field,
    labels_from_reports,
    read_candidates,
    read_instances,
    reranked_model_name,
    run_harness,
    write_predictions,
)
from rerankeval_swebench.harness import default_base_name
from rerankeval_swebench.labels import report_model


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _report(path: Path, resolved: list[str], unresolved: list[str], **extra: list[str]) -> Path:
    path.write_text(json.dumps({"resolved_ids": resolved, "unresolved_ids": unresolved, **extra}))
    return path


def test_candidates_from_several_files_are_indexed_per_instance_in_reading_order(tmp_path: Path) -> None:
    a = _jsonl(
        tmp_path / "runA.jsonl",
        [
            {
                "instance_id": "x__y-1",
                "model_name_or_path": "org/a",
                "model_patch": "diff a1",
                "resolved": True,
            },
            {"instance_id": "x__y-2", "model_name_or_path": "org/a", "model_patch": None},
        ],
    )
    b = tmp_path / "runB.json"
    b.write_text(
        json.dumps(
            {
                "x__y-1": {
                    "model_name_or_path": "b",
                    "model_patch": "diff b1",
                    "trajectory": [{"role": "assistant", "content": "ls"}],
                }
            }
        )
    )
    c = read_candidates([a, b])
    assert [(x.instance_id, x.index, x.run) for x in c] == [
        ("x__y-1", 0, "org/a"),
        ("x__y-2", 0, "org/a"),
        ("x__y-1", 1, "b"),
    ]
    assert c[1].model_patch == "" and c[0].resolved is True and c[2].resolved is None
    assert c[0].source == f"{a}:1" and "[assistant]\nls" in (c[2].trajectory or "")


def test_bad_candidate_rows_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instance_id": "a", "model_patch": "d"}\n\n{"model_patch": "d"}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:3: row lacks instance_id"):
        read_candidates([bad])
    with pytest.raises(InputError, match="not found"):
        read_candidates([tmp_path / "missing.jsonl"])


def test_instances_need_a_problem_statement(tmp_path: Path) -> None:
    ok = _jsonl(tmp_path / "i.jsonl", [{"instance_id": "a", "repo": "o/r", "problem_statement": "bug"}])
    assert read_instances(ok)["a"].repo == "o/r"
    bad = _jsonl(tmp_path / "j.jsonl", [{"instance_id": "a"}])
    with pytest.raises(InputError, match="j.jsonl:1"):
        read_instances(bad)


def test_labels_come_from_resolved_fields_or_from_reports_by_model_name(tmp_path: Path) -> None:
    cands = read_candidates(
        [
            _jsonl(
                tmp_path / "c.jsonl",
                [
                    {"instance_id": i, "model_name_or_path": m, "model_patch": "d"}
                    for m in ("org/gpt-4", "org/gpt-4.1")
                    for i in ("a", "b", "c")
                ],
            )
        ]
    )
    r1 = _report(tmp_path / "org__gpt-4.run1.json", ["a"], ["b"], error_ids=["c"])
    r2 = _report(tmp_path / "org__gpt-4.1.run1.json", ["b"], ["a"], incomplete_ids=["c"])
    labels = labels_from_reports(cands, [r1, r2])
    assert labels == {("a", 0): True, ("b", 0): False, ("c", 0): False, ("a", 1): False, ("b", 1): True}
    assert report_model(r2, ["org/gpt-4", "org/gpt-4.1"]) == "org/gpt-4.1"  # the longest name wins
    explicit = labels_from_reports(cands, [f"org/gpt-4={r2}"])
    assert explicit[("b", 0)] is True
    assert labels_from_field(cands) == {}


def test_reports_that_cannot_label_candidates_are_refused(tmp_path: Path) -> None:
    cands = read_candidates(
        [
            _jsonl(
                tmp_path / "c.jsonl",
                [
                    {"instance_id": "a", "model_name_or_path": "m", "model_patch": "d1"},
                    {"instance_id": "a", "model_name_or_path": "m", "model_patch": "d2"},
                ],
            )
        ]
    )
    with pytest.raises(InputError, match="several candidates for a"):
        labels_from_reports(cands, [_report(tmp_path / "m.r.json", ["a"], [])])
    with pytest.raises(InputError, match="matches none of the candidate models"):
        labels_from_reports(cands, [_report(tmp_path / "other.r.json", ["a"], [])])
    (tmp_path / "m.x.json").write_text("[]")
    with pytest.raises(InputError, match="no resolved_ids"):
        labels_from_reports(cands[:1], [tmp_path / "m.x.json"])


def test_predictions_file_has_one_row_per_instance_with_the_reranked_model_name(tmp_path: Path) -> None:
    cands = read_candidates(
        [
            _jsonl(
                tmp_path / "c.jsonl",
                [
                    {"instance_id": "a", "model_name_or_path": "org/m", "model_patch": "diff --git a"},
                    {"instance_id": "b", "model_name_or_path": "org/m", "model_patch": ""},
                ],
            )
        ]
    )
    name = reranked_model_name(default_base_name(cands), "verifier:vllm/SWE RM")
    assert name == "org/m+rerank.verifier-vllm-SWE-RM"
    path = write_predictions(tmp_path / "p" / "preds.jsonl", cands, name)
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert rows == [
        {"instance_id": "a", "model_name_or_path": name, "model_patch": "diff --git a"},
        {"instance_id": "b", "model_name_or_path": name, "model_patch": ""},
    ]
    with pytest.raises(ValueError, match="several picks"):
        write_predictions(tmp_path / "q.jsonl", [cands[0], cands[0]], name)


def test_without_docker_the_harness_refuses_with_a_clear_message(tmp_path: Path) -> None:
    if docker_problem() is None:
        pytest.skip("a Docker daemon answers here; the refusal cannot be observed")
    with pytest.raises(HarnessUnavailableError, match="needs a running Docker daemon.*known labels"):
        run_harness(tmp_path / "preds.jsonl", "r1")


def test_prompt_inputs_carry_issue_and_patch_and_need_a_trajectory_for_that_template(tmp_path: Path) -> None:
    from rerankeval.core.rerank import RerankItem
    from rerankeval.rerankers.reward_model import RewardModelReranker
    from rerankeval_swebench.benchmark import SweBenchmark
    from rerankeval_swebench.pipeline import RerankConfig, run_rerank

    inst_path = _jsonl(
        tmp_path / "i.jsonl", [{"instance_id": "a", "repo": "o/r", "problem_statement": "crash"}]
    )
    cand_path = _jsonl(tmp_path / "c.jsonl", [{"instance_id": "a", "model_patch": "diff", "resolved": True}])
    instances, cands = read_instances(inst_path), read_candidates([cand_path])
    bench = SweBenchmark(instances, {"a": cands}, {("a", 0): True})
    (c,) = bench.candidates()
    item = RerankItem("a", bench.problems["a"].prompt, (c,), gold=(True,), fields=(bench.score_fields(c),))
    (x,) = RewardModelReranker(template="swebench-patch").inputs(item)
    assert x.mapping == {"repo": "o/r", "problem": "crash", "candidate": "diff"} and x.label is True
    text = PATCH_TEMPLATE.verifier.render({**x.mapping, "yes": "YES", "no": "NO"})[0]["content"]
    assert "<issue>\ncrash\n</issue>" in text and "<patch>\ndiff\n</patch>" in text
    assert text.endswith("YES or NO.")
    cfg = RerankConfig(inst_path, (cand_path,), "oracle-labels", tmp_path / "run", template="trajectory")
    with pytest.raises(InputError, match="the trajectory template needs a 'trajectory' field"):
        run_rerank(cfg)
    assert not (tmp_path / "run").exists()  # refused before any work
