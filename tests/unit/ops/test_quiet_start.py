"""Commands start quietly: alembic's INFO lines (its plugin set-up, "Context impl", each step)
show only at LOG_LEVEL DEBUG or with `httprouter --verbose`."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


def run(tmp_path, *args, **settings):
    env = {"PATH": "/usr/bin:/bin", "HTTPROUTER_LOG_FORMAT": "text"}
    env.update({f"HTTPROUTER_{key}": value for key, value in settings.items()})
    return subprocess.run(
        [sys.executable, "-m", "httprouter", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_db_upgrade_says_what_it_did_in_one_line_and_no_alembic_chatter(tmp_path):
    proc = run(tmp_path, "db", "upgrade")
    assert proc.returncode == 0, proc.stderr
    assert "alembic" not in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") <= 1, proc.stderr
    assert re.search(r" at \d{4}\n", proc.stdout), proc.stdout  # the revision it is at


@pytest.mark.parametrize(
    ("args", "settings"),
    [(("--verbose", "db", "upgrade"), {}), (("db", "upgrade"), {"LOG_LEVEL": "DEBUG"})],
    ids=["--verbose", "LOG_LEVEL=DEBUG"],
)
def test_alembic_steps_show_when_asked_for(tmp_path, args, settings):
    proc = run(tmp_path, *args, **settings)
    assert proc.returncode == 0, proc.stderr
    assert "alembic.runtime.migration Running upgrade  -> 0001" in proc.stderr, proc.stderr
