"""Bad samples and dataset files give one line naming the file, the line and the fix."""

import gzip
import json
from pathlib import Path

import pytest

from rerankeval.errors import InputError
from rerankeval_evalplus import load_dataset, read_samples
from rerankeval_evalplus.dataset import EvalPlusDataset

PROBLEM = {
    "task_id": "HumanEval/0",
    "prompt": "def f(x):\n",
    "entry_point": "f",
    "canonical_solution": "    return x\n",
    "base_input": [[1]],
    "plus_input": [[2]],
    "atol": 0,
    "contract": "",
}


@pytest.fixture()
def ds() -> EvalPlusDataset:
    return EvalPlusDataset("humaneval", "mem", "h", {"HumanEval/0": dict(PROBLEM)})


def _write(tmp_path: Path, text: str | bytes) -> Path:
    p = tmp_path / "s.jsonl"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def test_completion_gets_the_prompt_and_indices_follow_file_order(tmp_path, ds) -> None:
    p = _write(
        tmp_path,
        '{"task_id": "HumanEval/0", "completion": "    return x\\n"}\n'
        '{"task_id": "HumanEval/0", "solution": "def f(x):\\n    return 1\\n"}\n',
    )
    s = read_samples(p, ds)
    assert [x.index for x in s] == [0, 1]
    assert s[0].solution == "def f(x):\n    return x\n"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"task_id": "HumanEval/0", "completion": "x"}\n{bad json\n', ":2: not valid JSON"),
        ('{"task_id": "HumanEval/99", "completion": "x"}\n', ":1: unknown task id 'HumanEval/99'"),
        ('{"task_id": "Mbpp/2", "completion": "x"}\n', "use --dataset mbpp"),
        ('{"task_id": "HumanEval/0"}\n', ":1: no string 'solution' or 'completion'"),
        ("[1, 2]\n", ":1: a JSON object was expected"),
        ("\n\n", "holds no samples"),
        (b'{"task_id": "HumanEval/0", "completion": "\xff"}\n', ":1: not UTF-8"),
    ],
)
def test_bad_samples_name_file_line_and_fix(tmp_path, ds, text, needle) -> None:
    with pytest.raises(InputError) as e:
        read_samples(_write(tmp_path, text), ds)
    msg = str(e.value)
    assert needle in msg and str(tmp_path) in msg and "\n" not in msg


def test_missing_samples_file(tmp_path, ds) -> None:
    with pytest.raises(InputError, match="samples file not found"):
        read_samples(tmp_path / "nope.jsonl", ds)


def test_dataset_file_checks(tmp_path) -> None:
    with pytest.raises(InputError, match="dataset file not found"):
        load_dataset("humaneval", tmp_path / "missing.jsonl.gz")
    mbpp_like = tmp_path / "m.jsonl"
    mbpp_like.write_text(json.dumps({**PROBLEM, "task_id": "Mbpp/2"}) + "\n")
    with pytest.raises(InputError, match="use --dataset mbpp|Use --dataset mbpp"):
        load_dataset("humaneval", mbpp_like)
    broken = tmp_path / "b.jsonl.gz"
    with gzip.open(broken, "wt") as f:
        f.write(json.dumps({"task_id": "HumanEval/0"}) + "\n")
    with pytest.raises(InputError, match=":1: not an EvalPlus humaneval problem"):
        load_dataset("humaneval", broken)
    with pytest.raises(InputError, match="unknown dataset"):
        load_dataset("apps")


def test_dataset_hash_is_evalplus_md5(tmp_path) -> None:
    import hashlib

    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(PROBLEM) + "\n")
    assert load_dataset("humaneval", p).hash == hashlib.md5(p.read_bytes()).hexdigest()
