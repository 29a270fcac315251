"""Handler plugins: the base class, the loader and the apps shipped with httprouter."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .base import AppBase, run_incoming, run_outgoing

if TYPE_CHECKING:
    from ..router import Router

__all__ = ["AppBase", "load_apps", "run_incoming", "run_outgoing", "import_object"]


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


def load_apps(entries: list[Any], router: Router | None = None) -> list[AppBase]:
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
