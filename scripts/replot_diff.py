"""Do two versions of the code plot the same experiments the same? Re-plot each with both and compare the text.

    git worktree add --detach /tmp/base main          # the version to compare against
    python scripts/replot_diff.py --base /tmp/base results/demo results/methods:--reference=mixup-a0.4

Each experiment folder is copied twice into a temporary folder (plot writes into the folder it plots) and
plotted there with `python -m mixup_bench plot`, once with the package of `--base` and once with this
checkout's, each on its own PYTHONPATH. Every text file plot writes (summary.md and the CSV files) and the
console output (the temporary paths made equal) must be byte-identical; the figures are not compared
(matplotlib's output is checked by eye and by the figure tests). `FOLDER:OPTION...` passes plot options
(`:`-separated). Exit status 1 when any output differs.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRITTEN = ("*.md", "*.csv")


def plot(code: Path, folder: Path, options: list[str]) -> str:
    """Run `plot` on `folder` with the package at `code`; return its console output with `folder` made neutral."""
    env = {**os.environ, "PYTHONPATH": str(code), "COLUMNS": "240", "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "mixup_bench", "plot", str(folder), *options],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return f"exit {run.returncode}\n" + (run.stdout + run.stderr).replace(str(folder), "<experiment>")


def texts(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for pattern in WRITTEN for p in sorted(folder.glob(pattern))}


def compare(base: Path, new: Path, spec: str, tmp: Path) -> list[str]:
    """The differences for one `FOLDER[:OPTION...]`, as unified diff lines ([] when every output is the same)."""
    source, *options = spec.split(":")
    source = Path(source)
    outputs = {}
    for side, code in (("base", base), ("new", new)):
        copy = tmp / side / source.as_posix().replace("/", "_") / source.name
        shutil.copytree(source, copy)
        outputs[side] = {"console": plot(code, copy, options), **texts(copy)}
    diffs = []
    for name in sorted(set(outputs["base"]) | set(outputs["new"])):
        a, b = outputs["base"].get(name, ""), outputs["new"].get(name, "")
        if a != b:
            diffs += difflib.unified_diff(a.splitlines(), b.splitlines(), f"base/{name}", f"new/{name}", lineterm="")
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the checkout to compare against (its root)")
    parser.add_argument("--new", type=Path, default=ROOT, help="the checkout compared (default: this one)")
    parser.add_argument("experiments", nargs="+", help="FOLDER or FOLDER:--option=value")
    args = parser.parse_args(argv)
    differing = 0
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.experiments:
            diffs = compare(args.base.resolve(), args.new.resolve(), spec, Path(tmp))
            print(f"{'same' if not diffs else 'DIFFERS'}: {spec}", flush=True)
            if diffs:
                differing += 1
                print("\n".join(diffs[:60]), flush=True)
    print(f"{len(args.experiments) - differing} of {len(args.experiments)} experiments give the same text.")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
