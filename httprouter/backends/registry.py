"""Build push backends by name from BACKENDS and ROUTER_URL (SPEC §4), once per process."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ..apps import import_object
from ..errors import ConfigError
from . import delivery_mode
from .base import PushBackend
from .http import HttpBackend

# Options every push backend takes; BACKENDS["default"] passes these on to every backend.
SHARED_OPTIONS = frozenset(
    {"timeout", "rate_limit", "max_attempts", "backoff_base", "backoff_max", "permanent_statuses"}
)
RECEIVE_OPTIONS = frozenset({"password"})


def _options(entry: Mapping[str, Any] | None, *, shared_only: bool = False) -> dict[str, Any]:
    options = {k: v for k, v in (entry or {}).items() if k != "ENGINE"}
    options = {k: v for k, v in options.items() if k not in RECEIVE_OPTIONS}
    if shared_only:
        options = {k: v for k, v in options.items() if k in SHARED_OPTIONS}
    return options


def _router_url(config: Mapping[str, Any], name: str) -> str | None:
    url = config.get("ROUTER_URL")
    if isinstance(url, dict):
        return url[name] if name in url else url.get("default")
    return url if isinstance(url, str) else None


def build_backend(config: Mapping[str, Any], name: str) -> PushBackend | None:
    """Return the push backend for `name`, or None when `name` is pulled (the outbox)."""
    if delivery_mode(config, name) != "push":
        return None
    backends = config.get("BACKENDS") or {}
    entry = backends.get(name)
    default = backends.get("default")
    if entry and entry.get("ENGINE"):
        return _instantiate(entry["ENGINE"], name, _options(entry))
    template = _router_url(config, name)
    if template:
        if entry is not None:
            options = _options(entry)
        else:
            options = _options(default, shared_only=bool(default and default.get("ENGINE")))
        options.setdefault("method", config.get("ROUTER_HTTP_METHOD") or "GET")
        return HttpBackend(name, url=template, **options)
    if default is None or not default.get("ENGINE"):  # delivery_mode said push: it has one
        raise ConfigError(f"no push configuration for backend {name!r}", field="BACKENDS")
    return _instantiate(default["ENGINE"], name, _options(default))


def _instantiate(path: str, name: str, options: dict[str, Any]) -> PushBackend:
    cls = import_object(path, f"BACKENDS[{name!r}].ENGINE")
    if not (isinstance(cls, type) and issubclass(cls, PushBackend)):
        raise ConfigError(
            f"BACKENDS[{name!r}]: {path!r} is not a PushBackend subclass", field="BACKENDS"
        )
    return cls(name, **options)


class BackendRegistry:
    """The push backends of one process, built on first use and kept (with their sessions)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._built: dict[str, PushBackend | None] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> PushBackend | None:
        """The push backend for `name`, or None if it is pulled."""
        with self._lock:
            if name not in self._built:
                self._built[name] = build_backend(self.config, name)
            return self._built[name]

    def check(self) -> None:
        """Build every configured backend now, so a bad option stops start-up naming it."""
        names = {n for n in (self.config.get("BACKENDS") or {}) if n != "default"}
        url = self.config.get("ROUTER_URL")
        if isinstance(url, dict):
            names |= {n for n in url if n != "default"}
        for name in sorted(names):
            self.get(name)

    def close(self) -> None:
        """Close every backend's connections."""
        with self._lock:
            for backend in self._built.values():
                if backend is not None:
                    backend.close()
