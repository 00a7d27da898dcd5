"""What a dashboard run is labelled with, the same in MLflow (tags) and TensorBoard (HParams): its arm,
in its id and in words, its data set, and the code that trained it."""

from __future__ import annotations

from mixup_bench.catalog import recorded_dataset
from mixup_bench.naming import arm_id, arm_label

GIT_COMMIT_TAG = "mlflow.source.git.commit"  # MLflow shows it as the run's version
SOURCE_NAME_TAG, SOURCE_TYPE_TAG = "mlflow.source.name", "mlflow.source.type"


def run_tags(run: dict) -> dict[str, str]:
    """The tags a seed run and its arm's parent share: the arm (to group the seed runs by arm in MLflow's
    UI; grouping by method would merge the alphas) in its id and in words, and the data set."""
    method, alpha = run["method"], float(run["alpha"])
    training = run.get("training") if isinstance(run.get("training"), dict) else {}
    return {
        "arm": arm_id(method, alpha),
        "arm_label": arm_label(method, alpha),
        "dataset": recorded_dataset(training),
    }


def code_tags(run: dict) -> dict[str, str]:
    """The code that trained the run (its config.json's `code`, provenance.code_identity) as tags: MLflow
    shows mlflow.source.git.commit, beside the source's name, as the run's version."""
    code = run.get("code") if isinstance(run.get("code"), dict) else {}
    tags = {SOURCE_NAME_TAG: "mixup-bench", SOURCE_TYPE_TAG: "LOCAL"}  # MLflow's Source column, with the commit
    if isinstance(code.get("git_sha"), str):
        tags[GIT_COMMIT_TAG] = code["git_sha"]
    if code.get("git_dirty") is not None:
        tags["mixup_bench.git_dirty"] = str(bool(code["git_dirty"])).lower()
    if isinstance(code.get("source_hash"), str):
        tags["mixup_bench.source_hash"] = code["source_hash"]
    return tags
