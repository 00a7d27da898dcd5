"""Reading the JSON files of a results folder: any JSON object (config.json, DONE, ...) and experiment.json,
each with one clear line when the file is missing, unreadable, or not a JSON object."""

from __future__ import annotations

import json
from pathlib import Path

from mixup_bench.errors import UserError
from mixup_bench.results.layout import EXPERIMENT_FILE

_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def read_json(path: Path) -> dict:
    """A JSON object from `path`. UserError, one line, when the file is missing, unreadable, not
    JSON, or JSON other than an object (a list, a number, null ...)."""
    try:
        record = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"{path} is missing.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path} is not valid JSON ({e}); restore it or delete the folder.") from None
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}.") from None
    if not isinstance(record, dict):
        raise UserError(f"{path} holds {_JSON_KINDS.get(type(record), 'null')}, not a JSON object.")
    return record


def read_experiment(experiment_dir: Path) -> dict | None:
    """The experiment.json of an experiment folder, or None when the folder has none.

    The one reader of experiment.json (`run`, `status` and `plot` all use it). Raises UserError,
    one line, when the file cannot be read, is not valid JSON, or holds JSON other than an object.
    """
    path = Path(experiment_dir) / EXPERIMENT_FILE
    fix = "restore it, or delete it to start the record anew"
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{path} is not readable JSON ({e}); {fix}.") from None
    if not isinstance(record, dict):
        kind = _JSON_KINDS.get(type(record), "null")
        raise UserError(f"{path} holds {kind}, not a JSON object; {fix}.")
    return record
