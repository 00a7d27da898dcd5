"""`mixup-bench compare`: a regime map of what MixUp does across experiments that differ in one setting.

Each experiment folder is read as `plot` reads it (`folder.load_experiment`), and every arm but the
baseline (MixUp, CutMix, label smoothing, Manifold MixUp) is compared with the baseline of the same
seed at the last epoch (`stats.paired_differences`), exactly as `plot` does: the same differences,
the same p-values, the same Holm family (every arm × every part of the claim of that experiment), so
a word in the regime map is the word of that experiment's verdict. The differences in test accuracy,
test loss, the gap and ECE (`COMPARED`) are laid out against the setting that differs between the
experiments: the training-set size (`subset`), `label_noise`, `epochs`, `model`, or any other
training setting of experiment.json.

This module computes (`compare_experiments` returns a `CompareResult`); `compare_report` writes and
prints it, and `figures.regime_map` draws it:

  regime_map.csv        one row per (experiment, arm): setting value, pairs, each Δ with its interval and p
  regime_map.md         the same as a table with a word per claim, the experiments and the notes
  regime_map.png/.svg   one panel per Δ against the setting
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mixup_bench.analysis import folder as reading
from mixup_bench.analysis import stats
from mixup_bench.analysis.claim import judge
from mixup_bench.config import CIFAR10_TRAIN_IMAGES, TRAINING_KEYS, TrainingConfig, canonical
from mixup_bench.errors import UserError
from mixup_bench.metrics import GENERALISATION, METRICS, Metric
from mixup_bench.naming import arm_label, mixup_only
from mixup_bench.results.discovery import experiments_in, is_experiment
from mixup_bench.results.layout import EXPERIMENT_FILE
from mixup_bench.results.records import read_experiment
from mixup_bench.results.writable import check_output_dir
from mixup_bench.streams import shown

# The differences the regime map shows: every part of the claim about generalisation.
COMPARED = GENERALISATION

TABLE_CSV = "regime_map.csv"
TABLE_MD = "regime_map.md"
FIGURE_STEM = "regime_map"

SETTING_LABELS = {
    "subset": "training-set size (images)",
    "label_noise": "label noise (% of training labels corrupted)",
    "epochs": "training length (epochs)",
    "model": "model",
    "batch_size": "batch size (images per step)",
    "lr": "peak learning rate",
    "weight_decay": "weight decay",
    "momentum": "momentum",
    "warmup_fraction": "warmup (share of steps)",
    "augment": "data augmentation",
    "precision": "precision",
    "clean_train_size": "clean-train images evaluated",
    "val_size": "validation images",
}

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainingConfig)}
# Settings added after the first release, with the value every run had before them: a record written
# before a setting existed did not use its current default (no validation split, before --val-size).
_BEFORE_RECORDED = {"val_size": 0, "label_noise": 0.0, "lam_mode": "batch"}


@dataclass
class Compared:
    """One experiment of the comparison: where it is, its training settings, and its paired differences."""

    path: Path
    name: str
    settings: dict[str, Any]  # every TRAINING_KEYS value, defaults filled in, `subset` as an image count
    full_subset: bool  # trained on the whole training set (subset None or 0)
    paired: stats.Paired
    arms: list[tuple[str, float]]  # every arm (method, parameter) the experiment holds or plans (for the colours)


@dataclass
class CompareResult:
    """What `compare_experiments` found: the setting, the experiments, the table and the notes."""

    setting: str
    experiments: list[Compared]  # sorted by the setting's value
    table: pd.DataFrame  # one row per (experiment, arm but the baseline); see `regime_table`
    out_dir: Path
    also_differ: dict[str, list[str]] = field(default_factory=dict)  # other settings that differ (with --setting)
    files: list[Path] = field(default_factory=list)  # written by compare_report.write_comparison
    warnings: list[str] = field(default_factory=list)
    correction: bool = True  # judged on Holm-adjusted p-values (False: `compare --no-correction`)
    dataset: str = ""  # the one data set of every experiment in words ('CIFAR-10'), for the figure's title

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """The record of every compared difference, in the order of the table and the panels."""
        return tuple(METRICS[m] for m in COMPARED)

    @property
    def setting_label(self) -> str:
        """The compared setting in words, with its unit."""
        return setting_label(self.setting)

    @property
    def mixup_only(self) -> bool:
        """True when every compared arm is a MixUp arm: the outputs then keep their MixUp wording."""
        return mixup_only(self.table["method"]) if "method" in self.table else True

    @property
    def numeric_axis(self) -> bool:
        return all(isinstance(e.settings[self.setting], (int, float)) for e in self.experiments)

    def value_label(self, exp: Compared) -> str:
        return value_label(self.setting, exp.settings[self.setting], exp.full_subset)


def compare_experiments(
    paths: list[Path], out_dir: Path | None = None, setting: str | None = None, correction: bool = True
) -> CompareResult:
    """Compare every arm (MixUp and its neighbours) with its baseline across experiments that differ in one
    training setting, and return the regime table (nothing is written: see `compare_report`).

    `paths` are experiment folders (at least two, each with experiment.json and paired seeds).
    `setting` names the setting to lay them out against; by default the one training setting
    that differs between them (a UserError when none or several differ). `out_dir` (default
    `<common parent>/compare-<setting>`) is checked to be writable before anything is read.
    Without `correction`, the claims are judged on raw p-values.
    """
    dirs, warnings = _experiment_dirs(paths)
    records = {d: read_experiment(d) for d in dirs}  # each experiment.json read once
    dataset = _check_one_dataset(records)
    settings_of = {d: _settings(d, records[d]) for d in dirs}
    setting, also_differ = _choose_setting({d: s for d, (s, _) in settings_of.items()}, setting)
    _check_one_per_value(dirs, settings_of, setting)
    out_dir = Path(out_dir) if out_dir is not None else _common_parent(dirs) / f"compare-{setting}"
    check_output_dir(out_dir)  # before the reading and drawing: an --out that cannot be written fails at once

    experiments = []
    for d in dirs:
        df, load_warnings = reading.load_experiment(d)
        warnings += [f"{d.name}: {w}" for w in load_warnings]
        # the same measures, Holm family and sequential p-values as `plot` (facts.analyze)
        paired = stats.paired_differences(df, stats.paired_measures(df), looks=reading.record_looks(records[d]))
        if paired.summary.empty:
            skipped = next((f" ({w})" for w in load_warnings if w.startswith("Skipped run")), "")  # e.g. damaged
            raise UserError(f"{d} has no paired seeds: {_why_unpaired(paired)}{skipped}; compare needs them.")
        warnings += [f"{d.name}: {n}" for n in paired.notes]
        partial = sorted(df.loc[~df["done"], "run_id"].unique())
        if partial:
            warnings.append(
                f"{d.name}: {len(partial)} run(s) still partial ({', '.join(partial)}); numbers may change."
            )
        settings, full = settings_of[d]
        name = shown(d.name)  # a folder name that is not UTF-8, as text (\\xNN): tables and figures take no other
        experiments.append(Compared(d, name, settings, full, paired, reading.experiment_arms(d, df, records[d])))
    experiments.sort(key=lambda e: _sort_key(e.settings[setting]))

    result = CompareResult(setting, experiments, pd.DataFrame(), out_dir, also_differ, warnings=warnings,
                           correction=correction, dataset=dataset)  # fmt: skip
    result.table = regime_table(result)
    return result


# --- reading the experiments --------------------------------------------------------------


def _experiment_dirs(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """The experiment folders among `paths`, in order and without repeats; a UserError for anything else.

    An earlier output of `compare` (a folder holding regime_map.csv, as `results/*/` expands to) is
    skipped with a warning."""
    dirs: list[Path] = []
    warnings: list[str] = []
    seen: set[Path] = set()
    for p in map(Path, paths):
        if not p.exists():
            raise UserError(f"{p} does not exist; give experiment folders such as results/default.")
        if not p.is_dir():
            raise UserError(f"{p} is not a folder; give experiment folders such as results/default.")
        if not is_experiment(p):
            if (p / TABLE_CSV).exists():
                warnings.append(f"Skipped {p}: an earlier output of compare, not an experiment.")
                continue
            inner = experiments_in(p)
            hint = f"; to compare the {len(inner)} experiments inside it, give them: {p}/*/" if inner else ""
            raise UserError(f"{p} holds no experiment (no runs/ or experiment.json){hint}.")
        key = p.resolve()
        if key in seen:
            warnings.append(f"Skipped {p}: given twice.")
            continue
        seen.add(key)
        dirs.append(p)
    if len(dirs) < 2:
        got = f"got {len(dirs)}" + (f" ({dirs[0]})" if dirs else "")
        raise UserError(f"compare needs at least 2 experiment folders that differ in one setting, {got}.")
    return dirs, warnings


def _settings(exp_dir: Path, record: dict | None) -> tuple[dict[str, Any], bool]:
    """The training settings of an experiment from its experiment.json (`record`), defaults filled in, and
    whether it trained on the whole training set. `subset` becomes an image count (the whole set: its size)."""
    if record is None:
        raise UserError(
            f"{exp_dir} has no {EXPERIMENT_FILE}, so its settings are unknown; "
            "compare needs the one mixup-bench run writes."
        )
    config = record.get("config")
    training = config.get("training") if isinstance(config, dict) else None
    if not isinstance(training, dict):
        training = record.get("training") if isinstance(record.get("training"), dict) else {}
    # canonical: a record written before -0.0 was normalised holds one setting with two spellings
    settings = {k: canonical(training.get(k, _BEFORE_RECORDED.get(k, _DEFAULTS.get(k)))) for k in TRAINING_KEYS}
    full = settings["subset"] in (None, 0)
    if full:
        data = record.get("data")
        size = data.get("train_images") if isinstance(data, dict) else None
        settings["subset"] = size if isinstance(size, int) and size > 0 else CIFAR10_TRAIN_IMAGES  # all of them
    if isinstance(settings["label_noise"], int):
        settings["label_noise"] = float(settings["label_noise"])
    return settings, full


def _check_one_dataset(records: dict[Path, dict | None]) -> str:
    """One line when the experiments trained on different data sets: their runs are not pairs of one regime.
    Returns that data set in words ('CIFAR-10', as `plot`'s titles name it), for the regime map's title;
    image folders by their folders' names (two folders are one kind of data set, so both are named)."""
    from mixup_bench.catalog import record_title, recorded_dataset

    found = {d: recorded_dataset(record) for d, record in records.items()}
    if len(set(found.values())) > 1:
        listing = ", ".join(f"{d} ({name})" for d, name in found.items())
        raise UserError(f"compare pairs experiments on one data set, and these differ: {listing}; compare each apart.")
    return ", ".join(dict.fromkeys(record_title(record) for record in records.values()))


def _choose_setting(settings: dict[Path, dict], setting: str | None) -> tuple[str, dict[str, list[str]]]:
    """The setting to compare along and the other settings that differ too (`{name: [values]}`)."""
    differ = {
        k: sorted({_shown(k, s[k]) for s in settings.values()}, key=str)
        for k in TRAINING_KEYS
        if len({repr(s[k]) for s in settings.values()}) > 1
    }
    listing = "; ".join(f"{k} ({', '.join(v)})" for k, v in differ.items())
    if setting is None:
        if not differ:
            raise UserError(
                "The experiments differ in no training setting, so there is nothing to compare along; "
                "give experiments that differ in one (e.g. --subset or --label-noise)."
            )
        if len(differ) > 1:
            raise UserError(
                f"The experiments differ in {len(differ)} settings: {listing}; choose the one to compare along "
                f"with --setting NAME (the others are then confounded with it)."
            )
        return next(iter(differ)), {}
    if setting not in TRAINING_KEYS:
        raise UserError(f"Unknown setting {setting!r}; choose one of: {', '.join(TRAINING_KEYS)}.")
    if setting not in differ:
        other = f" (they differ in: {listing})" if differ else ""
        raise UserError(f"Every experiment has the same {setting}{other}; choose a setting that differs.")
    return setting, {k: v for k, v in differ.items() if k != setting}


def _check_one_per_value(dirs: list[Path], records: dict[Path, tuple[dict, bool]], setting: str) -> None:
    by_value: dict[str, Path] = {}
    for d in dirs:
        key = repr(records[d][0][setting])
        if key in by_value:
            value = _shown(setting, records[d][0][setting])
            raise UserError(
                f"{by_value[key]} and {d} both have {setting} {value}; compare takes one experiment per value."
            )
        by_value[key] = d


def _why_unpaired(paired: stats.Paired) -> str:
    if not paired.has_reference:
        return "it holds no baseline run (alpha 0)"
    if not paired.has_others:
        return "it holds no MixUp run (alpha above 0) nor any other arm besides the baseline"
    return "no run of another arm shares a seed and an epoch with a baseline run"


def _sort_key(value) -> tuple:
    return (0, float(value), "") if isinstance(value, (int, float)) else (1, 0.0, str(value))


def _common_parent(dirs: list[Path]) -> Path:
    parents = [str(d.absolute().parent) for d in dirs]
    common = Path(os.path.commonpath(parents))
    try:
        return common.relative_to(Path.cwd())
    except ValueError:
        return common


# --- values as text -----------------------------------------------------------------------


def _shown(setting: str, value) -> str:
    return value_label(setting, value, False)


def value_label(setting: str, value, full: bool = False) -> str:
    """A setting's value as shown on the axis and in the tables: '10,000', '50,000 (all)', '40%', 'off'."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if setting == "label_noise" and isinstance(value, (int, float)):
        return f"{100 * value:g}%"
    if isinstance(value, int):
        return f"{value:,}" + (" (all)" if full else "")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def setting_label(setting: str) -> str:
    return SETTING_LABELS.get(setting, setting.replace("_", " "))


# --- the table ------------------------------------------------------------------------------


def regime_table(result: CompareResult) -> pd.DataFrame:
    """One row per (experiment, arm but the baseline), in the order of the setting's value then
    `naming.arm_order` (MixUp by alpha, then CutMix, label smoothing, Manifold MixUp).

    Columns: setting, value, value_label, experiment, path, arm, method, alpha (the method's parameter),
    pairs (seeds paired), seeds, epoch_min, epoch_max, and for each compared measure `<stem>`,
    `<stem>_ci_low`, `<stem>_ci_high` (arm − baseline in pp for accuracy and ECE, in nats for the
    losses; `<stem>` is the measure's `delta_column`), `<metric>_p`, `<metric>_p_holm` (the paired t
    test's p-value, raw and after Holm's correction over the experiment's family) and `<metric>_claim`
    (supported / contradicted / inconclusive / no interval, by `claim.judge`).
    """
    rows = []
    for exp in result.experiments:
        for arm in exp.paired.compared:
            sel = exp.paired.arm_summary(arm).iloc[0]
            row: dict[str, Any] = {
                "setting": result.setting,
                "value": exp.settings[result.setting],
                "value_label": result.value_label(exp),
                "experiment": exp.name,
                "path": shown(str(exp.path)),
                "arm": arm_label(*arm),
                "method": arm[0],
                "alpha": float(arm[1]),
                "pairs": int(sel["n"]),
                "seeds": sel["seeds"],
                "epoch_min": int(sel["epoch_min"]),
                "epoch_max": int(sel["epoch_max"]),
            }
            for m in result.metrics:
                iv = exp.paired.get(arm, m.name)
                row[m.delta_column] = m.scale * iv.mean
                row[f"{m.delta_column}_ci_low"] = m.scale * iv.low
                row[f"{m.delta_column}_ci_high"] = m.scale * iv.high
                row[f"{m.name}_p"] = iv.p
                row[f"{m.name}_p_holm"] = iv.p_holm
                row[f"{m.name}_claim"] = judge(iv, m.direction, result.correction, m.margin)
            rows.append(row)
    head = ["setting", "value", "value_label", "experiment", "path", "arm", "method", "alpha", "pairs", "seeds"]
    head += ["epoch_min", "epoch_max"]
    for m in result.metrics:
        stem = m.delta_column
        head += [stem, f"{stem}_ci_low", f"{stem}_ci_high", f"{m.name}_p", f"{m.name}_p_holm", f"{m.name}_claim"]
    return pd.DataFrame(rows, columns=head)
