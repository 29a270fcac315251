"""One JSON shape for every failure: {"error": "...", "field": "..."} with the right status."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from ..errors import HttpRouterError, StorageUnavailable
from ..store.engine import is_unavailable

log = logging.getLogger(__name__)


def error_response(status: int, body: dict[str, object]) -> Response:
    """Build a JSON error answer."""
    response = jsonify(body)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = "5"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="httprouter"'
    return response


def init_app(app: Flask) -> None:
    """Register the JSON error handlers."""

    @app.errorhandler(HttpRouterError)
    def _ours(exc: HttpRouterError) -> Response:
        if exc.status_code >= 500:
            log.warning("%s: %s", type(exc).__name__, exc.message)
        response = error_response(exc.status_code, exc.to_json())
        if "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        body: dict[str, object] = {"error": exc.description or exc.name}
        if status == 413:
            body["error"] = "request body too large"
        response = error_response(status, body)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(DBAPIError)
    def _db(exc: DBAPIError) -> Response:
        if is_unavailable(exc):
            unavailable = StorageUnavailable("database unavailable, try again later")
            log.warning("database unavailable: %s", type(exc.orig).__name__)
            return error_response(503, unavailable.to_json())
        log.exception("database error")
        return error_response(500, {"error": "internal error"})

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, {"error": "internal error"})
