"""The `mixup-bench` command line. Thin commands: parse options into a config, call a plain function, turn a
UserError into one line and exit code 2. The group and what commands share: `app`; `run`, `presets` and
`methods`: `run`; the others: `commands` (each module registers its commands on `app` when imported)."""

from __future__ import annotations

from mixup_bench.cli import commands, run  # noqa: F401 - importing them registers their commands
from mixup_bench.cli.app import app, console, os_error_line, user_errors
from mixup_bench.cli.run import _RunCommand

__all__ = ["app", "console", "main", "os_error_line", "user_errors", "_RunCommand"]


def main() -> None:  # pragma: no cover - console script entry
    app()
