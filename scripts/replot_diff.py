"""Do two versions of the code plot the same experiments the same? Re-plot each with both and compare the text.

    git worktree add --detach /tmp/base main          # the version to compare against
    python scripts/replot_diff.py --base /tmp/base results/demo results/methods:--reference=mixup-a0.4

Each experiment folder is copied twice into a temporary folder (plot writes into the folder it plots) and
plotted there with `python -m mixup_bench plot`, once with the package of `--base` and once with this
checkout's, each on its own PYTHONPATH. Every text file plot writes (summary.md and the CSV files), the
console output (the temporary paths made equal) and every figure (PNG and SVG, by their bytes) must be
identical. Each experiment's line also says whether the new text files equal the committed ones of the
folder (they may not, where a commit re-plotted with older code or other options; that alone fails nothing).
`FOLDER:OPTION...` passes plot options (`:`-separated). Exit status 1 when the two versions differ.
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
FIGURES = ("plots/*.png", "plots/*.svg")


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


def figures(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for pattern in FIGURES for p in sorted(folder.glob(pattern))}


def compare(base: Path, new: Path, spec: str, tmp: Path) -> tuple[list[str], list[str]]:
    """The differences for one `FOLDER[:OPTION...]`, as unified diff lines ([] when every output is the same),
    and the names of the text files where the new output differs from the committed one."""
    source, *options = spec.split(":")
    source = Path(source)
    outputs, drawn = {}, {}
    for side, code in (("base", base), ("new", new)):
        copy = tmp / side / spec.replace("/", "_") / source.name  # the options too: one folder, plotted two ways
        shutil.copytree(source, copy)
        outputs[side] = {"console": plot(code, copy, options), **texts(copy)}
        drawn[side] = figures(copy)
    committed = texts(source)
    changed = [name for name, text in committed.items() if outputs["new"].get(name, text) != text]
    diffs = [f"figure {name} differs" for name in sorted(set(drawn["base"]) | set(drawn["new"]))
             if drawn["base"].get(name) != drawn["new"].get(name)]  # fmt: skip
    for name in sorted(set(outputs["base"]) | set(outputs["new"])):
        a, b = outputs["base"].get(name, ""), outputs["new"].get(name, "")
        if a != b:
            diffs += difflib.unified_diff(a.splitlines(), b.splitlines(), f"base/{name}", f"new/{name}", lineterm="")
    return diffs, changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the checkout to compare against (its root)")
    parser.add_argument("--new", type=Path, default=ROOT, help="the checkout compared (default: this one)")
    parser.add_argument("experiments", nargs="+", help="FOLDER or FOLDER:--option=value")
    args = parser.parse_args(argv)
    differing = 0
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.experiments:
            diffs, changed = compare(args.base.resolve(), args.new.resolve(), spec, Path(tmp))
            against = f"differs from the committed {', '.join(changed)}" if changed else "equals the committed text"
            print(f"{'same' if not diffs else 'DIFFERS'}: {spec} (new output {against})", flush=True)
            if diffs:
                differing += 1
                print("\n".join(diffs[:60]), flush=True)
    print(f"{len(args.experiments) - differing} of {len(args.experiments)} experiments give the same text.")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
