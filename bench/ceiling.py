"""The ceiling: bare Flask parsing the same query parameters as /router/receive, small JSON."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, jsonify, request

FIELDS = ("backend", "sender", "message", "id", "to", "coding", "charset", "echo", "password")


def make_app(store: Callable[[dict[str, str | None]], None] | None = None) -> Flask:
    """A Flask app answering /router/receive; `store` (if any) runs once per valid request."""
    app = Flask(__name__)

    @app.route("/router/receive", methods=["GET", "POST"])
    def receive() -> tuple[Response, int]:
        params = {name: request.values.get(name) for name in FIELDS}
        if not params["backend"] or not params["sender"]:
            return jsonify(error="backend and sender are required"), 400
        if store is not None:
            store(params)
        return jsonify(
            message={"contact": params["sender"], "text": params["message"]}, status="ok"
        ), 200

    return app


app = make_app()
