"""Outbound delivery per backend: pull (the outbox) or push (a gateway URL or engine)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

DeliveryMode = Literal["push", "pull"]


def delivery_mode(config: Mapping[str, Any], backend: str) -> DeliveryMode:
    """Tell whether `backend`'s outbound messages are pushed by the dispatcher or pulled.

    BACKENDS[name] with an ENGINE pushes. Otherwise ROUTER_URL decides: a string pushes every
    backend; a dict pushes a backend whose entry (or, lacking one, "default") is a template, and
    leaves it for pollers when the entry is None or there is neither. With no ROUTER_URL, a
    BACKENDS["default"] ENGINE pushes backends that have no entry of their own.
    """
    backends = config.get("BACKENDS") or {}
    entry = backends.get(backend)
    if entry and entry.get("ENGINE"):
        return "push"
    url = config.get("ROUTER_URL")
    if isinstance(url, str):
        return "push"
    if isinstance(url, dict):
        if backend in url:
            return "push" if url[backend] else "pull"
        return "push" if url.get("default") else "pull"
    default = backends.get("default")
    if entry is None and default and default.get("ENGINE"):
        return "push"
    return "pull"
