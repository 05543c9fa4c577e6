#!/usr/bin/env bash
# Reference runs with real models on the CPU, from the repository root:
#   bash results/reference/qwen2.5-coder/commands.sh humaneval            # all 164 HumanEval+ problems -> humaneval/all/
#   LIMIT=40 bash results/reference/qwen2.5-coder/commands.sh humaneval   # the first 40 -> humaneval/first40/
#   LIMIT=200 bash results/reference/qwen2.5-coder/commands.sh mbpp      # the first 200 MBPP+ problems -> mbpp/first200/
#
# Qwen2.5-Coder-0.5B-Instruct is the policy (16 samples per problem, T=0.8, top-p 0.95); Qwen2.5-Coder-1.5B-Instruct
# writes the unit tests (10 generations per problem, T=0.8) and is the yes/no verifier of `rm` and `hybrid`. Both
# are the embedded models (`rerankeval models list`), run on vLLM's CPU build.
#
# Test style (STYLE=assert|unittest overrides): MBPP+ uses CodeRM's unittest classes, the style that measured best
# (test-style.sh: on the first 40 HumanEval+ problems they beat CodeT's asserts per generation and per token);
# HumanEval+ keeps the asserts its committed runs were made with. STYLE=unittest on HumanEval+ writes to
# <subset>-unittest/ (its samples still come from <subset>/; humaneval/first40-unittest/ is test-style.sh's run,
# which has no verifier).
#
# Every step is resumable: run the same command again after a stop (Ctrl-C, kill -9, a reboot) and it continues
# where it stopped; a finished step does nothing. Generation takes the CPU hours (measured on 2 cores: 102 tokens/s
# for the 0.5B model's samples and 56 for the 1.5B one's tests in bfloat16 on AVX512-BF16; 28 and 11 in float32 on
# AVX2). Problem g's samples use seeds seed + g*n whatever LIMIT is, so a
# larger run can start from a smaller one's files: copy first40/samples*.jsonl and tests.jsonl into all/ and
# run without LIMIT: only the missing problems are generated.
#
# The rerank step needs no model for the unit tests. The verifier's scores are written to the run directory's
# rm_scores.jsonl as they come (after every scorer batch) and copied here with run.json, the ground truth
# (gold.jsonl) and the pass-matrix rows (matrix.jsonl, canonical.jsonl); a run directory that does not exist yet
# starts from those copies, so the committed tables reproduce with step 3 alone, without a model or a re-execution
# (delete the copied gold/matrix rows in the run directory to execute again), and a scoring step stopped on one
# machine continues on another.
set -euo pipefail
DATASET=${1:?usage: [LIMIT=K] commands.sh humaneval|mbpp}
DATA=${RERANKEVAL_SHARED_DATA:-../shared/data}
LIMIT=${LIMIT:-}
case $DATASET in
  humaneval) DPATH=$DATA/humanevalplus/HumanEvalPlus.jsonl.gz ;;
  mbpp) DPATH=$DATA/mbppplus/MbppPlus.jsonl.gz ;;
  *) echo "unknown dataset '$DATASET' (humaneval or mbpp)" >&2; exit 2 ;;
esac
if [[ -n $LIMIT ]]; then
  SUBSET=first$LIMIT; LIMIT_ARG=(--limit "$LIMIT")
else
  SUBSET=all; LIMIT_ARG=()
fi
case $DATASET in humaneval) STYLE=${STYLE:-assert} ;; *) STYLE=${STYLE:-unittest} ;; esac
case $DATASET:$STYLE in
  humaneval:assert | mbpp:unittest) SUFFIX= ;;
  humaneval:unittest | mbpp:assert) SUFFIX=-$STYLE ;;
  *) echo "unknown STYLE '$STYLE' (assert or unittest)" >&2; exit 2 ;;
esac
case $STYLE in assert) TESTS_LABEL=asserts ;; *) TESTS_LABEL="unittest classes" ;; esac
# Longest test generation in tokens (tests generate's defaults: 300 for asserts, 2048 for unittest). MBPP+'s
# classes are capped at 1024: in its first 4 problems 6 of the 40 classes enumerated cases to the 2048 cap
# ("# Test case 69: ...") and every batch waited 2048 decode steps for them; the first 1024 tokens of such a
# class already hold ~30 asserts. HumanEval+'s runs keep the defaults they were made with.
case $DATASET:$STYLE in mbpp:unittest) TEST_MAX_TOKENS=(--max-tokens 1024) ;; *) TEST_MAX_TOKENS=() ;; esac
SAMPLES_DIR=results/reference/qwen2.5-coder/$DATASET/$SUBSET
OUT=$SAMPLES_DIR$SUFFIX
RUN=${RUN_DIR:-runs/qwen2.5-coder-$DATASET-$SUBSET$SUFFIX}
mkdir -p "$SAMPLES_DIR" "$OUT"
RESUME=()
if [[ ! -f $RUN/run.json && -f $OUT/run.json && -f $OUT/rm_scores.jsonl ]]; then
  mkdir -p "$RUN" && cp "$OUT/run.json" "$OUT/rm_scores.jsonl" "$RUN/"   # the scores computed before
  for f in gold.jsonl matrix.jsonl canonical.jsonl; do if [[ -f $OUT/$f ]]; then cp "$OUT/$f" "$RUN/"; fi; done
fi
if [[ -f $RUN/run.json ]]; then RESUME=(--resume); fi

# 1. the policy's samples (an EvalPlus samples file; raw responses and settings in samples.generations.jsonl)
rerankeval samples generate --dataset "$DATASET" --dataset-path "$DPATH" "${LIMIT_ARG[@]}" \
  --model vllm:qwen2.5-coder-0.5b -n 16 --temperature 0.8 --top-p 0.95 --max-tokens 512 --seed 0 \
  --batch-problems 4 --out "$SAMPLES_DIR/samples.jsonl" --resume

# 2. the unit tests (assert: CodeT's prompt, up to 5 asserts per generation; unittest: CodeRM's, one TestCase class)
rerankeval tests generate --dataset "$DATASET" --dataset-path "$DPATH" "${LIMIT_ARG[@]}" \
  --generator vllm:qwen2.5-coder-1.5b --style "$STYLE" -n 10 --temperature 0.8 --top-p 0.95 --seed 0 \
  "${TEST_MAX_TOKENS[@]}" --batch-problems 4 --out "$OUT/tests.jsonl" --resume

# 3. ground truth (every input: fractions for the Scoring Verifiers metrics), pass matrix, verifier scores, rerankers
rerankeval rerank --dataset "$DATASET" --dataset-path "$DPATH" \
  --samples "$SAMPLES_DIR/samples.jsonl" --tests "$OUT/tests.jsonl" --test-details \
  --reranker first --reranker random --reranker coderm --reranker codet --reranker mbr-exec \
  --reranker rm --reranker hybrid --reranker hybrid:mode=tiebreak --reranker oracle \
  --rm verifier:vllm:qwen2.5-coder-1.5b --bootstrap 1000 --out "$RUN" "${RESUME[@]}" --markdown | tee "$OUT/table.md"

# 4. figures and tables (scaling with the number of tests, difficulty quintiles, allocations) and the run's metrics
rerankeval report "$RUN" --out "$OUT/report" --overwrite --reranker coderm --reranker codet --reranker mbr-exec \
  --allocation-reranker codet --orders 5 --seed 0 --bootstrap 1000 \
  --policy-label "$RUN=Qwen2.5-Coder-0.5B-Instruct" --tests-label "$RUN=Qwen2.5-Coder-1.5B-Instruct ($TESTS_LABEL)"
cp "$RUN/metrics.json" "$RUN/run.json" "$RUN/rm_scores.jsonl" "$RUN/gold.jsonl" "$RUN/matrix.jsonl" "$RUN/canonical.jsonl" "$OUT/"
