"""What the view site shows, as plain JSON-ready dicts built from a saved run (no execution).

One *overview* per run (its table, unit-test quality, and one row per problem for the sortable
problem list) and one *problem page* per problem (candidates grouped by pass pattern, ground
truth, generated tests with their verdict against the canonical solution, the pass matrix and
each reranker's pick). Everything is read from the run directory through
:func:`rerankeval.report.load_run`; the benchmark's prompts and inputs come from the host, when
given, through :class:`ProblemInfo`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rerankeval.core.rerank import PassMatrix
from rerankeval.core.select import binary_rows, codet_select
from rerankeval.pipeline.table import HEADER, budget_line, summary_rows, views_of
from rerankeval.runs import read_jsonl

if TYPE_CHECKING:
    from rerankeval.report.frames import RunFrames

#: Longest text shown for one failing benchmark input (the rest is cut, and says so).
MAX_INPUT_CHARS = 600


@dataclass(frozen=True)
class ProblemInfo:
    """What the benchmark (not the run) knows about a problem.

    Attributes:
        prompt: The problem statement shown to the policy.
        entry_point: The function the benchmark calls.
        reference: The canonical solution, as a full program ("" when unknown).
        inputs: Benchmark inputs per ground-truth view (``base``, ``plus``): argument lists.
    """

    prompt: str
    entry_point: str = ""
    reference: str = ""
    inputs: Mapping[str, Sequence[Any]] = field(default_factory=dict)


def clean(obj: Any) -> Any:
    """``obj`` with NaN and infinities replaced by None (JSON has no NaN), numpy scalars as Python."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return clean(obj.item())
    return obj


def call_text(entry_point: str, args: Any) -> str:
    """A benchmark input as a call, ``f(1, [2, 3])``, cut to :data:`MAX_INPUT_CHARS`."""
    if isinstance(args, list | tuple):
        text = f"{entry_point or 'f'}({', '.join(repr(a) for a in args)})"
    else:
        text = f"{entry_point or 'f'}({args!r})"
    if len(text) > MAX_INPUT_CHARS:
        text = text[:MAX_INPUT_CHARS] + f"... ({len(text) - MAX_INPUT_CHARS} more characters)"
    return text


def _by_problem(frame: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    if frame is None or frame.empty:
        return out
    for row in frame.to_dict("records"):
        out.setdefault(str(row["problem_id"]), []).append(row)
    return out


@dataclass(frozen=True)
class RunTables:
    """A run's rows grouped by problem once, so that each problem page is a cheap lookup."""

    frames: RunFrames
    gold: dict[str, list[dict[str, Any]]]
    candidates: dict[str, list[dict[str, Any]]]
    selections: dict[str, dict[str, dict[str, Any]]]
    rm_scores: dict[str, dict[str, dict[int, float]]]
    tests: dict[str, list[str]]
    canonical: dict[str, str]
    rerankers: list[str]

    @classmethod
    def of(cls, frames: RunFrames) -> RunTables:
        """Groups ``frames`` by problem; reads canonical.jsonl (the canonical solution's row)."""
        selections: dict[str, dict[str, dict[str, Any]]] = {}
        order: dict[str, None] = {}
        for pid, rows in _by_problem(frames.selections).items():
            for r in rows:
                draw = r.get("draw", 0)
                if draw is None or (isinstance(draw, float) and math.isnan(draw)) or int(draw) == 0:
                    selections.setdefault(pid, {}).setdefault(str(r["reranker"]), r)
                    order.setdefault(str(r["reranker"]), None)
        labels = list(frames.metrics.get("rerankers", {})) or list(order)
        rm: dict[str, dict[str, dict[int, float]]] = {}
        for pid, rows in _by_problem(frames.rm_scores).items():
            for r in rows:
                scorer = str(r.get("scorer", "rm"))
                rm.setdefault(pid, {}).setdefault(scorer, {})[int(r["index"])] = r["score"]
        tests: dict[str, list[str]] = {}
        for pid, rows in _by_problem(frames.tests).items():
            tests[pid] = [str(r.get("test", r.get("source", ""))) for r in rows]
        canonical = {
            str(r["problem_id"]): str(r["tests"])
            for r in read_jsonl(frames.path / "canonical.jsonl", missing_ok=True)
            if "problem_id" in r and isinstance(r.get("tests"), str)
        }
        return cls(
            frames=frames,
            gold={p: sorted(g, key=lambda r: int(r["index"])) for p, g in _by_problem(frames.gold).items()},
            candidates=_by_problem(frames.candidates),
            selections=selections,
            rm_scores=rm,
            tests=tests,
            canonical=canonical,
            rerankers=labels,
        )


def _pct(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _ci(block: Any) -> list[float] | None:
    if not isinstance(block, Mapping) or block.get("low") is None:
        return None
    return [float(block["low"]), float(block["high"])]


def _chart(metrics: Mapping[str, Any], view: str) -> list[dict[str, Any]]:
    """pass@1 per method with its 95% CI over problems (the overview's bar chart)."""
    if view not in metrics:
        return []
    bars: list[dict[str, Any]] = [
        {"label": "plain", "value": _pct(metrics[view].get("plain_pass@1")), "ci": None}
    ]
    for label, res in metrics.get("rerankers", {}).items():
        r = res.get(view, {})
        bars.append({"label": label, "value": _pct(r.get("pass@1")), "ci": _ci(r.get("ci_problems"))})
    bars.append({"label": "oracle@N", "value": _pct(metrics[view].get("oracle_pass@n")), "ci": None})
    return bars


def _tables(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for view in views_of(metrics):
        if view in metrics and "rerankers" in metrics:
            title = str(metrics.get("views", {}).get(view, view))
            out.append({"view": view, "title": title, "header": HEADER, "rows": summary_rows(metrics, view)})
    return out


def _quality(metrics: Mapping[str, Any]) -> str | None:
    q = metrics.get("unit_test_quality", {}).get(views_of(metrics)[0])
    if not q:
        return None
    return (
        f"generated tests: {100 * q['test_accuracy']:.2f}% correct (the canonical solution passes them; "
        f"mean over problems), FAR {100 * q['FAR']:.2f}%, FRR {100 * q['FRR']:.2f}%"
    )


def overview(tables: RunTables, files: Mapping[str, str]) -> dict[str, Any]:
    """The run's overview: labels, tables, chart data and one row per problem.

    Args:
        tables: The run, grouped by problem.
        files: problem_id -> the stem of its data file (``p0000``).
    """
    fr = tables.frames
    m = fr.metrics
    problems = []
    for pid, rows in tables.gold.items():
        n = len(rows)
        correct = sum(bool(r["passed"]) for r in rows)
        sel = tables.selections.get(pid, {})
        problems.append(
            {
                "id": pid,
                "file": files[pid],
                "n": n,
                "correct": correct,
                "plain": correct / n if n else 0.0,
                "tests": len(fr.matrices[pid].test_ids) if pid in fr.matrices else 0,
                "acc": {label: _pct(s.get("expected_acc")) for label, s in sel.items()},
            }
        )
    meta = fr.meta
    return clean(
        {
            "path": str(fr.path),
            "policy": fr.policy,
            "test_generator": fr.test_generator,
            "dataset": fr.dataset,
            "status": meta.get("status", "unknown"),
            "started": meta.get("started"),
            "n_problems": len(problems),
            "n_candidates": int(len(fr.gold)),
            "subsampled": bool(m.get("num_samples") or m.get("num_tests")),
            "draws": m.get("draws", 1),
            "budget": budget_line(m) if m else None,
            "tables": _tables(m) if m else [],
            "chart": _chart(m, views_of(m)[0]) if m else [],
            "quality": _quality(m) if m else None,
            "rerankers": tables.rerankers,
            "problems": problems,
        }
    )


def _clusters(matrix: PassMatrix | None, n: int) -> tuple[list[int], list[dict[str, Any]]]:
    """CodeT's agreement clusters: candidates grouped by the exact set of tests they pass."""
    if matrix is None or not matrix.test_ids:
        return [0] * n, [{"members": list(range(n)), "passed": 0, "codet": 0.0, "pattern": ""}]
    patterns = binary_rows(matrix.rows)
    scores = codet_select(matrix.rows).scores
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(patterns):
        groups.setdefault(p, []).append(i)
    ordered = sorted(
        groups.items(), key=lambda kv: (-scores[kv[1][0]], -kv[0].count("p"), -len(kv[1]), kv[1][0])
    )
    of = [0] * n
    out = []
    for k, (pattern, members) in enumerate(ordered):
        for i in members:
            of[i] = k
        out.append(
            {
                "members": members,
                "passed": pattern.count("p"),
                "codet": scores[members[0]],
                "pattern": pattern,
            }
        )
    return of, out


def _fail_text(row: Mapping[str, Any], view: str, info: ProblemInfo | None) -> str | None:
    at = row.get(f"{view}_fail_at")
    if at is None or (isinstance(at, float) and math.isnan(at)) or info is None:
        return None
    inputs = info.inputs.get(view, ())
    k = int(at)
    return call_text(info.entry_point, inputs[k]) if 0 <= k < len(inputs) else None


def problem_page(tables: RunTables, pid: str, info: ProblemInfo | None) -> dict[str, Any]:
    """Everything the page of one problem shows (see the module docstring)."""
    fr = tables.frames
    gold = tables.gold[pid]
    index = [int(r["index"]) for r in gold]
    pos = {idx: i for i, idx in enumerate(index)}
    code = {int(r["index"]): r.get("code") for r in tables.candidates.get(pid, [])}
    sha = {int(r["index"]): r.get("sha") for r in tables.candidates.get(pid, [])}
    matrix = fr.matrices.get(pid)
    of, clusters = _clusters(matrix, len(gold))
    rm = tables.rm_scores.get(pid, {})
    candidates: list[dict[str, Any]] = []
    for i, g in enumerate(gold):
        idx = index[i]
        candidates.append(
            {
                "index": idx,
                "code": code.get(idx) if isinstance(code.get(idx), str) else None,
                "sha": sha.get(idx) if isinstance(sha.get(idx), str) else None,
                "passed": bool(g["passed"]),
                "base_status": g.get("base_status"),
                "plus_status": g.get("plus_status"),
                "base_fail": _fail_text(g, "base", info),
                "plus_fail": _fail_text(g, "plus", info),
                "fail_recorded": "base_fail_at" in g,
                "n_passed": matrix.n_passed(i) if matrix is not None else None,
                "cluster": of[i],
                "rm": {scorer: s.get(idx) for scorer, s in rm.items()},
            }
        )
    tests = []
    if matrix is not None:
        sources = tables.tests.get(pid, [])
        canon = tables.canonical.get(pid)
        correct = [c["passed"] for c in candidates]
        for j, tid in enumerate(matrix.test_ids):
            column = [r[j] for r in matrix.rows]
            tests.append(
                {
                    "id": tid,
                    "source": sources[j] if j < len(sources) else None,
                    "canonical": canon[j] if canon is not None and j < len(canon) else None,
                    "n_pass": column.count("p"),
                    "n_pass_correct": sum(c == "p" and ok for c, ok in zip(column, correct, strict=True)),
                }
            )
    picks = {}
    for label, s in tables.selections.get(pid, {}).items():
        chosen = [pos[int(c)] for c in (s.get("chosen") or []) if int(c) in pos]
        pick = s.get("pick")
        picks[label] = {
            "chosen": chosen,
            "pick": pos.get(int(pick)) if pick is not None and pick == pick else None,
            "acc": _pct(s.get("expected_acc")),
            "acc_base": _pct(s.get("expected_acc_base")),
            "scores": s.get("scores") if isinstance(s.get("scores"), list) else None,
        }
    n_correct = sum(c["passed"] for c in candidates)
    return clean(
        {
            "id": pid,
            "prompt": info.prompt if info is not None else None,
            "reference": info.reference if info is not None and info.reference else None,
            "n": len(candidates),
            "correct": n_correct,
            "plain": n_correct / len(candidates) if candidates else 0.0,
            "candidates": candidates,
            "clusters": clusters,
            "tests": tests,
            "matrix": list(matrix.rows) if matrix is not None else [],
            "picks": {label: picks[label] for label in tables.rerankers if label in picks},
            "views": dict(fr.metrics.get("views", {"plus": "plus", "base": "base"})),
        }
    )
