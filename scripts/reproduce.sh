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
# Both add paired seeds until every claimed part is decided (at most 10).
ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 run --name demo --precision fp32 --until-decided
run --name demo-bf16 --until-decided
# 40% wrong labels: baseline + MixUp 1, until decided
run --preset label-noise --until-decided
# the regime map over label noise (the 40% point is results/label-noise)
run --preset label-noise --out results/regimes --name noise-0 --label-noise 0
run --preset label-noise --out results/regimes --name noise-0.2 --label-noise 0.2
# every built-in method against one baseline, in the default regime
run --name methods --arm mixup:0.4 --arm cutmix:1 --arm smooth:0.1 --arm manifold:2 --arm fmix --arm resizemix \
  --arm saliencymix --arm gridmix --arm smoothmix --arm regmixup --until-decided --max-seeds 5
# the alpha dose-response, in the default regime
run --name alpha --alpha 0.1 --alpha 0.2 --alpha 0.4 --alpha 1 --alpha 2 --alpha 4 --alpha 8
# generalisation under shift: built-in corruptions and attacks at the last epoch, with a CutMix arm
run --name shift --shift --cutmix 1 --until-decided --max-seeds 10
# claims re-run on seeds nobody had run before, fixed before the run: the methods' accuracy verdicts
# with Holm p above 0.001, and the default preset's (fp32, AVX2) until decided
run --name methods-confirm --arm saliencymix:1 --arm regmixup:20 --arm smoothmix:0.5 --arm smooth:0.1 \
  --seed 100 --seed 101 --seed 102 --seed 103 --seed 104
ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 run --name demo-confirm --precision fp32 \
  --seed 200 --seed 201 --seed 202 --until-decided
run --preset label-noise --name label-noise-confirm --seed 300 --seed 301 --seed 302 --until-decided
run --name alpha-confirm --alpha 0.1 --alpha 0.2 --alpha 0.4 --alpha 1 --alpha 2 --alpha 4 --alpha 8 \
  --seed 300 --seed 301 --seed 302
run --name shift-confirm --shift --cutmix 1 --seed 400 --seed 401 --seed 402

for exp in results/demo results/demo-bf16 results/label-noise results/regimes/noise-0 results/regimes/noise-0.2 \
           results/alpha results/shift results/methods results/methods-confirm results/demo-confirm \
           results/label-noise-confirm results/alpha-confirm results/shift-confirm; do
  $MB plot "$exp"
done
$MB compare results/regimes/noise-0 results/regimes/noise-0.2 results/label-noise --out results/regimes/map
