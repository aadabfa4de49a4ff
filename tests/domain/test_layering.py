"""portal.domain is pure Python: it may import the standard library and itself, nothing else."""

import ast
import sys
from pathlib import Path

import pytest

import portal.domain

DOMAIN = Path(portal.domain.__file__).parent
MODULES = sorted(DOMAIN.rglob("*.py"))


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_domain_imports_only_stdlib_and_itself(path):
    for name in _imported(path):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or name.startswith("portal.domain"), (
            f"{path.name} imports {name}"
        )
