"""Each folder of the package is one layer, and a layer imports only the layers below it.

    ops        cli, serve supervision, config check, applying migrations
    web        api/ (the HTTP endpoints) and console/
    delivery   the dispatcher, wake-up, resend
    gateways   the engine contract and the engines
    core       router.py, phases.py, apps/
    store      every query: engine, schema, history, outbox, reports, log, counts, users, tokens
    domain     messages, identities, encodings, parameters
    base       config, errors, clock, logs, redaction, plugin loading, secrets, metrics

`httprouter/__init__.py` (create_app and the Python API) and `httprouter/__main__.py` (the
command, as `python -m httprouter`) stand above them all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "httprouter"
ORDER = ["base", "domain", "store", "core", "gateways", "delivery", "web", "ops"]
FOLDERS = {"domain", "store", "gateways", "delivery", "web", "ops"}
CORE = {"router", "phases", "apps"}


def layer(module: str) -> str | None:
    """The layer of a module `httprouter.x.y` (None: the package root's __init__, or outside)."""
    parts = module.split(".")
    if parts[0] != "httprouter":
        return None
    if len(parts) == 1 or parts[1] == "__main__":
        return None  # httprouter/__init__.py and __main__.py: the top
    head = parts[1]
    if head in FOLDERS:
        return head
    if head in CORE:
        return "core"
    return "base"


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def imports(module: str, path: Path):
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                up = package[: len(package) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield node.lineno, base
            for alias in node.names:  # `from . import metrics` names a module
                yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


@pytest.mark.parametrize(("module", "path"), list(modules()), ids=lambda v: str(v))
def test_no_layer_imports_a_layer_above_it(module, path):
    own = layer(module)
    if own is None:
        return
    above = []
    for lineno, target in imports(module, path):
        theirs = layer(target)
        if theirs is not None and ORDER.index(theirs) > ORDER.index(own):
            above.append(f"line {lineno}: {target} ({theirs})")
    assert not above, f"{module} ({own}) imports from above: {above}"
