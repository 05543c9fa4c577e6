"""Every documented ``lm_eval`` command batches: with lm-eval's default ``--batch_size 1`` the task's
repeats reach the model one request at a time (README: "Always pass --batch_size auto")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [
    ROOT / "README.md",
    ROOT / "tasks" / "lmeval" / "humaneval_plus_rm.yaml",
    *sorted((ROOT / "results" / "reference").glob("lmeval_*/README.md")),
    *sorted((ROOT / "results" / "reference").glob("lmeval_*/*.sh")),
]


def commands(text: str) -> list[str]:
    """The ``lm_eval --model ...`` commands in ``text``, continuation lines joined (comment marks dropped)."""
    lines = [re.sub(r"^\s*#\s?", "", line) for line in text.splitlines()]
    out = []
    for i, line in enumerate(lines):
        if re.search(r"(^|\s)lm_eval --model\b", line):
            cmd = line
            j = i
            while cmd.rstrip().endswith("\\") and j + 1 < len(lines):
                j += 1
                cmd = cmd.rstrip()[:-1] + " " + lines[j].strip()
            out.append(cmd)
    return out


def test_the_parser_joins_continuations() -> None:
    text = "x\n# lm_eval --model vllm --model_args a \\\n#   --batch_size auto\nlm_eval --model hf -t t\n"
    assert commands(text) == [
        "lm_eval --model vllm --model_args a  --batch_size auto",
        "lm_eval --model hf -t t",
    ]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_documented_commands_batch(doc: Path) -> None:
    found = commands(doc.read_text(encoding="utf-8"))
    assert found, f"{doc}: no lm_eval command found"
    for cmd in found:
        assert "--batch_size" in cmd, f"{doc}: {cmd}"
        if "--model vllm" in cmd:
            assert "--batch_size auto" in cmd and "enable_prefix_caching=True" in cmd, f"{doc}: {cmd}"
