#!/usr/bin/env bash
# Reproduce every committed result made under the protocol (validation split, presets fixed on
# exploration seeds 1000+ before the committed seeds 0-2 ran), in the order they were made.
# Set MIXUP_BENCH_DATA to a CIFAR-10 copy (else ./data). Each command skips finished runs and
# resumes unfinished ones, so the script can be stopped and run again.
# The exploration that fixed the presets is scripts/explore-protocol.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
MB="${MB:-mixup-bench}"
DATA="${MIXUP_BENCH_DATA:-data}"
run() { $MB run --data-dir "$DATA" --quiet "$@"; }

# The default preset, timed on a 2-core CPU: once as an AVX2-only machine in fp32 (emulated on
# an AVX512 CPU by lowering torch's and oneDNN's instruction set), once as it is (AVX512-BF16, bf16).
ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 run --name demo --precision fp32
run --name demo-bf16
# 40% wrong labels: baseline + MixUp 1, 3 seeds
run --preset label-noise
# the regime map over label noise (the 40% point is results/label-noise)
run --preset label-noise --out results/regimes --name noise-0 --label-noise 0
run --preset label-noise --out results/regimes --name noise-0.2 --label-noise 0.2
# MixUp against its neighbours, in the default regime
run --name methods --cutmix 1 --label-smoothing 0.1 --manifold-mixup 2
# the alpha dose-response, in the default regime
run --name alpha --alpha 0.1 --alpha 0.2 --alpha 0.4 --alpha 1 --alpha 2 --alpha 4 --alpha 8
# generalisation under shift: built-in corruptions and attacks at the last epoch, with a CutMix arm
run --name shift --shift --cutmix 1

for exp in results/demo results/demo-bf16 results/label-noise results/regimes/noise-0 results/regimes/noise-0.2 \
           results/alpha results/shift; do
  $MB plot "$exp"
done
$MB plot results/methods --reference mixup-a0.4
$MB compare results/regimes/noise-0 results/regimes/noise-0.2 results/label-noise --out results/regimes/map
