"""The HTTP face of the router: blueprints, request logging and JSON errors."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, g, request
from werkzeug.wrappers import Response

from ..logsetup import bind_context, unbind_context
from ..redact import redact_url
from ..router import Router

log = logging.getLogger("httprouter.web.access")


def current_router() -> Router:
    """The Router of the current app."""
    from flask import current_app

    router: Router = current_app.extensions["httprouter"]
    return router


def route(bp: Blueprint, path: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register a view at `path` and at `path/` (both answer; neither redirects)."""

    def register(view: Callable[..., Any]) -> Any:
        bp.add_url_rule(path, view_func=view, **options)
        bp.add_url_rule(path + "/", view_func=view, endpoint=view.__name__ + "_slash", **options)
        return view

    return register


MAX_LOGGED_PATH = 2000  # a message can be 10,000 characters; the log line needs far less


def _logged_path() -> str:
    query = request.query_string[:MAX_LOGGED_PATH].decode("utf-8", "backslashreplace")
    path = f"{request.path}?{query}" if query else request.path
    return path if len(request.query_string) <= MAX_LOGGED_PATH else path + "…"


def init_app(app: Flask) -> None:
    """Register every blueprint and the request log."""
    from . import errors
    from .api.alert import bp as alert_bp
    from .api.delivered import bp as delivered_bp
    from .api.gateways import bp as gateways_bp
    from .api.health import bp as health_bp
    from .api.log import bp as log_bp
    from .api.metrics import bp as metrics_bp
    from .api.openapi import bp as openapi_bp
    from .api.outbox import bp as outbox_bp
    from .api.receive import bp as receive_bp
    from .api.send import bp as send_bp
    from .api.status import bp as status_bp

    errors.init_app(app)
    app.register_blueprint(receive_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(openapi_bp)
    for bp in (gateways_bp, outbox_bp, delivered_bp, alert_bp, send_bp, log_bp, status_bp):
        app.register_blueprint(bp)
    from .console import init_app as init_console

    init_console(app)

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
        g.log_token = bind_context(request_id=g.request_id)

    @app.teardown_request
    def _unbind(_exc: BaseException | None) -> None:
        if "log_token" in g:
            unbind_context(g.pop("log_token"))

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        elapsed = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        log.info(
            "%s %s %s %.1fms",
            request.method,
            redact_url(_logged_path()),
            response.status_code,
            elapsed,
            extra={"event": "request", "status": response.status_code, "backend": _backend()},
        )
        return response


def _backend() -> str | None:
    """The backend a request named, for the request log."""
    params = g.get("_params")
    value = params.get("backend") if params is not None else None
    return value if isinstance(value, str) else None
