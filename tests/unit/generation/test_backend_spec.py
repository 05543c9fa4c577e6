"""Backend spec strings: parsing, canonical form, and errors that name the spec and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerankeval.errors import InputError
from rerankeval.generation import load_generator, parse_backend_spec
from rerankeval.generation.engines import resolve_model


def test_each_kind_parses_to_its_fields() -> None:
    assert parse_backend_spec("vllm:/models/qwen").kind == "vllm"
    assert parse_backend_spec("hf:Qwen/Qwen2.5-Coder-1.5B").model == "Qwen/Qwen2.5-Coder-1.5B"
    s = parse_backend_spec("openai:http://127.0.0.1:8000/v1/#my-model")
    assert (s.kind, s.base_url, s.model) == ("openai", "http://127.0.0.1:8000/v1", "my-model")


def test_bare_smollm2_means_the_hf_backend() -> None:
    s = parse_backend_spec("smollm2")
    assert (s.kind, s.model, str(s)) == ("hf", "smollm2", "hf:smollm2")


def test_options_are_typed_sorted_and_round_trip() -> None:
    s = parse_backend_spec(
        "vllm:/m?max_model_len=1024&enforce_eager=true&dtype=bfloat16&gpu_memory_utilization=0.5"
    )
    assert s.engine_kwargs == {
        "max_model_len": 1024,
        "enforce_eager": True,
        "dtype": "bfloat16",
        "gpu_memory_utilization": 0.5,
    }
    assert parse_backend_spec(str(s)) == s
    assert str(s) == "vllm:/m?dtype=bfloat16&enforce_eager=true&gpu_memory_utilization=0.5&max_model_len=1024"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("llama:/m", "unknown backend 'llama:/m'"),
        ("/models/qwen", "unknown backend"),
        ("vllm:", "names no model"),
        ("openai:http://127.0.0.1:8000/v1", "names no served model"),
        ("openai:127.0.0.1:8000#m", "not an http(s) URL"),
    ],
)
def test_bad_specs_say_what_and_how_to_fix(spec: str, says: str) -> None:
    with pytest.raises(InputError) as e:
        parse_backend_spec(spec)
    assert says in str(e.value)
    assert "Write" in str(e.value) or "Use one of" in str(e.value)


def test_missing_model_folder_fails_at_load_naming_the_spec(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(InputError, match=rf"backend 'hf:{missing}': model folder .* not found"):
        load_generator(f"hf:{missing}")


def test_a_folder_without_config_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_hub_ids_pass_through_unchanged() -> None:
    assert resolve_model("Qwen/Qwen2.5-Coder-1.5B-Instruct") == "Qwen/Qwen2.5-Coder-1.5B-Instruct"
