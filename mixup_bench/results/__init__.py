"""The results folder: the contract between `run` and `plot`, one module per job.

    <out>/<experiment>/
      experiment.json               resolved config, versions, device, git sha, data source
      runs/<run_id>/                e.g. baseline-a0-s0, mixup-a0.4-s0, cutmix-a1-s0, smooth-e0.1-s0, manifold-a2-s0
        config.json                 this run's resolved config
        metrics.csv                 one row per finished epoch (schema.METRICS_COLUMNS)
        lam.csv                     every lam sampled (mixup, cutmix, manifold): epoch, step, lam
        corruptions.csv             accuracy and loss per corruption type and severity (schema.CORRUPTION_COLUMNS)
        calibration.json            per-bin counts of the latest test evaluation
        checkpoint.pt               latest state, for resume (never committed)
        lock                        held by the process training this run
        DONE                        written last, when the run finishes
      summary.csv, summary.md, plots/   written by `plot` (and paired_vs_<arm>.csv with --reference)

- layout:    the names of those files and folders; a folder's runs and whether a run is finished
- discovery: which folders are experiments, and the one a user's path means
- schema:    the CSV columns (derived from `metrics.METRICS`), writing and reading the CSVs
- records:   reading the JSON files: any JSON object, and the one reader of experiment.json
- atomic:    writes that readers see whole or not at all
- writable:  refusing an output that cannot be written, before any expensive work
- damage:    a finished run's files that are torn, missing or unreadable, and what rebuilds them

This package's own __init__ imports nothing: each caller imports the module whose job it needs.
"""
