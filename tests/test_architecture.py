"""Tests of the layout: nn is pure math (numpy + stdlib), and imports flow one way, downward.

The subpackages of experiments/ stand on floors; a module may import its own subpackage,
or one on a lower floor, never one on its floor or above, and no modules import each other
in a loop. Imports inside functions count too: a lazy import is still a dependency.
"""

import ast
import sys
from pathlib import Path

import pytest

import experiments
import nn

NN_DIR = Path(nn.__file__).parent
ROOT = NN_DIR.parent

# Floors, from the ground up: what each part of the project may import is below it.
FLOORS = {
    "nn": 0,
    "experiments": 1,  # the shared modules: errors, files (atomic writes), argtypes
    "experiments.data": 2,
    "experiments.store": 2,
    "experiments.report": 3,
    "experiments.bench": 3,
    "experiments.predict": 3,
    "experiments.export": 4,  # reads results through the report's frames
    "experiments.sweep": 4,
    "experiments.train": 5,
    "experiments.__main__": 6,  # dispatches to every command (by name, at run time)
}


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def module_name(path, root=ROOT):
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root, packages=("nn", "experiments")):
    """{module: {modules of `packages` it imports}} for every .py file under root/packages.

    `from a.b import c` is an import of a.b.c when that is a module, else of a.b.
    """
    paths = [path for package in packages for path in sorted((root / package).rglob("*.py"))]
    modules = {module_name(path, root): path for path in paths}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolved against this module's package
                    package = name.split(".")[:len(name.split(".")) - node.level +
                                                (path.name == "__init__.py")]
                    base = ".".join(package + ([node.module] if node.module else []))
                else:
                    base = node.module
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    targets.add(candidate if candidate in modules else base)
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def part_of(module, floors=FLOORS):
    """The longest key of `floors` that `module` is, or lies inside."""
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        if ".".join(parts[:length]) in floors:
            return ".".join(parts[:length])
    raise KeyError(module)


def upward_imports(graph, floors=FLOORS):
    """Imports between two parts where the importer does not stand above what it imports."""
    bad = []
    for module, targets in sorted(graph.items()):
        part = part_of(module, floors)
        for target in sorted(targets):
            other = part_of(target, floors)
            if other != part and floors[other] >= floors[part]:
                bad.append(f"{module} (floor {floors[part]}) imports {target} "
                           f"(floor {floors[other]})")
    return bad


def test_nn_imports_only_numpy_the_stdlib_and_itself():
    allowed = {"numpy", "nn"} | set(sys.stdlib_module_names)
    for path in sorted(NN_DIR.glob("*.py")):
        outside = set(imported_modules(path)) - allowed
        assert not outside, f"{path.name} imports {sorted(outside)}"


def test_nn_neither_prints_nor_uses_the_global_random_state():
    for path in sorted(NN_DIR.glob("*.py")):
        text = path.read_text()
        assert "print(" not in text, path.name
        assert "np.random.seed" not in text and "np.random.rand" not in text, path.name


def test_no_module_imports_another_that_imports_it_back():
    assert cycles(import_graph(ROOT)) == []


def test_imports_only_go_down_between_the_parts():
    assert upward_imports(import_graph(ROOT)) == []


def test_every_module_stands_on_a_floor_and_every_subpackage_says_what_it_owns():
    graph = import_graph(ROOT)
    for module in graph:
        part_of(module)  # a new subpackage must be given its floor above
    for package in sorted(Path(experiments.__file__).parent.glob("*/__init__.py")):
        docstring = ast.get_docstring(ast.parse(package.read_text()))
        assert docstring and len(docstring) > 40, f"{package} has no docstring saying what it owns"


def write_tree(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize("importer, imported", [
    ("experiments/report/plots.py", "from experiments.report.table import network_label\n"),
    ("experiments/report/plots.py", "def late():\n    from experiments.report import table\n"),
])
def test_a_circle_is_found_whether_imported_at_the_top_or_inside_a_function(tmp_path, importer,
                                                                             imported):
    write_tree(tmp_path, {
        "nn/__init__.py": "", "experiments/__init__.py": "", "experiments/report/__init__.py": "",
        "experiments/report/table.py": "from experiments.report import plots\n",
        importer: imported,
    })
    assert cycles(import_graph(tmp_path)) == [["experiments.report.plots",
                                               "experiments.report.table"]]


def test_an_upward_or_sideways_import_between_parts_is_found(tmp_path):
    write_tree(tmp_path, {
        "nn/__init__.py": "import experiments.errors\n",
        "experiments/__init__.py": "", "experiments/errors.py": "",
        "experiments/data/__init__.py": "", "experiments/store/__init__.py": "",
        "experiments/data/idx.py": "from experiments.store import columns\n",
        "experiments/store/columns.py": "",
    })
    assert upward_imports(import_graph(tmp_path)) == [
        "experiments.data.idx (floor 2) imports experiments.store.columns (floor 2)",
        "nn (floor 0) imports experiments.errors (floor 1)",
    ]
