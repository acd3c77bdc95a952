"""Tests of the layout: nn is pure math (numpy + stdlib), imports flow experiments -> nn only."""

import ast
import sys
from pathlib import Path

import nn

NN_DIR = Path(nn.__file__).parent


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


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
