"""Identity normalisers: how a sender or recipient string becomes the stored identity."""

from __future__ import annotations

import re
from collections.abc import Callable

_SEPARATORS = re.compile(r"[\s\-.()\[\]/]+")
_PHONE = re.compile(r"\+?[0-9]+")
_LEGACY_DROP = re.compile(r"[^0-9a-z]+")


def plus_digits(raw: str) -> str:
    """Strip separators from a phone number, keeping a leading '+'; keep sender ids as sent.

    `+1 (206) 555-1212` → `+12065551212`; `250-7883-83383` → `250788383383`; `MTN-Info` stays.
    """
    value = raw.strip()
    compact = _SEPARATORS.sub("", value)
    if _PHONE.fullmatch(compact):
        return compact
    return value


def legacy(raw: str) -> str:
    """The old router's rule: lowercase and keep only [0-9a-z] (loses '+' and non-ASCII)."""
    return _LEGACY_DROP.sub("", raw.lower())


def unchanged(raw: str) -> str:
    """Keep the identity exactly as the gateway sent it."""
    return raw


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "plus-digits": plus_digits,
    "legacy": legacy,
    "none": unchanged,
}
