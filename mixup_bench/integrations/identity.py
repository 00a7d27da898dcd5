"""Which experiment a dashboard's data belong to: its identity, not its folder's name.

Two experiments may share a name (`results/demo` and `elsewhere/demo`), and a folder may be deleted and
run anew under the same name. A dashboard keyed by the name would merge their runs: one MLflow run or
TensorBoard folder holding test accuracies of both. The identity is a short hash of the experiment
folder's absolute path and the time its experiment.json says it was created: the same for a live run
and for every later export of that experiment, different for any other one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mixup_bench.errors import UserError
from mixup_bench.results.records import read_experiment

IDENTITY_LENGTH = 12  # hex digits


def experiment_identity(exp_path: Path) -> str:
    """The experiment's identity (see the module docstring); without a readable experiment.json (a folder
    from before it was written), the path alone."""
    try:
        record = read_experiment(Path(exp_path))
    except UserError:
        record = None
    created = record.get("created") if isinstance(record, dict) else None
    text = f"{Path(exp_path).resolve()}\n{created if isinstance(created, str) else ''}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:IDENTITY_LENGTH]
