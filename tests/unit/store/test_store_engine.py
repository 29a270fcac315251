"""store/engine.py: the one INSERT … ON CONFLICT DO NOTHING that every upsert uses."""

from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from httprouter import clock
from httprouter.store.engine import insert_or_skip
from httprouter.store.schema import backends, console_users
from httprouter.store.users import authenticate


def test_a_repeat_is_skipped_and_returns_no_id(router):
    with router.engine.begin() as conn:
        stmt = insert_or_skip(backends, conn.dialect.name).returning(backends.c.id)
        first = conn.execute(stmt, {"name": "modem", "created_at": clock.now()}).scalar()
        again = conn.execute(stmt, {"name": "modem", "created_at": clock.now()}).scalar()
        rows = conn.execute(select(func.count()).select_from(backends)).scalar()
    assert first is not None and again is None and rows == 1


def test_a_declared_console_user_gets_one_row_however_often_it_logs_in(router):
    declared = {"ops": generate_password_hash("s3cret-enough")}
    for _ in range(2):
        assert authenticate(router.engine, "ops", "s3cret-enough", declared).user is not None
    with router.engine.connect() as conn:
        names = conn.execute(select(console_users.c.username)).scalars().all()
    assert names == ["ops"]
