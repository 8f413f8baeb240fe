#!/usr/bin/env bash
# The OpenBLAS kernel fix, measured: the same AST-Probe fit and extraction (float32) with the faces' re-exec
# switched off (PS_BLAS_REEXEC=0: whatever kernel OpenBLAS picked, Prescott on CPUs it does not know) and on
# (the default). Prints each time and the ratio; on a CPU OpenBLAS knows, both runs use the same kernel (~1x).
#   tests/bench/blas_kernel_bench.sh [build/app/cli/probescope] [.cache/corpora/python.jsonl]
set -euo pipefail
PS=${1:-build/app/cli/probescope}
CORPUS=${2:-.cache/corpora/python.jsonl}
MODEL=${PS_MODEL:-data/models/roberta-code5}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
kernel() { OPENBLAS_VERBOSE=2 env "$@" "$PS" --version 2>&1 | awk '/^Core:/ {k = $2} END {print k}'; }
secs() { local t0=$(date +%s.%N); "$@" > /dev/null 2>&1; awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}'; }
for mode in 0 1; do
  echo "PS_BLAS_REEXEC=$mode: OpenBLAS kernel $(kernel PS_BLAS_REEXEC=$mode)"
  e[$mode]=$(secs env PS_BLAS_REEXEC=$mode "$PS" extract --model "$MODEL" --corpus "$CORPUS" --splits valid,test \
    --limit 200 --layers all --dtype float32 --threads 2 --out "$W/store-$mode.h5")
  p[$mode]=$(secs env PS_BLAS_REEXEC=$mode "$PS" probe ast --store "$W/store-0.h5" --layers 1 --k 64 --seeds 1 \
    --steps-per-epoch 100 --epochs 5 --threads 2 --out "$W/probe-$mode")
done
awk -v a="${e[0]}" -v b="${e[1]}" 'BEGIN {printf "extract float32 (200 functions, all layers): %.1f s -> %.1f s, x%.2f\n", a, b, a / b}'
awk -v a="${p[0]}" -v b="${p[1]}" 'BEGIN {printf "AST-Probe fit (layer 1, k 64, 500 steps):   %.1f s -> %.1f s, x%.2f\n", a, b, a / b}'
