"""Build each backend's engine from BACKENDS and ROUTER_URL, once per process.

`ENGINE` is a short name or the dotted path of a GatewayEngine subclass. The short names are the
ones the modules of this package declare in their `ENGINES` dict (an engine module is all a new
gateway needs: no list here to edit); `shipped_engines()` finds them. A backend
without an engine of its own takes ROUTER_URL's template (the `http` engine), else
BACKENDS["default"]'s engine; a backend with none of these has no engine: its messages wait in
the outbox for pollers (the legacy pull mode). The console simulator's backend is the exception:
unless BACKENDS or ROUTER_URL's dict names it, it has the `console` engine, which delivers its
replies to the simulated phone (a catch-all template or default is for real gateways).
"""

from __future__ import annotations

import pkgutil
import threading
from collections.abc import Mapping
from functools import cache
from importlib import import_module
from typing import Any

from ..errors import ConfigError
from ..plugins import import_object
from .base import GatewayEngine
from .console import SIMULATOR_BACKEND

NOT_ENGINES = frozenset({"base", "registry", "legacy"})  # the package's modules that hold none
# Dotted paths of earlier releases, still accepted.
RENAMED = {
    "httprouter.backends.http.HttpBackend": "http",
    "httprouter.backends.kannel.KannelBackend": "kannel",
}

# Options every engine takes; BACKENDS["default"] passes these on to every backend.
SHARED_OPTIONS = frozenset(
    {"timeout", "rate_limit", "max_attempts", "backoff_base", "backoff_max", "permanent_statuses"}
)
MAX_KEPT = 10_000  # engines (or "no engine") kept per process

# Options the web layer reads (receive-side credential and network allow-list).
RECEIVE_OPTIONS = frozenset({"password", "allow_networks"})


def _declared(module_name: str) -> dict[str, type[GatewayEngine]]:
    module = import_module(f"{__package__}.{module_name}")
    return dict(getattr(module, "ENGINES", {}))


@cache
def shipped_engines() -> dict[str, type[GatewayEngine]]:
    """Every short name the package's engine modules declare, with its class."""
    found: dict[str, type[GatewayEngine]] = {}
    for info in pkgutil.iter_modules(import_module(__package__).__path__):
        if info.name not in NOT_ENGINES:
            found.update(_declared(info.name))
    return found


def _short(name: str) -> type[GatewayEngine] | None:
    """The class of a short name: from the module named like it, else from any engine module."""
    module = name.replace("-", "_")
    if module.isidentifier() and module not in NOT_ENGINES:
        try:
            declared = _declared(module)
        except ModuleNotFoundError:
            declared = {}
        if name in declared:
            return declared[name]
    return shipped_engines().get(name)


def engine_class(path: Any, where: str) -> type[GatewayEngine]:
    """The engine class an ENGINE value names; a ConfigError naming `where` otherwise."""
    if not isinstance(path, str) or not path:
        raise ConfigError(f"{where}: ENGINE must be an engine name or a dotted path", field=where)
    path = RENAMED.get(path, path)
    if "." not in path:
        short = _short(path)
        if short is None:
            names = ", ".join(sorted(shipped_engines()))
            raise ConfigError(
                f"{where}: unknown ENGINE {path!r}; engines: {names} "
                "(or the dotted path of a GatewayEngine subclass)",
                field=where,
            )
        return short
    cls = import_object(path, where)
    if not (isinstance(cls, type) and issubclass(cls, GatewayEngine)):
        raise ConfigError(f"{where}: {path!r} is not a GatewayEngine subclass", field=where)
    return cls


def _options(entry: Mapping[str, Any] | None, *, shared_only: bool = False) -> dict[str, Any]:
    options = {k: v for k, v in (entry or {}).items() if k != "ENGINE"}
    options = {k: v for k, v in options.items() if k not in RECEIVE_OPTIONS}
    if shared_only:
        options = {k: v for k, v in options.items() if k in SHARED_OPTIONS}
    return options


def _template(config: Mapping[str, Any], name: str) -> str | None:
    """ROUTER_URL's template for `name` (None: none, or pulled)."""
    url = config.get("ROUTER_URL")
    if isinstance(url, dict):
        return url[name] if name in url else url.get("default")
    return url if isinstance(url, str) else None


def _source(config: Mapping[str, Any], name: str) -> tuple[str, Any] | None:
    """Where `name`'s engine comes from: ("engine", entry), ("template", url) or None."""
    backends = config.get("BACKENDS") or {}
    entry = backends.get(name)
    if entry and entry.get("ENGINE"):
        return "engine", entry
    url = config.get("ROUTER_URL")
    if isinstance(url, dict) and name in url and not url[name]:
        return None  # explicitly pulled
    if name == SIMULATOR_BACKEND and entry is None and not (isinstance(url, dict) and name in url):
        return "engine", {"ENGINE": "console"}  # configured nowhere: the simulated phone
    template = _template(config, name)
    if template:
        return "template", template
    default = backends.get("default")
    if entry is None and default and default.get("ENGINE"):
        return "engine", default
    return None


def build_engine(config: Mapping[str, Any], name: str) -> GatewayEngine | None:
    """Return the engine of backend `name`, or None when it has none (the outbox serves it)."""
    source = _source(config, name)
    if source is None:
        return None
    kind, value = source
    where = f"BACKENDS[{name!r}]"
    if kind == "engine":
        return engine_class(value["ENGINE"], where)(name, **_options(value))
    backends = config.get("BACKENDS") or {}
    entry, default = backends.get(name), backends.get("default")
    if entry is not None:
        options = _options(entry)
    else:
        options = _options(default, shared_only=bool(default and default.get("ENGINE")))
    options.setdefault("method", config.get("ROUTER_HTTP_METHOD") or "GET")
    return engine_class("http", where)(name, url=value, **options)


def configured_names(config: Mapping[str, Any]) -> list[str]:
    """The backends the configuration names (BACKENDS and ROUTER_URL entries, not "default")."""
    names = {n for n in (config.get("BACKENDS") or {}) if n != "default"}
    url = config.get("ROUTER_URL")
    if isinstance(url, dict):
        names |= {n for n in url if n != "default"}
    return sorted(names)


class GatewayRegistry:
    """The engines of one process, built on first use and kept (with their connections)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._built: dict[str, GatewayEngine | None] = {}
        self._pushes: dict[str, bool] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> GatewayEngine | None:
        """The engine of backend `name`, or None if it has none.

        Callers name backends the configuration may not know (any `backend` of a legacy call):
        past MAX_KEPT names an unknown one is built each time rather than kept.
        """
        with self._lock:
            if name in self._built:
                return self._built[name]
            engine = build_engine(self.config, name)
            if len(self._built) < MAX_KEPT or name in configured_names(self.config):
                self._built[name] = engine
            return engine

    def pushes(self, name: str) -> bool:
        """Tell whether the dispatcher pushes `name`'s messages (else they wait for a poller).

        Decided from the configuration and the engine's class, without building it. A backend
        whose engine cannot even be imported counts as pushed: the dispatcher then holds its
        messages, saying why, until the configuration is mended — none is handed to pollers.
        """
        found = self._pushes.get(name)
        if found is None:
            source = _source(self.config, name)
            if source is None:
                found = False
            elif source[0] == "template":
                found = True
            else:
                try:
                    found = engine_class(source[1]["ENGINE"], f"BACKENDS[{name!r}]").push
                except ConfigError:
                    found = True
            if len(self._pushes) < MAX_KEPT:
                self._pushes[name] = found
        return found

    def check(self) -> list[str]:
        """Build every configured backend now, so a bad option stops start-up naming it."""
        built = []
        for name in configured_names(self.config):
            engine = self.get(name)
            if engine is not None:
                built.append(f"backend {name}: {type(engine).__name__}")
        default = (self.config.get("BACKENDS") or {}).get("default")
        if default and default.get("ENGINE"):
            engine_class(default["ENGINE"], "BACKENDS['default']")("default", **_options(default))
        return built

    def close(self) -> None:
        """Close every engine's connections."""
        with self._lock:
            for engine in self._built.values():
                if engine is not None:
                    engine.close()
