"""Signed per-message tokens, so a delivery-report URL authenticates without the router password.

The signing key is SECRET_KEY, or, when that is unset, a random key generated once and kept in the
database (router_meta), so every process, worker and restart agrees on it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import Engine, select

from .engine import insert_or_skip
from .schema import router_meta

_META_KEY = "secret_key"


def load_signing_key(engine: Engine, configured: str | None) -> bytes:
    """Return the configured key, or the database's generated one (creating it once)."""
    if configured:
        return configured.encode("utf-8")
    with engine.begin() as conn:
        found = conn.execute(
            select(router_meta.c.value).where(router_meta.c.key == _META_KEY)
        ).scalar()
        if found is None:
            stmt = insert_or_skip(router_meta, conn.dialect.name)
            conn.execute(stmt.values(key=_META_KEY, value=secrets.token_urlsafe(48)))
            found = conn.execute(
                select(router_meta.c.value).where(router_meta.c.key == _META_KEY)
            ).scalar_one()
    return str(found).encode("utf-8")


def message_token(key: bytes, message_id: int, purpose: str = "dlr") -> str:
    """Return the token that authorises reports about `message_id`."""
    digest = hmac.new(key, f"{purpose}:{message_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def verify_token(key: bytes, message_id: int, token: str, purpose: str = "dlr") -> bool:
    """Tell, in constant time, whether `token` authorises reports about `message_id`."""
    expected = message_token(key, message_id, purpose).encode("ascii")
    return hmac.compare_digest(expected, token.encode("utf-8", "replace"))  # any text, no 500
