"""Outside trackers: TensorBoard and MLflow, fed live while `run` trains or afterwards by `export`.

The CSVs stay the source of truth; a tracker only ever receives what a run folder holds (its
config.json, metrics.csv rows and lam.csv), so a live log and an export of the same run agree.
"""
