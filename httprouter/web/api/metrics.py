"""/metrics: Prometheus text format for every process sharing the metrics folder, and the queue.

Protected by the router password (`password=` or `Authorization: Bearer …`) unless
METRICS_PUBLIC is true.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from ...store import metrics
from .. import current_router, route
from ..params import authorize, request_params

bp = Blueprint("metrics", __name__)


@route(bp, "/metrics", methods=["GET"])
def scrape() -> Response:
    if not current_app.config["METRICS_PUBLIC"]:
        authorize(request_params())
    body = metrics.render(current_router().read)
    return Response(body, status=200, content_type=metrics.CONTENT_TYPE)
