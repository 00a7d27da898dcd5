"""The figures of docs/metrics.md, "Decided verdicts": the error rates of `run --until-decided` under
optional stopping, its power at the committed effect sizes, and its price in interval width.

    python scripts/sequential_simulation.py            # about 10 s

Simulated experiments of the 5 parts of the claim, paired differences at the spreads of results/demo
(the fp32 default, 3 seeds, last epoch; commit c38c433), normal and t with 3 degrees of freedom, looked
at after 3, 5, 7, 9 and 10 pairs (--jobs 2, --max-seeds 10), judged by `mixup_bench.sequential.simulate`,
the stopping rule itself.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from mixup_bench import sequential as sq
from mixup_bench.metrics import CLAIM, METRICS

# results/demo at c38c433, last epoch, MixUp alpha=0.4 - baseline over seeds 0-2: (mean, std), stored units.
DEMO = {"clean_train_loss": (0.367, 0.0144), "test_acc": (0.0165, 0.0049), "test_loss": (-0.269, 0.0231),
        "gap": (-0.636, 0.0287), "test_ece": (-0.163, 0.0078)}  # fmt: skip
# results/demo-bf16 (same seeds, bf16): test accuracy +0.82 pp, std 0.96 pp.
BF16_ACC = (0.0082, 0.0096)
LOOKS = sq.design_looks(3, 2, 10)
SEQUENCES = 20_000


def run(effects, spreads, tails: str, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shape = (SEQUENCES, LOOKS[-1], len(CLAIM))
    noise = rng.standard_normal(shape) if tails == "normal" else rng.standard_t(3, shape) / np.sqrt(3.0)
    margins = np.array([METRICS[m].margin for m in CLAIM])
    return sq.simulate(noise * spreads + effects, LOOKS, margins)


def main() -> None:
    rng = np.random.default_rng(2026)
    spreads = np.array([DEMO[m][1] for m in CLAIM])
    print(f"design: looks at {LOOKS} pairs; nominal per-look level {sq.nominal_level(LOOKS):.4f}\n")
    print("| differences | wrong supported/contradicted (family-wise) | mean seeds used | null parts 'no effect' |")
    print("|---|---:|---:|---:|")
    one_null = np.array([0.0 if m == "test_acc" else DEMO[m][0] for m in CLAIM])  # Holm's worst case
    for label, effects in (
        ("every part null", np.zeros(len(CLAIM))),
        ("test accuracy null, others as in demo", one_null),
    ):
        for tails in ("normal", "t3"):
            used, sign, equiv = run(effects, spreads, tails, rng)
            wrong = ((sign != 0) & (effects == 0)) | ((sign != 0) & (sign != np.sign(effects)))
            fwer = wrong.any(axis=1).mean()
            se = np.sqrt(fwer * (1 - fwer) / SEQUENCES)
            null_equiv = equiv[:, effects == 0].mean()
            print(
                f"| {label}, {tails} | {100 * fwer:.2f}% ± {100 * se:.2f} | {used.mean():.1f} | "
                f"{100 * null_equiv:.0f}% |"
            )
    print("\n| effects | part | power (right direction) | mean seeds used |")
    print("|---|---|---:|---:|")
    for label, acc in (("demo fp32", DEMO["test_acc"]), ("demo-bf16 accuracy", BF16_ACC)):
        effects = np.array([DEMO[m][0] for m in CLAIM])
        sp = spreads.copy()
        effects[CLAIM.index("test_acc")], sp[CLAIM.index("test_acc")] = acc
        used, sign, _ = run(effects, sp, "normal", rng)
        for i, m in enumerate(CLAIM):
            power = (sign[:, i] == np.sign(effects[i])).mean()
            print(f"| {label} | {METRICS[m].short} | {100 * power:.0f}% | {used.mean():.1f} |")
    print("\n| pairs | fixed-n t half-width (x std/sqrt(n)) | sequential | price |")
    print("|---:|---:|---:|---:|")
    a = sq.nominal_level(LOOKS)
    for n in LOOKS:
        fixed, seq = sps.t.ppf(0.975, n - 1), sps.t.ppf(1 - a / 2, n - 1)
        print(f"| {n} | {fixed:.2f} | {seq:.2f} | +{100 * (seq / fixed - 1):.0f}% |")


if __name__ == "__main__":
    main()
