"""/router/openapi.json: a valid OpenAPI 3 document whose paths are exactly the app's JSON routes."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

# Routes that answer HTML (the console, static files) are not part of the JSON API.
NOT_JSON = re.compile(r"^/(static|router/console)\b")


def test_document_is_valid_openapi_3(client):
    r = client.get("/router/openapi.json")
    assert r.status_code == 200
    document = r.get_json()
    validate(document)
    assert document["openapi"].startswith("3.")
    assert client.get("/router/openapi.json/").get_json() == document


def test_paths_match_the_app_routes(app, client):
    document = client.get("/router/openapi.json").get_json()
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    served = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule)
        if path.endswith("/") or NOT_JSON.match(path):
            continue  # the trailing-slash twin of every path answers the same
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((path, method))
    assert documented == served
