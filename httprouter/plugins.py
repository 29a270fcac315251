"""Loading plugins (apps, gateway engines) named by dotted paths in the configuration."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import ConfigError


def import_object(path: str, setting: str) -> Any:
    """Import `package.module.Name`, or raise ConfigError naming the path and the setting."""
    module_name, _, attr = path.rpartition(".")
    if not module_name:
        raise ConfigError(f"{setting}: {path!r} is not a dotted path", field=setting)
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{setting}: cannot load {path!r}: cannot import {module_name!r} ({exc})", field=setting
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(
            f"{setting}: cannot load {path!r}: module {module_name!r} has no {attr!r}",
            field=setting,
        ) from None
