#!/usr/bin/env bash
# The full alpha sweep of the paper's range, 3 paired seeds (18 runs), then the figures.
# Hours on a laptop CPU: spread it with --jobs N, or over a cluster with --backend ray.
# Killed or interrupted? Run the same script again: finished runs are skipped, the rest resume.
set -euo pipefail
DATA="${MIXUP_BENCH_DATA:-data}"
mixup-bench run --name sweep --data-dir "$DATA" \
  --alpha 0.1 --alpha 0.2 --alpha 0.4 --alpha 1 --alpha 2 --seeds 3 "$@"
mixup-bench plot results/sweep
