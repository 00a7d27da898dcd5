"""Hand-made experiment folders for the tests of analysis, figures and report (a plain module of the tests package:
`from tests.plot_fixtures import ...`).

`write_run` writes one run with exactly the numbers given; `write_final_values` writes a short
run whose last epoch holds given values; `synthetic_experiment` writes a realistic sweep
(plausible curves, lam.csv and calibration.json) for the figure tests and for looking at figures.
Each takes a `method` (baseline, mixup or any method of the registry); without it, alpha 0 is the
baseline and any other alpha MixUp.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mixup_bench.naming import LAM_METHODS, method_for, run_id_for
from mixup_bench.results.atomic import atomic_write_json
from mixup_bench.results.layout import CALIBRATION_FILE, CONFIG_FILE, DONE_FILE, EXPERIMENT_FILE, RUNS_DIR
from mixup_bench.results.schema import write_lam_log, write_metrics

N_BINS = 15


def run_id(alpha: float, seed: int, method: str | None = None) -> str:
    return run_id_for(alpha, seed, method)


def metrics_row(
    alpha: float, seed: int, epoch: int, experiment: str = "test", method: str | None = None, **values
) -> dict:
    """One metrics.csv row with neutral defaults, overridden by `values`."""
    row = {
        "experiment": experiment,
        "run_id": run_id(alpha, seed, method),
        "method": method or method_for(alpha),
        "alpha": float(alpha),
        "seed": int(seed),
        "epoch": int(epoch),
        "lr": 0.1,
        "train_loss": 1.0,
        "train_acc": 0.6,
        "clean_train_loss": 1.0,
        "clean_train_acc": 0.6,
        "test_loss": 1.1,
        "test_acc": 0.55,
        "test_ece": 0.05,
        "epoch_seconds": 10.0,
        "images_per_second": 5000.0,
    }
    row.update(values)
    return row


PLAIN = "plain"  # write_run's default lam and calibration: plain ones for a finished run, as `run` writes them


def write_run(
    exp_dir: Path,
    alpha: float,
    seed: int,
    rows: list[dict],
    done: bool = True,
    lam: list[float] | None | str = PLAIN,
    calibration: dict | None | str = PLAIN,
    method: str | None = None,
    complete: bool = True,
) -> Path:
    """Write runs/<run_id>/ with metrics.csv from `rows`, config.json, lam.csv and calibration.json, and DONE.

    A finished run has every file `run` writes (damaged_files), plain ones unless given: lam 0.5
    per epoch (for the arms that draw a lam) and one confidence bin. `None` leaves a file out; so does
    `complete=False`, for a run that lacks them all (config.json too), as an odd or damaged run may.
    """
    run_dir = Path(exp_dir) / RUNS_DIR / run_id(alpha, seed, method)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_metrics(run_dir, rows)
    method = method or method_for(alpha)
    plain = done and complete
    if complete:
        config = {"experiment": Path(exp_dir).name, "alpha": float(alpha), "seed": int(seed), "method": method}
        atomic_write_json(run_dir / CONFIG_FILE, {**config, "training": {"epochs": len(rows)}})
    if lam == PLAIN:
        lam = [0.5] * len(rows) if plain and method in LAM_METHODS else None
    if calibration == PLAIN:
        calibration = calibration_dict([0] * (N_BINS - 1) + [100], [0.0] * (N_BINS - 1) + [95.0],
                                       [0.0] * (N_BINS - 1) + [90.0], epoch=len(rows)) if plain else None  # fmt: skip
    if lam is not None:
        write_lam_log(run_dir, [{"epoch": 1 + i // 50, "step": i, "lam": float(v)} for i, v in enumerate(lam)])
    if calibration is not None:
        atomic_write_json(run_dir / CALIBRATION_FILE, calibration)
    if done:
        (run_dir / DONE_FILE).write_text("")
    return run_dir


def write_final_values(
    exp_dir: Path,
    alpha: float,
    seed: int,
    epochs: int = 3,
    done: bool = True,
    method: str | None = None,
    complete: bool = True,
    **final,
) -> Path:
    """A run of `epochs` epochs whose last epoch holds the metric values in `final`.

    Earlier epochs get the defaults of `metrics_row` shifted by the epoch, so they never equal the final values.
    """
    rows = [
        metrics_row(alpha, seed, e, method=method, test_acc=0.3 + 0.01 * e, test_loss=2.0 - 0.1 * e)
        for e in range(1, epochs)
    ]
    rows.append(metrics_row(alpha, seed, epochs, method=method, **final))
    return write_run(exp_dir, alpha, seed, rows, done=done, method=method, complete=complete)


def calibration_dict(count, confidence_sum, correct_sum, epoch: int = 3) -> dict:
    """A calibration.json payload over 15 equal bins of [0, 1]."""
    edges = np.linspace(0, 1, N_BINS + 1)
    total = sum(count)
    ece = sum(abs(c - s) for c, s in zip(correct_sum, confidence_sum, strict=True)) / total if total else 0.0
    return {
        "epoch": epoch,
        "n_bins": N_BINS,
        "bin_lower": edges[:-1].tolist(),
        "bin_upper": edges[1:].tolist(),
        "count": [int(c) for c in count],
        "confidence_sum": [float(v) for v in confidence_sum],
        "correct_sum": [float(v) for v in correct_sum],
        "ece": float(ece),
    }


def _synthetic_calibration(rng, overconfidence: float, sharpness: float, epoch: int, n: int = 10_000) -> dict:
    """Bins of a model whose accuracy is confidence minus `overconfidence` (negative: underconfident)."""
    conf = np.clip(0.1 + 0.9 * rng.beta(sharpness, 1.0, n), 0.1, 0.9999)
    p_correct = np.clip(conf - overconfidence * (1 - (1 - conf) ** 2) * (conf > 0.3), 0, 1)
    correct = rng.random(n) < p_correct
    idx = np.minimum((conf * N_BINS).astype(int), N_BINS - 1)
    count = np.bincount(idx, minlength=N_BINS)
    conf_sum = np.bincount(idx, weights=conf, minlength=N_BINS)
    corr_sum = np.bincount(idx, weights=correct.astype(float), minlength=N_BINS)
    return calibration_dict(count, conf_sum, corr_sum, epoch=epoch)


def synthetic_experiment(
    exp_dir: Path,
    alphas=(0.2, 0.4, 1.0),
    seeds=(0, 1, 2),
    epochs: int = 15,
    steps_per_epoch: int = 40,
    partial: dict | None = None,
    with_lam: bool = True,
    with_calibration: bool = True,
    baseline: bool = True,
    seed: int = 0,
    neighbours=(),
) -> Path:
    """A realistic MixUp sweep on a small CNN without augmentation (numbers in the range of DESIGN.md).

    Every run logs validation loss and accuracy (near the test numbers). The baseline memorises
    (clean train loss -> ~0.03) and its test loss turns up late; MixUp keeps a
    higher clean train loss, a higher objective on mixed batches, a lower test loss, slightly higher
    test accuracy and lower ECE, more so for larger alpha. Seeds share an offset across arms, as a
    real seed does. `neighbours` adds arms (method, parameter) of any method of `_NEIGHBOUR_ID`, such as
    ("cutmix", 1.0) or ("smooth", 0.1), each with a strength of its own. `partial` maps (alpha, seed) of a
    baseline or MixUp run, or (method, parameter, seed) of a neighbour, to the number of epochs that run has
    finished (no DONE).
    """
    rng = np.random.default_rng(seed)
    exp_dir = Path(exp_dir)
    partial = partial or {}
    arms = [(method_for(a), float(a)) for a in ([0.0] if baseline else []) + list(alphas)] + list(neighbours)
    seed_offset = {s: rng.normal(0, 0.004) for s in seeds}
    for s in seeds:
        for m, a in arms:
            key = (a, s) if m in ("baseline", "mixup") else (m, a, s)
            n_epochs = partial.get(key, epochs)
            # The same draws as before neighbours existed for the baseline and MixUp, others of their own.
            noise = np.random.default_rng([seed, s, int(a * 1000)] + ([] if key == (a, s) else [_NEIGHBOUR_ID[m]]))
            rows = _synthetic_rows(exp_dir.name, m, a, s, epochs, n_epochs, noise, seed_offset[s])
            lam = None
            if with_lam and m in LAM_METHODS:
                lam = noise.beta(a, a, steps_per_epoch * n_epochs).tolist()
            calibration = None
            if with_calibration:
                strength = _strength(m, a)
                over = 0.09 * (1 - 2.2 * strength)  # baseline overconfident, alpha 1 underconfident
                calibration = _synthetic_calibration(noise, over, sharpness=6.0 * (1 - strength), epoch=n_epochs)
            write_run(exp_dir, a, s, rows, done=n_epochs == epochs, lam=lam, calibration=calibration, method=m)
    meta = {"name": exp_dir.name, "alphas": list(alphas), "seeds": list(seeds), "training": {"epochs": epochs}}
    for key, method in (("cutmix", "cutmix"), ("smoothing", "smooth"), ("manifold", "manifold")):
        if any(m == method for m, _ in neighbours):
            meta[key] = [a for m, a in neighbours if m == method]
    atomic_write_json(exp_dir / EXPERIMENT_FILE, meta)
    return exp_dir


# A stream of draws per method; the later methods (FMix to RegMixup) for the eleven-arm figures.
_NEIGHBOUR_ID = {"cutmix": 1, "smooth": 2, "manifold": 3, "fmix": 4, "resizemix": 5, "saliencymix": 6, "gridmix": 7,
                 "smoothmix": 8, "regmixup": 9}  # fmt: skip


def _strength(method: str, param: float) -> float:
    """How strongly an arm regularises: 0 for the baseline, 0.29 for MixUp alpha 0.4, 0.5 for alpha 1."""
    if method == "smooth":
        return min(0.9, 3 * param)  # eps 0.1 -> 0.3
    strength = param / (1 + param)
    return {"cutmix": 0.8, "manifold": 0.9}.get(method, 1.0) * strength


def _synthetic_rows(name, method, a, s, epochs, n_epochs, noise, offset) -> list[dict]:
    """The metrics.csv rows of one synthetic run (see `synthetic_experiment`)."""
    strength = _strength(method, a)
    rows = []
    for e in range(1, n_epochs + 1):
        t = e / epochs
        lr = 0.1 * (math.sin(math.pi * t / 0.3 / 2) if t < 0.3 else 0.5 * (1 + math.cos(math.pi * (t - 0.3) / 0.7)))
        clean_floor = 0.03 + 0.45 * strength
        clean = clean_floor + 1.75 * math.exp(-3.2 * t * (1 - 0.5 * strength)) + noise.normal(0, 0.01)
        objective = clean + 1.6 * strength * (0.7 + 0.3 * t) + noise.normal(0, 0.01)
        test_loss = (
            0.66
            - 0.08 * strength
            + 1.3 * math.exp(-4.5 * t)
            + (0.18 - 0.3 * strength) * max(0.0, t - 0.55) ** 2
            + noise.normal(0, 0.012)
        )
        test_acc = 0.815 + 0.012 * strength - 0.45 * math.exp(-4.0 * t) + offset + noise.normal(0, 0.003)
        clean_acc = min(0.999, 0.99 - 0.05 * strength - 0.5 * math.exp(-4.2 * t) + noise.normal(0, 0.003))
        ece = max(0.004, 0.085 * (1 - 1.6 * strength) * min(1, 1.4 * t) + noise.normal(0, 0.004))
        ece = abs(ece) if strength < 0.45 else 0.02 + abs(noise.normal(0, 0.004))
        rows.append(
            metrics_row(
                a,
                s,
                e,
                experiment=name,
                method=method,
                lr=lr,
                train_loss=objective,
                train_acc=clean_acc - 0.25 * strength,
                clean_train_loss=clean,
                clean_train_acc=clean_acc,
                test_loss=test_loss,
                test_acc=test_acc,
                test_ece=ece,
                # validation: near test, off by a wobble of its own (no random draw, so the draws above stay)
                val_loss=test_loss - 0.02 + 0.01 * math.sin(3.0 * e),
                val_acc=test_acc + 0.004 * math.sin(2.0 * e + a),
                epoch_seconds=22.0 + noise.normal(0, 0.5),
                images_per_second=2280.0 + noise.normal(0, 20),
            )
        )
    return rows
