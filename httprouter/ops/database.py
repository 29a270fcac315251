"""Which database a command uses, and one line saying why when it cannot use it.

DATABASE_URL defaults to `httprouter.sqlite3` in the working folder, so a command run in another
folder finds no file there. Only `serve` and `db upgrade` make the file; every other command
refuses a missing one, naming the path it looked at and how to name the right one, rather than
making a second, empty database. SQLite writes beside its file (`-wal`, `-shm`, and the write
gate's `.lock`), so a folder this user cannot write in stops any command the same way.
"""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

from ..config import SQLITE_FILE, default_database_url
from ..errors import ConfigError
from ..redact import redact_url
from ..store.engine import normalize_url

SETTING = "HTTPROUTER_DATABASE_URL"
EXAMPLE = f"{SETTING}=sqlite:////path/to/{SQLITE_FILE}"


def sqlite_file(url: str) -> str | None:
    """The absolute path of the file a SQLite DATABASE_URL names (None: not SQLite, or memory)."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
        return None
    return os.path.abspath(database)


def check_database(url: str, *, create: bool = False) -> None:
    """Make sure a SQLite DATABASE_URL's file is there (`create`: or can be made) and writable.

    Raise a ConfigError naming the file and DATABASE_URL otherwise; other databases pass as
    they are (their errors name their server).
    """
    path = sqlite_file(url)
    if path is None:
        return
    folder = os.path.dirname(path)
    which = (
        f"DATABASE_URL is not set, and its default is {SQLITE_FILE} in the working folder"
        if url == default_database_url()
        else f"DATABASE_URL is {redact_url(url)}"
    )
    exists = os.path.exists(path)
    if not exists and not create:
        raise ConfigError(
            f"no database at {path} ({which}): run the command in the folder where "
            f"`httprouter serve` runs, or name that database, as in {EXAMPLE} "
            "(`httprouter db upgrade` would make a new, empty one here)",
            field="DATABASE_URL",
        )
    if not os.path.isdir(folder):
        raise ConfigError(
            f"cannot make the database {path}: there is no folder {folder} ({which})",
            field="DATABASE_URL",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(
            f"cannot use the database {path}: its folder is not writable, and SQLite writes its "
            f"-wal, -shm and .lock files beside it ({which}); name a file in a folder this user "
            f"can write in, as in {EXAMPLE}",
            field="DATABASE_URL",
        )
    if exists and not os.access(path, os.R_OK | os.W_OK):
        raise ConfigError(
            f"cannot use the database {path}: the file is not writable by this user ({which})",
            field="DATABASE_URL",
        )
