"""Repository layout rules that keep the suite collectable and the architecture one-way."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PKG = TESTS.parent / "hubindex"


def test_test_module_basenames_are_unique() -> None:
    """Test folders are not packages, so two test files with one basename break collection."""
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []


def _imports(path: Path) -> set[str]:
    mods: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            mods |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module)
    return mods


def test_engine_knows_nothing_of_the_outer_packages() -> None:
    outer = ("hubindex.web", "hubindex.publish", "hubindex.store", "hubindex.audit", "hubindex.survey",
             "hubindex.datasets", "hubindex.cli")
    for p in (PKG / "engine").glob("*.py"):
        bad = [m for m in _imports(p) if m.startswith(outer)]
        assert bad == [], f"{p.name} imports {bad}"
