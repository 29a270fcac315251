"""/router/openapi.json: the OpenAPI 3 description of the JSON endpoints (public)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, Response, jsonify

from .. import route
from .document import document

bp = Blueprint("openapi", __name__)


def _version() -> str:
    try:
        return version("httprouter")
    except PackageNotFoundError:
        return "0"


@route(bp, "/router/openapi.json", methods=["GET"])
def openapi() -> Response:
    return jsonify(document(_version()))
