"""`mixup-bench compare`: a regime map of what MixUp does across experiments that differ in one setting.

Each experiment folder is read as `plot` reads it (`load.load_experiment`), and every arm but the
baseline (MixUp, CutMix, label smoothing, Manifold MixUp) is compared with the baseline of the same
seed at the final epoch (`stats.paired_differences`). The
differences (Δ test accuracy, Δ test loss, Δ gap, Δ ECE, each with its 95% t interval and a judgement
of the MixUp claim by `claim.judge`) are laid out against the setting that differs between the
experiments: the training-set size (`subset`), `label_noise`, `epochs`, `model`, or any other
training setting of experiment.json.

Outputs, in `out_dir` (default `<common parent of the experiments>/compare-<setting>/`):

  regime_map.csv        one row per (experiment, arm): setting value, pairs, each Δ with its interval
  regime_map.md         the same as a table with a word per claim, the experiments and the notes
  regime_map.png/.svg   one panel per Δ against the setting (`figures.regime_map`)
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mixup_bench import results
from mixup_bench.analysis import stats
from mixup_bench.analysis.claim import CLAIM_DIRECTION, CLAIM_WORDS, judge
from mixup_bench.analysis.load import experiment_arms, load_experiment
from mixup_bench.config import CIFAR10_TRAIN_IMAGES, TRAINING_KEYS, TrainingConfig
from mixup_bench.errors import UserError
from mixup_bench.naming import arm_label, format_alpha

# The compared metrics: (metric, column stem of regime_map.csv, scale to its display unit, short name, unit).
METRICS = (
    ("test_acc", "delta_test_acc_pp", 100.0, "test accuracy", "pp"),
    ("test_loss", "delta_test_loss", 1.0, "test loss", "nats"),
    ("gap", "delta_gap", 1.0, "gap", "nats"),
    ("test_ece", "delta_test_ece_pp", 100.0, "ECE", "pp"),
)
COMPARED = tuple(m for m, *_ in METRICS)

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
}

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainingConfig)}


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
    """What `compare_experiments` did: the setting, the table, the files written and the notes."""

    setting: str
    experiments: list[Compared]  # sorted by the setting's value
    table: pd.DataFrame  # one row per (experiment, arm but the baseline); see `regime_table`
    out_dir: Path
    also_differ: dict[str, list[str]] = field(default_factory=dict)  # other settings that differ (with --setting)
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> tuple:
        """(metric, column stem, display scale, name, unit) of every compared difference."""
        return METRICS

    @property
    def setting_label(self) -> str:
        """The compared setting in words, with its unit."""
        return setting_label(self.setting)

    @property
    def mixup_only(self) -> bool:
        """True when every compared arm is a MixUp arm: the outputs then keep their MixUp wording."""
        return set(self.table["method"]) <= {"mixup"} if "method" in self.table else True

    @property
    def numeric_axis(self) -> bool:
        return all(isinstance(e.settings[self.setting], (int, float)) for e in self.experiments)

    def value_label(self, exp: Compared) -> str:
        return value_label(self.setting, exp.settings[self.setting], exp.full_subset)


def compare_experiments(paths: list[Path], out_dir: Path | None = None, setting: str | None = None) -> CompareResult:
    """Compare every arm (MixUp and its neighbours) with its baseline across experiments that differ in one
    training setting.

    `paths` are experiment folders (at least two, each with experiment.json and paired seeds).
    `setting` names the setting to lay them out against; by default the one training setting
    that differs between them (a UserError when none or several differ). Writes regime_map.csv,
    regime_map.md, regime_map.png and regime_map.svg into `out_dir` (default
    `<common parent>/compare-<setting>`) and returns what it did.
    """
    from mixup_bench.figures.regime_map import draw_regime_map  # local: matplotlib is slow to import

    dirs, warnings = _experiment_dirs(paths)
    records = {d: _settings(d) for d in dirs}
    setting, also_differ = _choose_setting({d: s for d, (s, _) in records.items()}, setting)
    _check_one_per_value(dirs, records, setting)
    # before the reading and drawing: an --out that cannot be written fails at once
    results.check_output_dir(Path(out_dir) if out_dir is not None else _common_parent(dirs) / f"compare-{setting}")

    experiments = []
    for d in dirs:
        df, load_warnings = load_experiment(d)
        warnings += [f"{d.name}: {w}" for w in load_warnings]
        paired = stats.paired_differences(df, metrics=COMPARED)
        if paired.summary.empty:
            raise UserError(f"{d} has no paired seeds: {_why_unpaired(paired)}; compare needs them.")
        warnings += [f"{d.name}: {n}" for n in paired.notes]
        partial = sorted(df.loc[~df["done"], "run_id"].unique())
        if partial:
            warnings.append(
                f"{d.name}: {len(partial)} run(s) still partial ({', '.join(partial)}); numbers may change."
            )
        settings, full = records[d]
        experiments.append(Compared(d, d.name, settings, full, paired, experiment_arms(d, df)))
    experiments.sort(key=lambda e: _sort_key(e.settings[setting]))

    out_dir = Path(out_dir) if out_dir is not None else _common_parent(dirs) / f"compare-{setting}"
    result = CompareResult(setting, experiments, pd.DataFrame(), out_dir, also_differ, warnings=warnings)
    result.table = regime_table(result)
    csv_path, md_path = out_dir / TABLE_CSV, out_dir / TABLE_MD
    results.atomic_write_text(csv_path, result.table.to_csv(index=False, float_format="%.6g"))
    figures = draw_regime_map(result, out_dir, FIGURE_STEM)
    results.atomic_write_text(md_path, regime_markdown(result, figures))
    result.files = [csv_path, md_path, *figures]
    return result


# --- reading the experiments --------------------------------------------------------------


def _is_experiment(path: Path) -> bool:
    return (path / results.RUNS_DIR).is_dir() or (path / results.EXPERIMENT_FILE).exists()


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
        if not _is_experiment(p):
            if (p / TABLE_CSV).exists():
                warnings.append(f"Skipped {p}: an earlier output of compare, not an experiment.")
                continue
            inner = [q for q in sorted(p.iterdir()) if q.is_dir() and _is_experiment(q)]
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


def _settings(exp_dir: Path) -> tuple[dict[str, Any], bool]:
    """The training settings of an experiment from its experiment.json, defaults filled in, and whether it
    trained on the whole training set. `subset` becomes an image count (the whole set: its size)."""
    record = results.read_experiment(exp_dir)
    if record is None:
        raise UserError(
            f"{exp_dir} has no {results.EXPERIMENT_FILE}, so its settings are unknown; "
            "compare needs the one mixup-bench run writes."
        )
    config = record.get("config")
    training = config.get("training") if isinstance(config, dict) else None
    if not isinstance(training, dict):
        training = record.get("training") if isinstance(record.get("training"), dict) else {}
    settings = {k: training.get(k, _DEFAULTS.get(k)) for k in TRAINING_KEYS}
    full = settings["subset"] in (None, 0)
    if full:
        data = record.get("data")
        size = data.get("train_images") if isinstance(data, dict) else None
        settings["subset"] = size if isinstance(size, int) and size > 0 else CIFAR10_TRAIN_IMAGES  # all of them
    if isinstance(settings["label_noise"], int):
        settings["label_noise"] = float(settings["label_noise"])
    return settings, full


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


def _num(x: float, digits: int) -> str:
    return f"{x:+.{digits}f}" if math.isfinite(x) else "n/a"


def delta_text(row, stem: str, digits: int) -> str:
    """'+1.23 [+0.50, +2.00]' (mean and 95% interval), or '+1.23 (1 pair)' without an interval."""
    mean, lo, hi = row[stem], row[f"{stem}_ci_low"], row[f"{stem}_ci_high"]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{_num(mean, digits)} (1 pair)" if int(row["pairs"]) == 1 else _num(mean, digits)
    return f"{_num(mean, digits)} [{_num(lo, digits)}, {_num(hi, digits)}]"


def _digits(scale: float) -> int:
    return 2 if scale == 100 else 3


# --- the table ------------------------------------------------------------------------------


def regime_table(result: CompareResult) -> pd.DataFrame:
    """One row per (experiment, arm but the baseline), in the order of the setting's value then
    `naming.arm_order` (MixUp by alpha, then CutMix, label smoothing, Manifold MixUp).

    Columns: setting, value, value_label, experiment, path, arm, method, alpha (the method's parameter),
    pairs (seeds paired), seeds, epoch_min, epoch_max, and for each compared metric `<stem>`,
    `<stem>_ci_low`, `<stem>_ci_high` (arm − baseline in pp for accuracy and ECE, in nats for the
    losses) and `<metric>_claim` (supported / contradicted / inconclusive / no interval, by `claim.judge`).
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
                "path": str(exp.path),
                "arm": arm_label(*arm),
                "method": arm[0],
                "alpha": float(arm[1]),
                "pairs": int(sel["n"]),
                "seeds": sel["seeds"],
                "epoch_min": int(sel["epoch_min"]),
                "epoch_max": int(sel["epoch_max"]),
            }
            for metric, stem, scale, *_ in METRICS:
                iv = exp.paired.get(arm, metric)
                row[stem] = scale * iv.mean
                row[f"{stem}_ci_low"] = scale * iv.low
                row[f"{stem}_ci_high"] = scale * iv.high
                row[f"{metric}_claim"] = judge(iv, CLAIM_DIRECTION[metric])
            rows.append(row)
    head = ["setting", "value", "value_label", "experiment", "path", "arm", "method", "alpha", "pairs", "seeds"]
    head += ["epoch_min", "epoch_max"]
    for metric, stem, *_ in METRICS:
        head += [stem, f"{stem}_ci_low", f"{stem}_ci_high", f"{metric}_claim"]
    return pd.DataFrame(rows, columns=head)


def _display(result: CompareResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the regime table as text, for the console and regime_map.md."""
    header = [result.setting, "experiment", "arm", "pairs", "epoch"]
    for metric, _, _, name, unit in METRICS:
        header += [f"Δ {name} ({unit}) [95% CI]", f"claim: {CLAIM_WORDS[metric]}"]
    rows = []
    for _, r in result.table.iterrows():
        epoch = str(r["epoch_max"]) if r["epoch_min"] == r["epoch_max"] else f"{r['epoch_min']}–{r['epoch_max']}"
        row = [str(r["value_label"]), str(r["experiment"]), str(r["arm"]), str(r["pairs"]), epoch]
        for metric, stem, scale, *_ in METRICS:
            row += [delta_text(r, stem, _digits(scale)), str(r[f"{metric}_claim"])]
        rows.append(row)
    return header, rows


def regime_markdown(result: CompareResult, figures: list[Path]) -> str:
    """regime_map.md: what was compared, the table with a word per claim, the notes and the figure."""
    label = setting_label(result.setting)
    lines = [f"# MixUp regime map: {label}", ""]
    lines += [f"{len(result.experiments)} experiments, one per value of `{result.setting}`:", ""]
    lines += [f"| {result.setting} | experiment | folder | {'MixUp arms' if result.mixup_only else 'arms'} |"]
    lines.append("|---:|---|---|---|")
    for e in result.experiments:
        lines.append(f"| {result.value_label(e)} | {e.name} | `{e.path}` | {_arms_text(result, e)} |")
    lines.append("")
    if result.also_differ:
        other = "; ".join(f"`{k}` ({', '.join(v)})" for k, v in result.also_differ.items())
        lines += [
            f"**Confounded:** these settings differ between the experiments too, so what changes along "
            f"`{result.setting}` may come from them: {other}.",
            "",
        ]
    lines += [
        f"Δ is {_compared_name(result)} − baseline, paired by seed, at the last epoch both runs of a pair reached "
        "(the final epoch for finished runs), with a 95% t interval over the pairs. Accuracy and ECE differences "
        "are in percentage points, losses in nats; the gap is test loss − clean train loss. After each Δ, the "
        "MixUp claim (the same for every arm) for that metric (test accuracy higher, test loss lower, gap "
        "smaller, ECE lower) is judged: *supported* when the interval excludes 0 on the claimed side, "
        "*contradicted* when it excludes 0 on the other side, *inconclusive* when it holds 0, *no interval* "
        "with a single pair. Intervals are not "
        "corrected for making several comparisons.",
        "",
    ]
    header, rows = _display(result)
    aligns = ["---:", "---", "---", "---:", "---:"] + ["---:", "---"] * len(METRICS)
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    lines.append("")
    if result.warnings:
        lines += ["## Notes", ""] + [f"- {w}" for w in result.warnings] + [""]
    pngs = [f for f in figures if f.suffix == ".png"]
    if pngs:
        lines += ["## Figure", ""] + [f"![regime map]({f.name})" for f in pngs] + [""]
    return "\n".join(lines)


# --- the console --------------------------------------------------------------------------


def print_comparison(result: CompareResult, console: Console) -> None:
    """The table, the confounded settings and notes (in yellow), and the files written."""
    console.print(console_table(result))
    if result.also_differ:
        other = "; ".join(f"{k} ({', '.join(v)})" for k, v in result.also_differ.items())
        console.print(f"Confounded: these settings differ too: {other}", style="yellow", markup=False)
    for w in result.warnings:
        console.print(f"Warning: {w}", style="yellow", markup=False, highlight=False)
    console.print(Text.assemble("\n", (f"Wrote {len(result.files)} files", "bold"), f" into {result.out_dir}:"))
    for f in result.files:
        console.print(f"  {f.name}", markup=False, highlight=False)


def console_table(result: CompareResult) -> Table:
    """The regime table for a terminal: one row per metric, grouped by setting value and arm (fits 80 columns)."""
    t = Table(
        title=f"{_compared_name(result)} − baseline by {result.setting} (paired by seed, final epoch)",
        title_justify="left",
        caption="claim: test acc higher, test loss lower, gap smaller, ECE lower; supported = the 95% CI "
        "excludes 0 on the claimed side, contradicted = on the other side, inconclusive = it holds 0",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    t.add_column(result.setting, justify="right")
    t.add_column("arm")
    t.add_column("Δ of", no_wrap=True)
    t.add_column("mean [95% CI]", justify="right", no_wrap=True)
    t.add_column("claim", no_wrap=True)
    for _, r in result.table.iterrows():
        for i, (metric, stem, scale, *_) in enumerate(METRICS):
            first = i == 0
            t.add_row(
                Text(str(r["value_label"]) if first else ""),
                Text(f"{_short_arm(result, r['method'], r['alpha'])}, n={r['pairs']}" if first else ""),
                Text(_CONSOLE_NAMES[metric]),
                Text(delta_text(r, stem, _digits(scale))),
                Text(f"{r[f'{metric}_claim']}"),
                end_section=i == len(METRICS) - 1,
            )
    return t


_CONSOLE_NAMES = {"test_acc": "test acc, pp", "test_loss": "test loss", "gap": "gap", "test_ece": "ECE, pp"}


def _compared_name(result: CompareResult) -> str:
    return "MixUp" if result.mixup_only else "arm"


def _short_arm(result: CompareResult, method: str, alpha: float) -> str:
    """'α=0.4' in MixUp-only comparisons, else the arm's label with greek letters ('CutMix α=1')."""
    return f"α={format_alpha(alpha)}" if result.mixup_only else arm_label(method, alpha, greek=True)


def _arms_text(result: CompareResult, exp: Compared) -> str:
    """The compared arms of one experiment: 'α = 0.2, 1' (MixUp only), else their labels."""
    arms = exp.paired.compared
    if result.mixup_only:
        return "α = " + ", ".join(format_alpha(a) for _, a in arms)
    return ", ".join(arm_label(m, a, greek=True) for m, a in arms)
