"""The core (router, dispatcher, outbox, statuses, reports) names no gateway and imports no
engine: everything particular to a gateway lives in its engine under httprouter/gateways/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "httprouter"
CORE = [
    "router.py",
    "delivery/dispatcher.py",
    "delivery/resend.py",
    "delivery/wakeup.py",
    "store/outbox.py",
    "store/history.py",
    "store/reports.py",
    "store/schema.py",
    "domain/messages.py",
]
# The gateways' names, and their jargon, as words in any case.
NAMES = re.compile(
    r"\b(kannel|jasmin|smssync|envaya\w*|android\w*|relayer|sendsms|smsc|dlr\w*)\b", re.I
)
CONTRACT = "httprouter.gateways.base"  # the one gateways module the core may import


@pytest.mark.parametrize("name", CORE)
def test_core_module_imports_only_the_engine_contract(name):
    tree = ast.parse((PACKAGE / name).read_text())
    package = ["httprouter", *Path(name).parent.parts]
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package[: len(package) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            imported.add(base)
            imported.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    engines = {m for m in imported if m.startswith("httprouter.gateways") and CONTRACT not in m}
    engines.discard("httprouter.gateways")
    assert not engines, f"{name} imports {sorted(engines)}"


@pytest.mark.parametrize("name", CORE)
def test_core_module_names_no_gateway(name):
    found = [
        (number, line.strip())
        for number, line in enumerate((PACKAGE / name).read_text().splitlines(), 1)
        if NAMES.search(line)
    ]
    assert not found, f"{name} names a gateway: {found}"


def test_the_check_finds_a_gateway_name():
    assert NAMES.search("push to Kannel's sendsms")
    assert NAMES.search("read the DLR")
    assert not NAMES.search("push to the gateway")
