#!/usr/bin/env bash
# One plain `lm_eval --model vllm --tasks humaneval_plus_rm` run with real models on the CPU: Qwen2.5-Coder-0.5B-Instruct
# (embedded `qwen2.5-coder-0.5b`) is the policy, 16 samples per problem at the task's T=0.8 / top-p 0.95 (up to 512
# tokens, as the rerankeval reference samples), on the first 40 HumanEval+ problems. The unit tests are the ones
# Qwen2.5-Coder-1.5B-Instruct wrote for those problems (results/reference/qwen2.5-coder/humaneval/first40/tests.jsonl)
# and the same 1.5B model is the yes/no verifier of rerank-rm. lm-eval reports plain pass@1, unbiased pass@k for
# k = 1, 2, 4, 8, 16 over the repeats, first-sample pass@1, every reranker and the oracle from one generation pass.
# Then the same samples and tests through `rerankeval rerank` (no model: the verifier's scores come from the cache
# that lm-eval filled), to check that the numbers are equal; tests/unit/test_lmeval_qwen_reference.py compares the
# committed results. lm-eval's per-sample log is kept gzipped (gunzip it to run export-samples again).
# Run from the repository root: bash results/reference/lmeval_qwen/run.sh   (about 1.5 h on 2 cores)
set -euo pipefail
OUT=results/reference/lmeval_qwen
DATA=${RERANKEVAL_SHARED_DATA:-../shared/data}
HE=$DATA/humanevalplus/HumanEvalPlus.jsonl.gz
TESTS=results/reference/qwen2.5-coder/humaneval/first40/tests.jsonl
RM=verifier:vllm:qwen2.5-coder-1.5b
export VLLM_ENABLE_V1_MULTIPROCESSING=0 VLLM_CPU_KVCACHE_SPACE=4 VLLM_LOGGING_STREAM=ext://sys.stderr  # tables on stdout only
POLICY=$(rerankeval models path qwen2.5-coder-0.5b)
# bfloat16 where the CPU computes it natively (AVX512-BF16, AMX), else float32 (emulated bf16 is 3x slower)
DTYPE=$(python -c "from rerankeval.generation.engines import cpu_has_bf16; print('bfloat16' if cpu_has_bf16() else 'float32')")
mkdir -p $OUT

lm_eval --model vllm \
  --model_args "pretrained=$POLICY,dtype=$DTYPE,enforce_eager=True,enable_prefix_caching=True,seed=0" \
  --tasks humaneval_plus_rm --batch_size auto --apply_chat_template --limit 40 --gen_kwargs max_gen_toks=512 \
  --metadata repeats=16 tests=$TESTS rm=$RM pass_at_k=1/2/4/8/16 run_dir=runs/lmeval_qwen humaneval_path=$HE \
  --confirm_run_unsafe_code --output_path $OUT/lm_eval --log_samples | tee $OUT/lm_eval_table.md

SAMPLES=$(ls $OUT/lm_eval/*/samples_humaneval_plus_rm_*.jsonl | tail -1)
rerankeval lmeval export-samples "$SAMPLES" -o $OUT/samples.jsonl
rerankeval rerank --dataset humaneval --dataset-path "$HE" --samples $OUT/samples.jsonl --tests "$TESTS" \
  --reranker first --reranker coderm --reranker codet --reranker mbr-exec --reranker rm --rm "$RM" \
  --reranker random --reranker oracle --out runs/lmeval_qwen-rerank --overwrite --markdown | tee $OUT/rerank_table.md
cp runs/lmeval_qwen-rerank/metrics.json $OUT/rerank_metrics.json
cp runs/lmeval_qwen-rerank/rm_scores.jsonl $OUT/rm_scores.jsonl
gzip -9f "$SAMPLES"
