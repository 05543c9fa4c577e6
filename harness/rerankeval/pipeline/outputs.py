"""Files of a run directory other than run.json and metrics.json (see :mod:`rerankeval.runs`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rerankeval.core.rerank import PassMatrix, Ranking
from rerankeval.core.types import Candidate
from rerankeval.pipeline.config import RerankerChoice
from rerankeval.pipeline.evaluate import Draw
from rerankeval.pipeline.inputs import TestCase
from rerankeval.runs import JsonlAppender


def _rewrite(path: Path) -> JsonlAppender:
    path.unlink(missing_ok=True)
    return JsonlAppender(path, sync_every=10_000)


def write_candidates(
    out: Path,
    groups: Mapping[str, Sequence[Candidate]],
    record: Callable[[Candidate], Mapping[str, Any]] | None = None,
) -> None:
    """candidates.jsonl: one row per candidate (problem_id, index, sha, code, then the fields the
    benchmark adapter's ``record`` adds)."""
    with _rewrite(out / "candidates.jsonl") as app:
        for pid, cands in groups.items():
            for c in cands:
                row = {"problem_id": pid, "index": c.index, "sha": c.sha, "code": c.code}
                app.write({**row, **(record(c) if record is not None else {})})


def write_tests(
    out: Path, groups: Mapping[str, Sequence[Candidate]], tests: Mapping[str, Sequence[TestCase]]
) -> None:
    """tests.jsonl: the generated tests of the run's problems, one row per matrix column."""
    with _rewrite(out / "tests.jsonl") as app:
        for pid in groups:
            for t in tests.get(pid, ()):
                app.write({"problem_id": pid, "test_id": t.test_id, "test": t.source})


def write_selections(
    out: Path,
    choice: RerankerChoice,
    draws: Sequence[Draw],
    rankings: Sequence[Mapping[str, list[Ranking]]],
    groups: Mapping[str, Sequence[Candidate]],
    *,
    selected: bool = True,
) -> None:
    """Appends the reranker's rows to selections.jsonl and writes selected/<reranker>.jsonl
    (unless not ``selected``).

    ``chosen`` and ``pick`` are candidate indexes (sampling order within the task). Scores are
    kept for draw 0 only. The selected file is an EvalPlus samples file with draw 0's pick per
    task (for a reranker that reads ground truth, the pick under the first view).
    """
    pids = list(groups)
    with JsonlAppender(out / "selections.jsonl", sync_every=10_000) as app:
        for d, rk in zip(draws, rankings, strict=True):
            views = list(rk)
            for p, pid in enumerate(pids):
                idx = [groups[pid][i].index for i in d.kept[p]]
                r = rk[views[0]][p]
                row = _row(choice.label, pid, d.index, idx, d.items[p].matrix, r)
                for v in views:
                    key = "expected_acc" if v == views[0] else f"expected_acc_{v}"
                    row[key] = rk[v][p].expected_accuracy(d.golds[v][p])
                if d.index == 0:
                    row["scores"] = list(r.scores)
                app.write(row)
    if not selected:
        return
    sel_dir = out / "selected"
    sel_dir.mkdir(exist_ok=True)
    first = rankings[0][next(iter(rankings[0]))]
    with _rewrite(sel_dir / f"{choice.file_stem}.jsonl") as app:
        for p, pid in enumerate(pids):
            if first[p].chosen:
                c = groups[pid][draws[0].kept[p][first[p].pick]]
                app.write({"task_id": pid, "solution": c.code, "index": c.index})


def write_rankings(
    out: Path,
    choice: RerankerChoice,
    pids: Sequence[str],
    rankings: Sequence[Ranking],
    groups: Mapping[str, Sequence[Candidate]],
    matrices: Mapping[str, PassMatrix],
) -> None:
    """Appends the reranker's rows of problems without labels to selections.jsonl (as
    :func:`write_selections` writes them, with ``expected_acc`` None)."""
    with JsonlAppender(out / "selections.jsonl", sync_every=10_000) as app:
        for pid, r in zip(pids, rankings, strict=True):
            idx = [c.index for c in groups[pid]]
            row = _row(choice.label, pid, 0, idx, matrices.get(pid), r)
            app.write({**row, "expected_acc": None, "scores": list(r.scores)})


def _row(
    label: str, pid: str, draw: int, idx: Sequence[int], matrix: PassMatrix | None, r: Ranking
) -> dict[str, Any]:
    """The fields every selections.jsonl row has (``idx``: the candidate index of each ranked position)."""
    return {
        "problem_id": pid,
        "reranker": label,
        "draw": draw,
        "n_samples": len(idx),
        "n_tests": len(matrix.test_ids) if matrix is not None else 0,
        "chosen": [idx[i] for i in r.chosen],
        "pick": idx[r.pick] if r.chosen else None,
    }
