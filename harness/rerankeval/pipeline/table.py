"""The summary table of a rerank run, from its metrics.json (text for the terminal, or markdown)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def _pct(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}"


def _ci(ci: Mapping[str, Any] | None) -> str:
    return "-" if not ci else f"[{_pct(ci['low'])}, {_pct(ci['high'])}]"


def summary_rows(metrics: Mapping[str, Any], view: str) -> list[list[str]]:
    """Rows ``[method, pass@1, gain, CI tests, CI problems, pick]`` for one gold view (percentages).

    ``pick`` is the accuracy of the single sample written to ``selected/<reranker>.jsonl``.
    """
    plain = metrics[view]["plain_pass@1"]
    rows = [["plain pass@1 (all samples)", _pct(plain), "", "", "", ""]]
    for label, res in metrics["rerankers"].items():
        r = res[view]
        rows.append(
            [
                label,
                _pct(r["pass@1"]),
                f"{100 * r['gain']:+.2f}",
                _ci(r.get("ci_tests")),
                _ci(r.get("ci_problems")),
                _pct(r.get("pick_pass@1")),
            ]
        )
    rows.append(
        [
            "oracle pass@N",
            _pct(metrics[view]["oracle_pass@n"]),
            f"{100 * (metrics[view]['oracle_pass@n'] - plain):+.2f}",
            "",
            "",
            "",
        ]
    )
    return rows


HEADER = ["method", "pass@1 %", "gain", "95% CI (tests)", "95% CI (problems)", "pick %"]


def _title(metrics: Mapping[str, Any], view: str) -> str:
    return str(metrics.get("views", {}).get(view, view))


def _caption(metrics: Mapping[str, Any]) -> str:
    n = metrics["n_samples"]
    ns = str(n["min"]) if n["min"] == n["max"] else f"{n['min']}-{n['max']}"
    sub = ""
    if metrics.get("num_samples") or metrics.get("num_tests"):
        sub = (
            f"; subsampled to {metrics.get('num_samples') or 'all'} samples x "
            f"{metrics.get('num_tests') or 'all'} "
            f"tests per problem, mean of {metrics['draws']} draws"
        )
    return (
        f"{metrics['n_problems']} problems, {ns} samples per problem, {metrics['n_tests']} generated tests "
        f"(per-test limit {metrics['time_limit_s']} s){sub}"
    )


def _num(block: Mapping[str, Any] | None) -> str:
    if not block or block.get("value") is None or math.isnan(block["value"]):
        return "-"
    ci = block.get("ci")
    return f"{block['value']:.3f}" + (f" [{ci['low']:.3f}, {ci['high']:.3f}]" if ci else "")


def views_of(metrics: Mapping[str, Any]) -> list[str]:
    """The run's gold views, the primary first (runs written before views were recorded: EvalPlus's)."""
    return list(metrics.get("views") or ("plus", "base"))


def quality_lines(metrics: Mapping[str, Any], view: str | None = None) -> list[str]:
    """One line per reward (reward models, the unit-test reward): AUC, ECE, RM@N vs random and oracle
    (on the primary view unless ``view`` is given)."""
    view = view or views_of(metrics)[0]
    out = []
    for name, views in metrics.get("rm_quality", {}).items():
        q = views.get(view)
        if not q:
            continue
        last = q["rm_at_k"][-1] if q.get("rm_at_k") else None
        ece = q.get("ece")
        cal = (
            f"ECE {_num(ece)} ({ece['n_bins']} {ece['strategy']} bins)" if ece else "ECE - (no probabilities)"
        )
        at_n = (
            f"RM@{last['k']} {_pct(last['rm']['value'])}% (random {_pct(last['random']['value'])}%, "
            f"oracle {_pct(last['oracle']['value'])}%)"
            if last
            else ""
        )
        out.append(f"{name}: ROC-AUC {_num(q.get('auc'))}, {cal}, {at_n}")
    if out:
        out.insert(
            0, f"reward quality vs {_title(metrics, view)} (pooled over candidates; 95% CI over problems):"
        )
    return out


def group_lines(metrics: Mapping[str, Any]) -> list[str]:
    """pass@1 per value of each problem group the benchmark names (e.g. LiveCodeBench's difficulty)."""
    out = []
    for name, values in metrics.get("by_group", {}).items():
        out.append(f"pass@1 by {name} ({_title(metrics, views_of(metrics)[0])}):")
        for value, b in values.items():
            ranked = "".join(f", {label} {_pct(x)}%" for label, x in b["rerankers"].items())
            out.append(
                f"  {value} ({b['n_problems']} problems): plain {_pct(b['plain_pass@1'])}%{ranked}, "
                f"oracle {_pct(b['oracle_pass@n'])}%"
            )
    return out


def budget_line(metrics: Mapping[str, Any]) -> str | None:
    """One line on what a budgeted run spent (None for a run that executed every test).

    E.g. ``budget: greedy, 20.0 tests/problem -> 3,240 tests, 312,000 executions (31.2% of all 1,000,000)``.
    """
    b = metrics.get("budget")
    if not b:
        return None
    share = "" if b.get("fraction") is None else f"{100 * b['fraction']:.1f}% of "
    line = (
        f"budget: {b['method']}, {b['budget']:.1f} tests/problem -> {b['tests']:,} tests "
        f"({b['mean_tests']:.1f}/problem), {b['executions']:,} executions "
        f"({share}all {b['full_executions']:,})"
    )
    if b["method"] == "adaptive":
        line += f", {b['rounds']} rounds, {b['settled']} problems settled"
    return line


def format_text(metrics: Mapping[str, Any]) -> str:
    """Aligned plain-text tables, one per gold view."""
    out = [_caption(metrics)]
    if budget_line(metrics):
        out.append(str(budget_line(metrics)))
    for view in views_of(metrics):
        rows = [HEADER, *summary_rows(metrics, view)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
        out.append("")
        out.append(_title(metrics, view))
        for r in rows:
            out.append(
                "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))
            )
    primary = views_of(metrics)[0]
    q = metrics.get("unit_test_quality", {}).get(primary)
    if q:
        out.append("")
        out.append(
            f"generated tests: {_pct(q['test_accuracy'])}% correct (canonical solution passes; mean over "
            f"problems), FAR {_pct(q['FAR'])}%, FRR {_pct(q['FRR'])}% "
            f"(CodeRM App. D, vs {_title(metrics, primary)})"
        )
    for lines in (group_lines(metrics), quality_lines(metrics)):
        if lines:
            out += ["", *lines]
    return "\n".join(out)


def format_markdown(metrics: Mapping[str, Any]) -> str:
    """The same tables in GitHub markdown."""
    out = [_caption(metrics)]
    if budget_line(metrics):
        out[0] += f"; {budget_line(metrics)}"
    for view in views_of(metrics):
        out += [
            "",
            f"**{_title(metrics, view)}**",
            "",
            "| " + " | ".join(HEADER) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(HEADER) - 1)) + "|",
        ]
        out += ["| " + " | ".join(r) + " |" for r in summary_rows(metrics, view)]
    for lines in (group_lines(metrics), quality_lines(metrics)):
        if lines:
            out += ["", lines[0], "", *(f"- {line.strip()}" for line in lines[1:])]
    return "\n".join(out) + "\n"
