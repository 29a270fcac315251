"""The command runs as the installed `httprouter` script, as `python -m httprouter` and as
`python -m httprouter.ops.cli`, and every way names itself `httprouter`."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["httprouter", "httprouter.ops.cli"])
def test_python_dash_m_runs_the_command(module, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "serve" in proc.stdout and "user" in proc.stdout
    if module == "httprouter":
        assert proc.stdout.startswith("Usage: httprouter [OPTIONS] COMMAND")
