"""Handler plugins: the base class, the loader and the apps shipped with httprouter."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..plugins import import_object
from .base import AppBase, RouterAPI

__all__ = ["AppBase", "RouterAPI", "load_apps"]


def load_apps(entries: list[Any], router: RouterAPI | None = None) -> list[AppBase]:
    """Instantiate the apps listed in SMS_APPS, in order, and start them."""
    apps: list[AppBase] = []
    for entry in entries:
        options = dict(entry) if isinstance(entry, dict) else {"ENGINE": entry}
        path = options.pop("ENGINE")
        cls = import_object(path, "SMS_APPS")
        if not (isinstance(cls, type) and issubclass(cls, AppBase)):
            raise ConfigError(f"SMS_APPS: {path!r} is not an AppBase subclass", field="SMS_APPS")
        try:
            app = cls(router, **options)
        except TypeError as exc:
            raise ConfigError(f"SMS_APPS: {path!r}: {exc}", field="SMS_APPS") from exc
        apps.append(app)
    for app in apps:
        app.start()
    return apps
