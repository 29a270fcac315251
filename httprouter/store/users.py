"""Console users: hashed passwords, and a growing lock-out after repeated failed logins.

Users live in the `console_users` table (created with `httprouter user create`). CONSOLE_USERS
may also declare `{"username": "<werkzeug password hash>"}`; such a user gets a row on first
login so that its failed logins are counted like everyone else's. No Flask here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock
from ..errors import ConflictError, NotFoundError, ValidationError
from .engine import insert_or_skip
from .schema import console_users

log = logging.getLogger(__name__)

MAX_USERNAME_LENGTH = 150
MIN_PASSWORD_LENGTH = 8
# Failed logins allowed before the account is locked; each further failure doubles the lock.
FREE_ATTEMPTS = 5
LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 3600

# Compared against when the username is unknown, so both cases cost one hash check. Written out
# rather than hashed at import: scrypt takes 32 MB for a moment, in every process importing this.
# Made by generate_password_hash (werkzeug's default method) from a password nobody has.
DUMMY_HASH = (
    "scrypt:32768:8:1$HVkYJd057kYhzigu$a4d26d0e9fbde79305a111551d15fef24e14703b6235a8b47c89fe0a8da3"
    "dc2dbdb1ee1ea745f5fce0371040a1f0272d64cb8b68e6124749dca216dcad9649cc"
)


@dataclass(frozen=True)
class User:
    """A console user as the console and the command line see it."""

    id: int
    username: str
    created_at: datetime
    last_login_at: datetime | None
    failed_logins: int
    locked_until: datetime | None


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login: the user, or why not (and until when, when locked)."""

    user: User | None
    locked_until: datetime | None = None


def check_username(username: str) -> str:
    """Return a stripped username, or raise ValidationError naming the field."""
    name = username.strip()
    if not name:
        raise ValidationError("username is required", field="username")
    if len(name) > MAX_USERNAME_LENGTH:
        raise ValidationError(
            f"username is longer than {MAX_USERNAME_LENGTH} characters", field="username"
        )
    if any(not ch.isprintable() for ch in name):
        raise ValidationError("username contains control characters", field="username")
    return name


def check_password(password: str) -> str:
    """Return the password if it is long enough, or raise ValidationError."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return password


def _user(row: Any) -> User:
    return User(
        id=row.id,
        username=row.username,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
    )


def create_user(engine: Engine, username: str, password: str) -> User:
    """Create a console user with a hashed password; a taken name is a ConflictError."""
    name = check_username(username)
    hashed = generate_password_hash(check_password(password))
    with engine.begin() as conn:
        if conn.execute(select(console_users.c.id).where(console_users.c.username == name)).first():
            raise ConflictError(f"user {name!r} already exists", field="username")
        conn.execute(insert(console_users).values(username=name, password_hash=hashed))
        row = conn.execute(select(console_users).where(console_users.c.username == name)).one()
    log.info("console user created", extra={"username": name})
    return _user(row)


def list_users(engine: Engine) -> list[User]:
    """Return every console user, by name."""
    with engine.connect() as conn:
        rows = conn.execute(select(console_users).order_by(console_users.c.username)).all()
    return [_user(r) for r in rows]


def delete_user(engine: Engine, username: str) -> None:
    """Delete a console user (their sessions end at their next request)."""
    with engine.begin() as conn:
        gone = conn.execute(delete(console_users).where(console_users.c.username == username))
    if gone.rowcount == 0:
        raise NotFoundError(f"no console user {username!r}", field="username")
    log.info("console user deleted", extra={"username": username})


def has_users(conn: Connection, declared: Mapping[str, str]) -> bool:
    """Tell whether anyone can log in at all (a row, or a user declared in CONSOLE_USERS)."""
    if declared:
        return True
    return bool(conn.execute(select(func.count()).select_from(console_users)).scalar())


def get_user(conn: Connection, user_id: int) -> User | None:
    """Return the user with `user_id`, or None when it was deleted."""
    row = conn.execute(select(console_users).where(console_users.c.id == user_id)).first()
    return _user(row) if row is not None else None


def lock_seconds(failed_logins: int) -> int:
    """Seconds an account stays locked after its `failed_logins`-th failure in a row."""
    if failed_logins < FREE_ATTEMPTS:
        return 0
    return int(min(LOCK_SECONDS * 2 ** (failed_logins - FREE_ATTEMPTS), MAX_LOCK_SECONDS))


def authenticate(
    engine: Engine, username: str, password: str, declared: Mapping[str, str] | None = None
) -> LoginResult:
    """Check a login; count failures and lock the account for a growing time after several."""
    name = username.strip()
    now = clock.now()
    with engine.begin() as conn:
        if declared and name in declared:
            _sync_declared(conn, name, declared[name])
        query = select(console_users).where(console_users.c.username == name)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            check_password_hash(DUMMY_HASH, password)
            return LoginResult(None)
        if row.locked_until is not None and row.locked_until > now:
            return LoginResult(None, row.locked_until)
        where = console_users.c.id == row.id
        if check_password_hash(row.password_hash, password):
            conn.execute(
                update(console_users)
                .where(where)
                .values(failed_logins=0, locked_until=None, last_login_at=now)
            )
            return LoginResult(_user(row))
        failures = row.failed_logins + 1
        wait = lock_seconds(failures)
        until = now + timedelta(seconds=wait) if wait else None
        conn.execute(
            update(console_users).where(where).values(failed_logins=failures, locked_until=until)
        )
    log.warning("console login failed", extra={"username": name, "failed_logins": failures})
    return LoginResult(None, until)


def _sync_declared(conn: Connection, name: str, password_hash: str) -> None:
    # Skipped when the row exists, or when a concurrent first login has just written it.
    stmt = insert_or_skip(console_users, conn.dialect.name)
    if conn.execute(stmt.values(username=name, password_hash=password_hash)).rowcount:
        return
    found = conn.execute(
        select(console_users.c.password_hash).where(console_users.c.username == name)
    ).one()
    if found.password_hash != password_hash:
        conn.execute(
            update(console_users)
            .where(console_users.c.username == name)
            .values(password_hash=password_hash)
        )
