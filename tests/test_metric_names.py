"""A measure is named in one place: `metrics.METRICS`. Everywhere else it is reached through a record
(`METRICS[...]`, `metrics.M.test_acc.name`) or a list derived from them (`metrics.CLAIM`, `LOGGED`, ...),
so adding or renaming a measure is one edit, and a hand-written list cannot fall out of step.

The check reads every .py file of the package with `ast` and fails on a string constant that is exactly
a metric name (any `Metric.name`, or the CSV column of its paired difference, `Metric.delta_column`)
outside metrics.py. A line may keep one on purpose with a trailing `# metric-name: deliberate`; a whole
file only through `ALLOWED`, with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

from mixup_bench.metrics import METRICS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mixup_bench"
HOME = PACKAGE / "metrics.py"  # where the names are written, once
MARK = "# metric-name: deliberate"
NAMES = frozenset(METRICS) | frozenset(m.delta_column for m in METRICS.values())

# File (relative to the repository) -> the names it may still spell, and why. Each entry must still be
# needed: an entry whose names are gone fails `test_every_allowed_name_is_still_there`, so delete it then.
ALLOWED: dict[str, tuple[frozenset[str], str]] = {}


def spelled_names(source: str, names: frozenset[str] = NAMES) -> list[tuple[int, str]]:
    """(line, name) of every string constant in `source` that is exactly one of `names` (f-strings' parts and
    subscripts count), except those on a line that ends with MARK."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
            span = lines[node.lineno - 1 : node.end_lineno]
            if not any(line.rstrip().endswith(MARK) for line in span):
                found.append((node.lineno, node.value))
    return sorted(found)


def package_spellings(package: Path = PACKAGE, home: Path = HOME) -> dict[str, list[tuple[int, str]]]:
    """Repository-relative file -> its `spelled_names`, for every .py file of `package` but `home`."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        if path != home and (hits := spelled_names(path.read_text())):
            found[path.relative_to(package.parent).as_posix()] = hits
    return found


def test_no_metric_name_is_spelled_outside_metrics_py():
    spellings = package_spellings()
    unexplained = [
        f"{path}:{line} {name!r}"
        for path, hits in spellings.items()
        for line, name in hits
        if name not in ALLOWED.get(path, (frozenset(), ""))[0]
    ]
    assert unexplained == [], (
        "metric names written as strings; reach them through metrics.METRICS / metrics.M, or end the line "
        f"with '{MARK}': {unexplained}"
    )


def test_every_allowed_name_is_still_there():
    """An exception outlives its reason silently unless this fails: delete the entry when its names are gone."""
    spellings = package_spellings()
    stale = {
        path: sorted(names - {name for _, name in spellings.get(path, [])})
        for path, (names, _) in ALLOWED.items()
        if names - {name for _, name in spellings.get(path, [])}
    }
    assert stale == {}, f"ALLOWED lists names these files no longer spell; delete them: {stale}"


def test_every_exception_says_why():
    assert all(reason.strip() for _, reason in ALLOWED.values())


# --- the check itself, on small sources ----------------------------------------------------------------


def test_a_spelled_name_is_found_wherever_it_is_a_whole_string():
    source = (
        "COLUMNS = ('epoch', 'test_acc')\n"
        "def f(row):\n"
        "    return row['clean_train_loss'] + row.get(\"gap\")\n"
        "LINE = f\"{row['delta_test_acc_pp']:.2f}\"\n"
    )
    assert spelled_names(source) == [(1, "test_acc"), (3, "clean_train_loss"), (3, "gap"), (4, "delta_test_acc_pp")]


def test_prose_other_strings_and_marked_lines_are_not_found():
    source = (
        '"""A docstring about test_acc and the gap."""\n'
        "NAME = 'test_accuracy'\n"
        "KEY = 'test_acc'  # metric-name: deliberate\n"
        "SPLIT = (\n"
        "    'gap',  # metric-name: deliberate\n"
        ")\n"
        "x = metrics.M.test_acc.name\n"
    )
    assert spelled_names(source) == []


def test_the_package_scan_skips_the_home_and_names_the_file(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "metrics.py").write_text("NAMES = ('test_acc', 'gap')\n")
    (package / "sub" / "use.py").write_text("\n\nX = 'test_loss'\n")
    assert package_spellings(package, package / "metrics.py") == {"pkg/sub/use.py": [(3, "test_loss")]}
