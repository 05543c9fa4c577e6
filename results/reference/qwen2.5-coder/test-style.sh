#!/usr/bin/env bash
# Which test style to ask the test writer for: CodeT's asserts against CodeRM-8B's unittest classes, on the
# first 40 HumanEval+ problems, from the repository root:
#   bash results/reference/qwen2.5-coder/test-style.sh
#
# Everything but the prompt is held fixed: the policy's samples are humaneval/first40's (Qwen2.5-Coder-0.5B-
# Instruct, 16 per problem), the test writer is Qwen2.5-Coder-1.5B-Instruct with 10 generations per problem
# at T=0.8, top-p 0.95, seed 0, each style with its paper's token cap (300 for asserts, 2,048 for a unittest
# class). The assert side is humaneval/first40 itself; this script makes the unittest side
# (humaneval/first40-unittest/, with its own report/) and a report of the two runs together (humaneval/test-style/: pass@1 against
# the number of tests, by difficulty quintile, allocations) plus what each style's tests cost (cost.md).
# Resumable like commands.sh: run it again after a stop; the committed rows make step 2 run without a model.
set -euo pipefail
DATA=${RERANKEVAL_SHARED_DATA:-../shared/data}
DPATH=$DATA/humanevalplus/HumanEvalPlus.jsonl.gz
HERE=results/reference/qwen2.5-coder
ASSERTS=$HERE/humaneval/first40
OUT=$HERE/humaneval/first40-unittest
RUN=${RUN_DIR:-runs/qwen2.5-coder-humaneval-first40-unittest}
ASSERT_RUN=${ASSERT_RUN_DIR:-runs/qwen2.5-coder-humaneval-first40}
mkdir -p "$OUT"
RESUME=()
if [[ ! -f $RUN/run.json && -f $OUT/run.json ]]; then
  mkdir -p "$RUN"
  for f in run.json gold.jsonl matrix.jsonl canonical.jsonl; do if [[ -f $OUT/$f ]]; then cp "$OUT/$f" "$RUN/"; fi; done
fi
if [[ -f $RUN/run.json ]]; then RESUME=(--resume); fi

# 1. the unittest tests (CodeRM-8B's prompt, one TestCase class per generation; the function's stub as the code)
rerankeval tests generate --dataset humaneval --dataset-path "$DPATH" --limit 40 \
  --generator vllm:qwen2.5-coder-1.5b --style unittest -n 10 --temperature 0.8 --top-p 0.95 --seed 0 \
  --batch-problems 4 --out "$OUT/tests.jsonl" --resume

# 2. the same samples reranked with them (no verifier: the two runs differ in their tests only)
rerankeval rerank --dataset humaneval --dataset-path "$DPATH" \
  --samples "$ASSERTS/samples.jsonl" --tests "$OUT/tests.jsonl" --test-details \
  --reranker first --reranker random --reranker coderm --reranker codet --reranker mbr-exec --reranker oracle \
  --bootstrap 1000 --out "$RUN" "${RESUME[@]}" --markdown | tee "$OUT/table.md"
cp "$RUN/metrics.json" "$RUN/run.json" "$RUN/gold.jsonl" "$RUN/matrix.jsonl" "$RUN/canonical.jsonl" "$OUT/"

# 3. the assert run's directory (rebuilt from first40's committed rows, without a model, when absent)
if [[ ! -f $ASSERT_RUN/metrics.json ]]; then
  LIMIT=40 RUN_DIR=$ASSERT_RUN bash "$HERE/commands.sh" humaneval > /dev/null
fi

# 4. the unittest run's own report (for the leaderboard across reference runs), both runs in one report, and
#    the cost of each style's tests
rerankeval report "$RUN" --out "$OUT/report" --overwrite --reranker coderm --reranker codet --reranker mbr-exec \
  --allocation-reranker codet --orders 5 --seed 0 --bootstrap 1000 \
  --policy-label "$RUN=Qwen2.5-Coder-0.5B-Instruct" --tests-label "$RUN=Qwen2.5-Coder-1.5B-Instruct (unittest classes)"
rerankeval report "$ASSERT_RUN" "$RUN" --out "$HERE/humaneval/test-style" --overwrite \
  --reranker coderm --reranker codet --reranker mbr-exec --allocation-reranker codet --orders 5 --seed 0 --bootstrap 1000 \
  --policy-label "$ASSERT_RUN=Qwen2.5-Coder-0.5B-Instruct" --policy-label "$RUN=Qwen2.5-Coder-0.5B-Instruct" \
  --tests-label "$ASSERT_RUN=1.5B, CodeT asserts" --tests-label "$RUN=1.5B, CodeRM unittest classes"
python3 - "$ASSERTS" "$OUT" > "$HERE/humaneval/test-style/cost.md" <<'EOF'
import json
import sys

print("| style | generations | tests (distinct) | tests per problem | tokens written | tokens per problem |")
print("|---|---:|---:|---:|---:|---:|")
for name, folder in zip(("CodeT asserts", "CodeRM unittest classes"), sys.argv[1:]):
    gens = [json.loads(line) for line in open(f"{folder}/tests.generations.jsonl")]
    tests = sum(1 for _ in open(f"{folder}/tests.jsonl"))
    tokens = sum(g["completion_tokens"] for g in gens)
    n = len(gens)
    print(
        f"| {name} | {sum(g['n'] for g in gens)} | {tests} | {tests / n:.1f} | {tokens} | {tokens / n:.0f} |"
    )
EOF
cat "$HERE/humaneval/test-style/cost.md"

# 5. the two styles paired problem by problem (same samples): unittest minus asserts, 95% bootstrap CI over problems
python3 - "$ASSERT_RUN" "$RUN" > "$HERE/humaneval/test-style/paired.md" <<'EOF'
import json
import random
import sys


def picks(run):
    rows = (json.loads(line) for line in open(f"{run}/selections.jsonl"))
    return {(r["reranker"], r["problem_id"]): r["expected_acc"] for r in rows if r["draw"] == 0}


asserts, unittests = picks(sys.argv[1]), picks(sys.argv[2])
print("| reranker | asserts (%) | unittest classes (%) | difference (points) | 95% CI | problems better / worse |")
print("|---|---:|---:|---:|---:|---:|")
for reranker in ("coderm", "codet", "mbr-exec"):
    pids = sorted(p for r, p in asserts if r == reranker)
    diff = [unittests[reranker, p] - asserts[reranker, p] for p in pids]
    rng = random.Random(0)
    boot = sorted(sum(rng.choices(diff, k=len(diff))) / len(diff) for _ in range(1000))
    a = sum(asserts[reranker, p] for p in pids) / len(pids)
    print(
        f"| {reranker} | {100 * a:.1f} | {100 * (a + sum(diff) / len(diff)):.1f} | {100 * sum(diff) / len(diff):+.1f} "
        f"| [{100 * boot[25]:+.1f}, {100 * boot[974]:+.1f}] | {sum(d > 0 for d in diff)} / {sum(d < 0 for d in diff)} |"
    )
EOF
cat "$HERE/humaneval/test-style/paired.md"
