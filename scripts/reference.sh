#!/usr/bin/env bash
# Reproduces the committed reference results in results/reference/: three alphas,
# two paired seeds, on a 10,000-image subset so that it fits a 2-core CPU.
set -euo pipefail
DATA="${MIXUP_BENCH_DATA:-data}"
mixup-bench run --name reference --data-dir "$DATA" \
  --alpha 0.2 --alpha 1 --seeds 2 --subset 10000 --epochs 10 --batch-size 128 --clean-train-size 10000 "$@"
mixup-bench plot results/reference
