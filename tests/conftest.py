"""Shared test configuration: markers, opt-in flags, real-data and tiny-model fixtures.

Markers (see pyproject): ``slow`` and ``model`` run with ``--run-slow``; ``realdata`` tests read
``../shared/data`` and skip with a reason when it is absent; ``docker`` needs ``--run-docker``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

DATA = Path(os.environ.get("RERANKEVAL_SHARED_DATA", ROOT.parent / "shared" / "data"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run slow, model and real-data end-to-end tests")
    parser.addoption("--run-docker", action="store_true", help="run tests that need a Docker daemon")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--run-slow")
    run_docker = config.getoption("--run-docker")
    for item in items:
        if ("slow" in item.keywords or "model" in item.keywords) and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow/model test: run with --run-slow"))
        if "docker" in item.keywords and not run_docker:
            item.add_marker(pytest.mark.skip(reason="needs a Docker daemon: run with --run-docker"))
        if "realdata" in item.keywords and not DATA.is_dir():
            item.add_marker(
                pytest.mark.skip(reason=f"real data not found at {DATA} (set RERANKEVAL_SHARED_DATA)")
            )


@pytest.fixture(autouse=True)
def _release_models() -> Iterator[None]:
    """Each test's models go when it ends: the engine cache of rerankeval.generation.engines lives
    as long as the process, and a slow-tier session that kept every test's engine (a vLLM engine
    holds a KV cache of VLLM_CPU_KVCACHE_SPACE GiB) was killed for memory on a 24 GiB machine."""
    yield
    engines = sys.modules.get("rerankeval.generation.engines")
    if engines is not None:
        engines.release_engines()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data (tests using it carry the ``realdata`` marker)."""
    if not DATA.is_dir():
        pytest.skip(f"real data not found at {DATA}")
    return DATA


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 causal LM with its tokenizer, built offline (a few seconds)."""
    from tiny_models import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny_lm"))


@pytest.fixture(scope="session")
def tiny_rm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 sequence-classification (scalar reward) model, built offline."""
    from tiny_models import build_tiny_reward_model

    return build_tiny_reward_model(tmp_path_factory.mktemp("tiny_rm"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Prints the fault-injection suite's figures when it ran (tests/integration/test_fault_injection.py)."""
    figures = sys.modules.get("fault_figures")
    counts = getattr(figures, "FIGURES", None)
    if counts:
        terminalreporter.write_sep("-", "fault injection")
        terminalreporter.write_line(
            ", ".join(
                f"{k}: {counts[k]}"
                for k in ("faults injected", "survived", "results lost", "wrong verdicts recorded")
            )
            + "  (goals: every fault survived, 0 lost, 0 wrong)"
        )
