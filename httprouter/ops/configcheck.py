"""`httprouter config check`: load the configuration and every plugin it names, without serving.

Catches what would otherwise stop a worker at boot or a dispatcher at its first send: an unknown
key, a wrong type, an SMS_APPS or BACKENDS ENGINE that does not import or is not the right kind of
class, bad app options, and a backend that cannot be built (an unknown or mistyped option).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..apps import AppBase
from ..errors import ConfigError
from ..gateways.registry import GatewayRegistry
from ..plugins import import_object


def check_plugins(config: Mapping[str, Any]) -> list[str]:
    """Import and build every app and every backend's engine; return what was loaded."""
    loaded: list[str] = []
    for i, entry in enumerate(config["SMS_APPS"]):
        options = dict(entry) if isinstance(entry, dict) else {"ENGINE": entry}
        path = options.pop("ENGINE")
        cls = import_object(path, "SMS_APPS")
        if not (isinstance(cls, type) and issubclass(cls, AppBase)):
            raise ConfigError(
                f"SMS_APPS[{i}]: {path!r} is not an AppBase subclass", field="SMS_APPS"
            )
        try:
            cls(None, **options)
        except TypeError as exc:
            raise ConfigError(f"SMS_APPS[{i}]: {path!r}: {exc}", field="SMS_APPS") from exc
        loaded.append(f"app {path}")
    _check_router_url(config.get("ROUTER_URL"))
    registry = GatewayRegistry(config)
    try:
        loaded += registry.check()
    finally:
        registry.close()
    try:
        make_url(config["DATABASE_URL"])
    except ArgumentError as exc:
        raise ConfigError(
            f"DATABASE_URL is not a database URL: {exc}", field="DATABASE_URL"
        ) from None
    return loaded


def _check_router_url(value: Any) -> None:
    if isinstance(value, dict):
        for backend, template in value.items():
            if template is not None and not isinstance(template, str):
                raise ConfigError(
                    f"ROUTER_URL[{backend!r}] must be a URL template or None", field="ROUTER_URL"
                )
