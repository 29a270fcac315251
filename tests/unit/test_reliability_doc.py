"""Every test that docs/RELIABILITY.md cites exists, so the document stays true."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_cited_test_exists():
    text = (ROOT / "docs" / "RELIABILITY.md").read_text()
    files = set(re.findall(r"(tests/[\w/]+\.py)", text))
    names = set(re.findall(r"::(\w+)", text))
    assert files and names
    defined = {
        node.name
        for path in (ROOT / "tests").rglob("test_*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef)
    }
    assert sorted(f for f in files if not (ROOT / f).exists()) == []
    assert sorted(names - defined) == []
