#!/usr/bin/env bash
# Exploration for the protocol of issue 14: candidate fast defaults and the label-noise regime,
# on exploration seeds (1000, 1001) and judged on VALIDATION numbers only. Results go to
# results/explore-*; the presets were fixed from them before any committed seed (0-2) ran.
set -euo pipefail
cd "$(dirname "$0")/.."
MB="${MB:-mixup-bench}"
DATA="${MIXUP_BENCH_DATA:-data}"
common=(--data-dir "$DATA" --model fast-cnn --batch-size 128 --val-size 5000 --clean-train-size 1000
        --seed 1000 --seed 1001 --jobs 2 --quiet)
# 1. the default's regime: 10k images for 15 epochs, three MixUp strengths
$MB run --name explore-fast-10k-e15 --subset 10000 --epochs 15 --alpha 0.2 --alpha 0.4 --alpha 1 "${common[@]}"
# 2. fewer images for more epochs, the same budget: more overfitting
$MB run --name explore-fast-5k-e20 --subset 5000 --epochs 20 --alpha 0.4 "${common[@]}"
# 3. the label-noise regime under the same budget as 1
$MB run --name explore-fast-noise40-10k-e15 --subset 10000 --epochs 15 --label-noise 0.4 --alpha 1 "${common[@]}"
