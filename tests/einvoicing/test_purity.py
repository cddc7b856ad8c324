"""The e-invoicing library stays a pure layer-0 library: the standard library, lxml, cryptography and msgspec only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[2] / "atlas" / "einvoicing"
ALLOWED = {"lxml", "cryptography", "msgspec", "atlas"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_standard_library_lxml_cryptography_and_msgspec():
    files = sorted(LIBRARY.glob("*.py"))
    assert len(files) >= 8
    for path in files:
        outside = imported_roots(path) - ALLOWED - set(sys.stdlib_module_names) - {"__future__"}
        assert outside == set(), f"{path.name} imports {outside}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("atlas."):
                assert node.module.startswith("atlas.einvoicing"), f"{path.name} imports {node.module}"
