#!/usr/bin/env bash
# The leaderboard across every reference run, from the repository root:
#   bash results/reference/leaderboard/commands.sh        # OUT=folder writes elsewhere
# It reads the committed reports' leaderboard.csv files only (no model, no execution; seconds). A run that is
# not finished yet (no report) is left out and named; run the script again once its report is committed.
set -euo pipefail
REF=results/reference
OUT=${OUT:-$REF/leaderboard}
SOURCES=(
  "$REF/qwen2.5-coder/humaneval/all/report=Qwen2.5-Coder HumanEval+ (all 164)"
  "$REF/qwen2.5-coder/humaneval/first40/report=Qwen2.5-Coder HumanEval+ (first 40)"
  "$REF/qwen2.5-coder/humaneval/first40-unittest/report=Qwen2.5-Coder HumanEval+ (first 40, unittest tests)"
  "$REF/qwen2.5-coder/mbpp/first200/report=Qwen2.5-Coder MBPP+ (first 200)"
  "$REF/scaling=CodeT release (scaling/)"
)
ARGS=()
for s in "${SOURCES[@]}"; do
  path=${s%%=*}
  if [[ -f $path/leaderboard.csv ]]; then
    ARGS+=("$path" --label "$s")
  else
    echo "not finished yet, left out: $path" >&2
  fi
done
rerankeval leaderboard "${ARGS[@]}" --out "$OUT" --overwrite \
  --title "HumanEval+ and MBPP+: pass@1 with and without reranking, every reference run"
