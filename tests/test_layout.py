"""The project guards its own layout: no import cycle between modules or between subpackages (imports
inside functions count), no function body over 60 lines, and the README's package layout names what exists.

The checker is a few lines of `ast` here, so the suite needs nothing outside the repository. Its own
tests run it on small packages written to a temporary folder.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mixup_bench"
MAX_BODY_LINES = 60


def modules(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (a package is its __init__)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path, node: ast.Import | ast.ImportFrom, known: dict[str, Path]) -> set[str]:
    """The package's modules that one import statement names (`from a import b` names a, and a.b if a module)."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the module's package, up level - 1
            package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
    return {t for t in targets if t in known}


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere in its file (inside functions and
    `if TYPE_CHECKING:` too). A module's own parent packages are left out: importing `a.b.c` runs them anyway."""
    known = modules(package)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name] |= {t for t in imported(name, path, node, known) if not (name + ".").startswith(t + ".")}
    return graph


def subpackage_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph between groups: `pkg.sub` and `pkg.sub.*` are the group `sub`; a top-level
    module (`pkg.config`) is a group of its own."""
    subpackages = {m.split(".")[1] for m in graph if m.count(".") >= 2}

    def group(module: str) -> str:
        parts = module.split(".")
        return parts[1] if len(parts) >= 2 and parts[1] in subpackages else module

    groups: dict[str, set[str]] = {group(m): set() for m in graph}
    for a, targets in graph.items():
        groups[group(a)] |= {group(b) for b in targets if group(b) != group(a)}
    return groups


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def long_functions(package: Path, limit: int = MAX_BODY_LINES) -> list[str]:
    """'file:line name (n lines)' for every function whose body, its docstring left out, is over `limit` lines."""
    over = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    body = body[1:]  # the docstring is not logic
                lines = node.end_lineno - body[0].lineno + 1
                if lines > limit:
                    over.append(f"{path.relative_to(package.parent)}:{node.lineno} {node.name} ({lines} lines)")
    return over


def readme_layout(readme: Path, package: str) -> tuple[set[str], set[str]]:
    """(subpackages, top-level module files) that the README's layout block names under `package/`."""
    lines = readme.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == f"{package}/"), None)
    assert start is not None, f"{readme.name} has no layout block that starts with a line '{package}/'"
    indent = len(lines[start]) - len(lines[start].lstrip())
    subpackages, files = set(), set()
    for line in lines[start + 1 :]:
        if not line.strip() or len(line) - len(line.lstrip()) <= indent:
            break
        first = line.split()[0]
        if first.endswith("/"):
            subpackages.add(first.rstrip("/"))
        files |= {word for word in line.split() if re.fullmatch(r"\w+\.py", word)}
    return subpackages, files


# --- the project ---------------------------------------------------------------------------


def test_no_import_cycle_between_modules():
    assert cycles(import_graph(PACKAGE)) == []


def test_no_import_cycle_between_subpackages():
    """`analysis` must not import `figures` (the command layer wires them), `config` must not import `train`, ..."""
    assert cycles(subpackage_graph(import_graph(PACKAGE))) == []


def test_no_function_body_over_60_lines():
    assert long_functions(PACKAGE) == []


def test_the_readme_layout_names_every_subpackage_and_module_that_exists_and_no_other():
    subpackages, files = readme_layout(ROOT / "README.md", PACKAGE.name)
    real = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert subpackages == real, f"README layout: {sorted(subpackages)}; mixup_bench/ has {sorted(real)}"
    assert {f for f in files if not (PACKAGE / f).is_file()} == set()


# --- the checker itself, on small packages -------------------------------------------------


def write_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path):
    pkg = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg import b\n",
            "b.py": "def f():\n    from pkg.c import g\n",
            "c.py": "def g():\n    import pkg.a\n",
            "d.py": "from pkg import a\n",
        },
    )
    assert cycles(import_graph(pkg)) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_a_cycle_between_subpackages_is_found_even_when_modules_do_not_form_one(tmp_path):
    pkg = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "config.py": "",
            "low/__init__.py": "",
            "low/x.py": "def f():\n    from ..high import z\n",  # relative, inside a function
            "low/y.py": "from pkg import config\n",
            "high/__init__.py": "",
            "high/z.py": "import pkg.low.y\n",
        },
    )
    graph = import_graph(pkg)
    assert cycles(graph) == []
    assert cycles(subpackage_graph(graph)) == [["high", "low"]]


def test_a_long_function_is_found_and_its_docstring_does_not_count(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_BODY_LINES))
    pkg = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "ok.py": 'def f():\n    """A docstring\n    over lines."""\n' + body,
            "long.py": "def g():\n" + body + "    return 0\n",
        },
    )
    assert long_functions(pkg) == [f"pkg/long.py:1 g ({MAX_BODY_LINES + 1} lines)"]


def test_the_readme_layout_block_is_read_up_to_its_end(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "Text.\n\n    pkg/\n      cli.py  naming.py   commands\n      train/   data, loop\n"
        "                 more words/\n      sweep/   runner\n    tests/   mirrors it\n"
    )
    assert readme_layout(readme, "pkg") == ({"train", "sweep"}, {"cli.py", "naming.py"})


@pytest.mark.parametrize("text", ["No layout here.\n", "    package/\n      train/\n"])
def test_a_readme_without_the_layout_block_fails(tmp_path, text):
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(AssertionError, match="no layout block"):
        readme_layout(readme, "pkg")
