"""Every number option is checked (finite, in range) with a message naming it; lm-eval metadata keys too."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from rerankeval.cli.main import _register, cli
from rerankeval.cli.rerank_cmd import parse_rerankers
from rerankeval.errors import InputError

_register()

BAD = [
    ("rerank", "--time-limit", "nan"),
    ("rerank", "--time-limit", "inf"),
    ("rerank", "--time-limit", "0"),
    ("rerank", "--budget", "nan"),
    ("rerank", "--budget", "inf"),
    ("evaluate", "--min-time-limit", "nan"),
    ("evaluate", "--min-time-limit", "-1"),
    ("evaluate", "--min-time-limit", "inf"),
    ("evaluate", "--gt-time-limit-factor", "nan"),
    ("evaluate", "--parallel", "0"),
    ("tests generate", "--temperature", "nan"),
    ("tests generate", "--top-p", "inf"),
    ("samples generate", "--temperature", "nan"),
    ("samples generate", "--top-p", "1.5"),
    ("samples generate", "--max-tokens", "0"),
    ("report", "--adaptive-slack", "nan"),
    ("report", "--target-fraction", "inf"),
    ("swebench rerank", "--threshold", "nan"),
    ("swebench rerank", "--max-workers", "0"),
]


@pytest.mark.parametrize(("command", "flag", "value"), BAD)
def test_a_bad_number_is_a_usage_error_naming_the_option(command: str, flag: str, value: str) -> None:
    res = CliRunner().invoke(cli, [*command.split(), flag, value])
    assert res.exit_code == 2, res.output
    assert flag in res.output and "Traceback" not in res.output


def test_plugin_arguments_refuse_non_finite_numbers() -> None:
    import click

    for raw in ("rm.batch_size=NaN", "rm.max_length=Infinity", "rm.w=[1, -Infinity]"):
        with pytest.raises(click.BadParameter, match="not a finite number"):
            parse_rerankers(["rm"], [raw])
    assert parse_rerankers(["rm"], ["rm.batch_size=16"])[0].args == {"batch_size": 16}


def test_lmeval_metadata_typos_are_errors_suggesting_the_key() -> None:
    from rerankeval_lmeval.options import TaskOptions

    for typo, key in (
        ("tets", "tests"),
        ("test_time_limt", "test_time_limit"),
        ("repeat", "repeats"),
        ("workrs", "workers"),
    ):
        with pytest.raises(InputError, match=f"unknown --metadata key '{typo}'. Did you mean '{key}'"):
            TaskOptions.resolve("humaneval", {typo: "1"}, {"repeats": 4}, {})
    # lm-eval merges --model_args into the same dict: model arguments are not ours and pass
    model_args = {
        "pretrained": "m",
        "dtype": "float32",
        "base_url": "http://x",
        "max_length": 2048,
        "batch_size": 8,
        "tensor_parallel_size": 1,
        "max_model_len": 4096,
        "version": 1.0,
    }
    assert TaskOptions.resolve("humaneval", model_args, {"repeats": 4}, {}).repeats == 4


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", float("nan"), True])
def test_lmeval_test_time_limit_must_be_a_finite_positive_number(value: object) -> None:
    from rerankeval_lmeval.options import TaskOptions

    with pytest.raises(InputError, match="test_time_limit"):
        TaskOptions.resolve("humaneval", {"test_time_limit": value}, {"repeats": 4}, {})
    assert (
        TaskOptions.resolve("humaneval", {"test_time_limit": "0.5"}, {"repeats": 4}, {}).test_time_limit
        == 0.5
    )


def test_lmeval_workers_must_be_positive() -> None:
    from rerankeval_lmeval.options import TaskOptions

    with pytest.raises(InputError, match="workers=0"):
        TaskOptions.resolve("humaneval", {"workers": 0}, {"repeats": 4}, {})
