#!/usr/bin/env bash
# Reproduce every committed result of the presets, the regime map and the neighbours, in order.
# About 1 h 15 min on the 2-core reference CPU. Set MIXUP_BENCH_DATA to a CIFAR-10 copy (else ./data).
# Each command skips finished runs and resumes unfinished ones, so it can be stopped and run again.
set -euo pipefail
DATA="${MIXUP_BENCH_DATA:-data}"
run() { mixup-bench run --data-dir "$DATA" --quiet "$@"; }

run --name demo                                   # the default preset: baseline + MixUp 0.4, 3 seeds
run --preset label-noise                          # 40% wrong labels: baseline + MixUp 1, 3 seeds
# the regime map over label noise (the 40% point is results/label-noise)
run --preset label-noise --out results/regimes --name noise-0 --label-noise 0 --seeds 2
run --preset label-noise --out results/regimes --name noise-0.2 --label-noise 0.2 --seeds 2
# MixUp against its neighbours, in the default regime
run --name methods --alpha 0.2 --cutmix 1 --label-smoothing 0.1 --manifold-mixup 2

for exp in results/demo results/label-noise results/regimes/noise-0 results/regimes/noise-0.2; do
  mixup-bench plot "$exp"
done
mixup-bench plot results/methods --reference mixup-a0.2
mixup-bench compare results/regimes/noise-0 results/regimes/noise-0.2 results/label-noise --out results/regimes/map
