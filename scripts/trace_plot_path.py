"""How long is the path from `plotting.plot_experiment` to the files it writes? A call trace says.

    python scripts/trace_plot_path.py results/demo            # prints the figure and the modules

The experiment folder is copied to a temporary folder first (plot writes into the folder it plots), and
plotted once untraced there, so that imports made inside functions are done before the trace starts: the
figure measures the path, not the imports. The second plot runs under `sys.setprofile`; every call into a
function whose code lies in the package counts for that function's module. The trace gives:

- modules: the distinct package modules entered (their functions called), with how often each was entered;
- entries: the package modules in call order, a run of calls within one module counted once;
- returns: entries into a module that had already been entered and left (entries - modules);
- the modules split into the plot path's own layers (`plotting`, `analysis.*`, `figures.*`) and the shared
  modules it looks things up in (metrics, naming, results, ...), which every command uses.

With `--console`, the tables are also printed (into a buffer), as `mixup-bench plot` does.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

PACKAGE = "mixup_bench"


def module_of(filename: str, package_dir: Path) -> str | None:
    """The dotted package module a code object's file belongs to, or None outside the package."""
    try:
        rel = Path(filename).resolve().relative_to(package_dir.parent)
    except (ValueError, OSError):
        return None
    parts = rel.with_suffix("").parts
    if not parts or parts[0] != PACKAGE:
        return None
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def trace(plot, package_dir: Path) -> list[str]:
    """The package modules entered while `plot()` runs, in call order, consecutive calls in one module merged."""
    entries: list[str] = []
    cache: dict[str, str | None] = {}

    def profile(frame, event, arg):
        if event != "call":
            return
        filename = frame.f_code.co_filename
        if filename not in cache:
            cache[filename] = module_of(filename, package_dir)
        module = cache[filename]
        if module is not None and (not entries or entries[-1] != module):
            entries.append(module)

    sys.setprofile(profile)
    try:
        plot()
    finally:
        sys.setprofile(None)
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", type=Path, help="an experiment folder (it is copied, never written)")
    parser.add_argument("--console", action="store_true", help="also print the tables, as `plot` does")
    args = parser.parse_args(argv)

    import mixup_bench
    from mixup_bench import plotting

    package_dir = Path(mixup_bench.__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        copies = [Path(tmp) / name / args.experiment.name for name in ("warm", "traced")]
        for copy in copies:
            shutil.copytree(args.experiment, copy)

        def plot(folder: Path):
            console = None
            if args.console:
                from rich.console import Console

                console = Console(file=io.StringIO(), width=200)
            return lambda: plotting.plot_experiment(folder, console)

        plot(copies[0])()  # untraced: the imports inside functions happen here
        entries = trace(plot(copies[1]), package_dir)

    counts = Counter(entries)
    own = [
        m for m in counts if m == f"{PACKAGE}.plotting" or m.startswith((f"{PACKAGE}.analysis.", f"{PACKAGE}.figures."))
    ]
    print(f"experiment: {args.experiment}")
    print(f"package: {package_dir}")
    shared = len(counts) - len(own)
    print(f"modules entered: {len(counts)} ({len(own)} of plotting, analysis and figures; {shared} shared)")
    print(f"entries: {len(entries)}")
    print(f"returns to a module already left: {len(entries) - len(counts)}")
    for module, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:4d}  {module}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
