#!/usr/bin/env bash
# Exploration for the protocol of issue 14: candidate fast defaults and the label-noise regime,
# on exploration seeds (1000, 1001) and judged on VALIDATION numbers only. Results go to
# results/explore-*; the presets were fixed from them before any committed seed (0-2) ran.
# Budget: a preset (6 runs, 2 at a time) must end within 10 min on a 2-core AVX2 CPU in fp32,
# where fast-cnn trains at about 1,550 and evaluates at about 2,900 images/s per 1-thread job:
# 10k images x 10 epochs and 5k images x 15 epochs both cost about 6 min there; 10k x 15 about 9.
set -euo pipefail
cd "$(dirname "$0")/.."
MB="${MB:-mixup-bench}"
DATA="${MIXUP_BENCH_DATA:-data}"
common=(--data-dir "$DATA" --model fast-cnn --batch-size 128 --val-size 5000 --clean-train-size 1000
        --seed 1000 --seed 1001 --jobs 2 --quiet)
# 1. 10k images for 15 epochs (over budget on AVX2: for the schedule's effect), three MixUp strengths
$MB run --name explore-fast-10k-e15 --subset 10000 --epochs 15 --alpha 0.2 --alpha 0.4 --alpha 1 "${common[@]}"
# 2. the two candidates within budget
$MB run --name explore-fast-10k-e10 --subset 10000 --epochs 10 --alpha 0.2 --alpha 0.4 --alpha 1 "${common[@]}"
$MB run --name explore-fast-5k-e15 --subset 5000 --epochs 15 --alpha 0.4 "${common[@]}"
# 3. the label-noise regime in the chosen default regime (5k images, 15 epochs): which MixUp strength
$MB run --name explore-fast-noise40-5k-e15 --subset 5000 --epochs 15 --label-noise 0.4 --alpha 0.4 --alpha 1 "${common[@]}"
