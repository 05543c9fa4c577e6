"""Guards of the package layout: light core, complete package list."""

import configparser
import os
import subprocess
import sys
from pathlib import Path

import rerankeval

ROOT = Path(__file__).resolve().parents[2]


def test_core_stays_light() -> None:
    heavy = {"torch", "pandas", "lm_eval", "evalplus", "tqdm", "numpy", "matplotlib", "vllm", "transformers"}
    probe = (
        f"import sys, rerankeval.core, rerankeval.core.rerank; print(sorted({heavy!r} & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(rerankeval.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_package_folder_is_listed_in_setup_cfg() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = set()
    for root in ("harness", "plugins"):
        for init in (ROOT / root).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT / root).parts))
    assert found - listed == set(), "add these packages to setup.cfg [options] packages"
