"""mixup-bench: see what MixUp does to a CNN on CIFAR-10, with honest statistics.

The public Python API, for notebooks and scripts (the CLI calls the same functions):

    import mixup_bench as mb

    exp = mb.build_experiment(preset="default", data_dir="data", name="nb")  # a config; flags as keywords
    mb.run_experiment(exp)                                                  # trains, resumes, skips DONE runs
    df, warnings = mb.load_experiment(exp.path)                              # one tidy DataFrame, a row per epoch
    analysis = mb.analyze(df)                                                # aggregates + paired differences, once
    mb.summary_table(analysis)                                               # one row per arm
    analysis.paired.summary                                                  # Δ vs baseline with 95% intervals

Names are imported lazily, so `import mixup_bench` stays fast and pulls in neither torch nor pandas.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "ExperimentConfig": "mixup_bench.config",
    "TrainingConfig": "mixup_bench.config",
    "RunConfig": "mixup_bench.config",
    "PRESETS": "mixup_bench.config",
    "build_experiment": "mixup_bench.settings",
    "UserError": "mixup_bench.errors",
    "run_experiment": "mixup_bench.sweep.runner",
    "load_experiment": "mixup_bench.analysis.folder",
    "read_folder": "mixup_bench.analysis.folder",
    "compute_report": "mixup_bench.analysis.report",
    "analyze": "mixup_bench.analysis.facts",
    "Analysis": "mixup_bench.analysis.facts",
    "summary_table": "mixup_bench.analysis.report",
    "paired_differences": "mixup_bench.analysis.stats",
    "verdict": "mixup_bench.analysis.claim",
    "METRICS": "mixup_bench.metrics",
    "plot_experiment": "mixup_bench.plotting",
    "compare_experiments": "mixup_bench.plotting",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mixup_bench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
