"""httprouter: a standalone HTTP SMS router.

`create_app()` builds the Flask service. Scripts and apps can also use the Python API:
`receive(text, connection)`, `send(text, connections)`, `lookup_connections(backend, identities)`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .domain.messages import Connection, IncomingMessage, OutgoingMessage

if TYPE_CHECKING:  # Flask is imported by create_app: the dispatcher and commands do without
    from flask import Flask

__all__ = [
    "Connection",
    "IncomingMessage",
    "OutgoingMessage",
    "create_app",
    "build_router",
    "get_router",
    "lookup_connections",
    "receive",
    "send",
]

log = logging.getLogger(__name__)

# Largest request body accepted (a message is at most MAX_MESSAGE_LENGTH characters).
MAX_BODY_BYTES = 2 * 1024 * 1024

_default_router: Any = None


def build_router(config: Mapping[str, Any]) -> Any:
    """Create the database engine, load the apps and return a Router for `config`."""
    from .apps import load_apps
    from .delivery.wakeup import install_notifier
    from .gateways.registry import GatewayRegistry
    from .logsetup import config_secrets, install_redaction
    from .router import Router
    from .store.engine import make_engine
    from .store.unit import Store

    install_redaction(config_secrets(config))
    settings = dict(config)
    store = Store(make_engine(settings["DATABASE_URL"]), settings.get("SECRET_KEY"))
    router = Router(store, settings, gateways=GatewayRegistry(settings))
    install_notifier(router)
    try:
        router.apps = load_apps(config["SMS_APPS"], router)
    except Exception:
        router.engine.dispose()
        raise
    return router


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service: load the configuration, the database engine, the apps and the routes."""
    global _default_router
    from flask import Flask

    from . import web
    from .config import load_config
    from .web.access import AccessPolicy

    config = load_config(test_config)
    app = Flask(__name__)
    app.config.update(config)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    router = build_router(config)
    app.extensions["httprouter"] = router
    app.extensions["httprouter_access"] = AccessPolicy(config)
    _default_router = router
    web.init_app(app)
    if not config["ROUTER_PASSWORD"]:
        log.warning("ROUTER_PASSWORD is not set: the router endpoints are open to anyone")
    return app


def get_router() -> Any:
    """The router the Python API uses: the app's, or one built from the configuration."""
    global _default_router
    if _default_router is None:
        from .config import load_config

        _default_router = build_router(load_config())
    return _default_router


def receive(text: str, connection: Connection | tuple[str, str], **kwargs: Any) -> Any:
    """Handle an inbound message as if a gateway had sent it; return what was stored."""
    return get_router().receive(text, connection, **kwargs)


def send(text: str, connections: Iterable[Connection | tuple[str, str]], **kwargs: Any) -> Any:
    """Send `text` to each connection; return the outgoing messages."""
    return get_router().send(text, connections, **kwargs)


def lookup_connections(backend: str, identities: Iterable[str]) -> list[Connection]:
    """Return the connections for `identities` on `backend`, creating new ones."""
    found: list[Connection] = get_router().lookup_connections(backend, identities)
    return found
