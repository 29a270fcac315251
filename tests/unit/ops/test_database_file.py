"""One database whichever folder a command runs from: the default SQLite file is
`httprouter.sqlite3` in the working folder, only `serve` and `db upgrade` create it, and every
command that cannot use the file says so in one line naming the path and DATABASE_URL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.support.servers import free_port

FILE = "httprouter.sqlite3"


def httprouter(cwd, *args, stdin="", prefix=(), **settings):
    env = {"PATH": "/usr/bin:/bin", "HTTPROUTER_LOG_FORMAT": "text"}
    env.update({f"HTTPROUTER_{key}": value for key, value in settings.items()})
    return subprocess.run(
        [*prefix, sys.executable, "-m", "httprouter", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def served_folder(tmp_path):
    """A folder whose database was made by `db upgrade` (as `serve` makes it), and another."""
    here, elsewhere = tmp_path / "service", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    assert httprouter(here, "db", "upgrade").returncode == 0
    return here, elsewhere


@pytest.mark.parametrize(
    "args",
    [
        ("user", "list"),
        ("user", "create", "alice", "--password-stdin"),
        ("user", "delete", "alice"),
        ("send", "--backend", "console", "--to", "+15551234", "hi"),
        ("resend",),
        ("worker",),
    ],
    ids=" ".join,
)
def test_a_command_elsewhere_names_the_file_it_looked_for_and_makes_none(served_folder, args):
    _, elsewhere = served_folder
    proc = httprouter(elsewhere, *args, stdin="a long password\n")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"no database at {elsewhere / FILE}" in lines[0]
    assert "HTTPROUTER_DATABASE_URL=sqlite:///" in lines[0]
    assert "db upgrade` first" not in lines[0]
    assert os.listdir(elsewhere) == []


def test_pointing_database_url_at_the_file_works_from_any_folder(served_folder):
    here, elsewhere = served_folder
    url = f"sqlite:///{here / FILE}"
    made = httprouter(
        elsewhere,
        "user",
        "create",
        "alice",
        "--password-stdin",
        stdin="a long pw\n",
        DATABASE_URL=url,
    )
    assert made.returncode == 0, made.stderr
    listed = httprouter(here, "user", "list")
    assert listed.stdout.startswith("alice\t"), listed.stdout + listed.stderr
    assert os.listdir(elsewhere) == []


def read_only(folder):
    """A command prefix under which `folder` is read-only, for root (as in CI) too."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return ()
    mount = 'mount --bind -o ro "$0" "$0" && shift && exec "$@"'
    prefix = ("unshare", "--map-root-user", "--mount", "sh", "-c", mount, str(folder), "--")
    if shutil.which("unshare") is None or subprocess.run([*prefix, "true"]).returncode != 0:
        pytest.skip("root here, and no unshare to mount a read-only folder")
    return prefix


@pytest.mark.parametrize(
    "args", [("serve", "--port"), ("db", "upgrade"), ("user", "list")], ids=" ".join
)
def test_a_read_only_folder_stops_a_command_in_one_line_naming_path_and_setting(tmp_path, args):
    if args[0] == "serve":
        args = (*args, str(free_port()))
    if args[0] == "user":  # a database is there, but SQLite cannot write beside it
        assert httprouter(tmp_path, "db", "upgrade").returncode == 0
    prefix = read_only(tmp_path)
    try:
        proc = httprouter(tmp_path, *args, prefix=prefix)
    finally:
        tmp_path.chmod(0o755)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(tmp_path / FILE) in lines[0] and "DATABASE_URL" in lines[0], lines[0]
    assert "not writable" in lines[0], lines[0]
