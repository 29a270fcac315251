"""Installing httprouter prints no build warning, editable (`./scripts/test`, the README) or as a
wheel (`pip install .`, the container), and the wheel carries the migrations and console files."""

from __future__ import annotations

import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# setuptools' warnings as pip shows them: "BuildBackendWarning: …", "SetuptoolsDeprecationWarning"
BUILD_WARNING = re.compile(r"[a-z]Warning\b")


def pip(target: Path, *args: str) -> str:
    """Run this interpreter's pip on the interpreter `target`; return what it printed."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(target), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_editable_and_wheel_installs_print_no_build_warning(tmp_path):
    venv.create(tmp_path / "venv", with_pip=False)
    python = tmp_path / "venv" / "bin" / "python"
    editable = pip(python, "install", "--no-deps", "--no-cache-dir", "-e", str(ROOT))
    assert not BUILD_WARNING.search(editable), editable
    wheel = pip(python, "wheel", "--no-deps", "--no-cache-dir", "-w", str(tmp_path), str(ROOT))
    assert not BUILD_WARNING.search(wheel), wheel
    (built,) = tmp_path.glob("httprouter-*.whl")
    names = set(zipfile.ZipFile(built).namelist())
    for name in (
        "httprouter/migrations/env.py",
        "httprouter/migrations/script.py.mako",
        "httprouter/migrations/versions/0001_initial.py",
        "httprouter/web/console/templates/console/base.html",
        "httprouter/web/console/static/console.js",
    ):
        assert name in names, name
