"""The OpenAPI 3 description of every JSON endpoint, served at /router/openapi.json.

A test compares its paths with the app's routes and schemathesis checks the live app against it,
so it stays true. No Flask here.
"""

from __future__ import annotations

from typing import Any

from ...domain.statuses import STATUS_NAMES

STATUS_LETTERS = sorted(STATUS_NAMES)


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _query(
    name: str, description: str, schema: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema or {"type": "string"},
        **extra,
    }


PASSWORD = _query("password", "The router password (or the backend's own); or use a Bearer header.")
SECURED: list[dict[str, list[str]]] = [{}, {"bearer": []}]

MESSAGE = {
    "type": "object",
    "required": ["id", "contact", "backend", "direction", "status", "text", "date"],
    "properties": {
        "id": {"type": "integer"},
        "contact": _string("The sender or recipient identity (phone number, sender id)."),
        "backend": _string("The gateway link's name."),
        "direction": {"type": "string", "enum": ["I", "O"]},
        "status": {"type": "string", "enum": STATUS_LETTERS},
        "text": {"type": "string"},
        "date": _string("Creation time, ISO 8601 with offset.", format="date-time"),
        "status_name": {"type": "string", "enum": sorted(STATUS_NAMES.values())},
        "in_response_to": _nullable({"type": "integer"}),
        "external_id": _nullable({"type": "string"}),
        "priority": {"type": "integer"},
        "attempts": {"type": "integer"},
        "error": _nullable({"type": "string"}),
        "updated": _nullable({"type": "string", "format": "date-time"}),
        "sent": _nullable({"type": "string", "format": "date-time"}),
        "delivered": _nullable({"type": "string", "format": "date-time"}),
    },
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": _string("What is wrong."),
        "field": _string("The parameter or setting at fault."),
    },
}

REPORT = {
    "type": "object",
    "required": ["message_id", "status", "changed"],
    "properties": {
        "message_id": {"type": "integer"},
        "reported": _nullable({"type": "string"}),
        "status": {"type": "string", "enum": STATUS_LETTERS},
        "status_name": {"type": "string"},
        "changed": {"type": "boolean"},
    },
}

RECEIVE_FIELDS = {
    "backend": _string("The gateway link the message came in on (Kannel's %i)."),
    "sender": _string("The sender's number or id (Kannel's %p)."),
    "message": _string("The text; may be empty."),
    "id": _string("The gateway's message id: a repeat of (backend, id) is answered, not re-run."),
    "to": _string("The number the message was sent to (Kannel's %P)."),
    "coding": _string("Kannel's %c: 2 means UCS-2 bytes in `message`."),
    "charset": _string("Kannel's %C, the charset of `message` (default UTF-16BE for coding 2)."),
    "echo": _string("With ROUTER_SILENT, a true value still returns the JSON answer."),
    "password": _string("The router password or the backend's own."),
}

DELIVERED_FIELDS = {
    "message_id": {"type": "integer", "minimum": 1, "description": "Our id of the message."},
    "status": _string(
        "Kannel DLR type (1, 2, 4, 8, 16, 32) or sent / delivered / failed; none means delivered."
    ),
    "token": _string("The message's signed token (in the dlr-url the router builds)."),
    "password": _string("The router password (not needed with a valid token)."),
}


def _form_body(fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": fields, "required": required}
    return {
        "content": {
            "application/x-www-form-urlencoded": {"schema": schema},
            "application/json": {"schema": schema},
        }
    }


def _receive() -> dict[str, Any]:
    answer = {
        "description": "Stored and handled (empty text/plain body with ROUTER_SILENT).",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["message", "responses", "status"],
                    "properties": {
                        "message": _ref("Message"),
                        "responses": {"type": "array", "items": _ref("Message")},
                        "status": {"type": "string", "example": "Message handled."},
                    },
                }
            },
            "text/plain": {"schema": {"type": "string", "maxLength": 0}},
        },
    }
    responses = {"200": answer, **_errors(400, 401, 403, 413, 429, 503)}
    params = [
        _query(name, schema["description"], required=name in ("backend", "sender"))
        for name, schema in RECEIVE_FIELDS.items()
    ]
    return {
        "get": {
            "summary": "Inject an inbound message (Kannel get-url); the apps run in the request.",
            "operationId": "receive",
            "parameters": params,
            "security": SECURED,
            "responses": responses,
        },
        "post": {
            "summary": "Inject an inbound message from a form or JSON body.",
            "operationId": "receivePost",
            "requestBody": _form_body(RECEIVE_FIELDS, ["backend", "sender"]),
            "security": SECURED,
            "responses": responses,
        },
    }


ALERT_FIELDS = {
    "subject": {"type": "string", "description": "What is wrong ('[backend] …' names it)."},
    "body": {"type": "string", "description": "Details (a phone's settings and log)."},
    "backend": {"type": "string", "description": "The backend, if the subject does not say."},
    "password": {"type": "string", "description": "The router's or the backend's password."},
}


def _alert() -> dict[str, Any]:
    alert = {
        "type": "object",
        "required": ["id", "backend", "subject", "body", "date"],
        "properties": {
            "id": {"type": "integer"},
            "backend": _nullable({"type": "string"}),
            "subject": {"type": "string"},
            "body": {"type": "string"},
            "date": {"type": "string", "format": "date-time"},
        },
    }
    answer = {
        "type": "object",
        "required": ["status", "alert"],
        "properties": {"status": {"type": "string"}, "alert": alert},
    }
    return {
        "post": {
            "summary": "A gateway reports its own trouble; stored and shown on the console.",
            "operationId": "alert",
            "requestBody": _form_body(ALERT_FIELDS, ["subject"]),
            "security": SECURED,
            "responses": {
                "200": _json(answer, "Recorded (credentials masked)."),
                **_errors(400, 401, 403, 429, 503),
            },
        }
    }


def _outbox() -> dict[str, Any]:
    return {
        "get": {
            "summary": "Take queued pull-backend messages, oldest first, leased to this poller.",
            "operationId": "outbox",
            "parameters": [
                _query("backend", "Only this backend's messages (case-insensitive)."),
                _query("limit", "At most this many (1-1000, default 100).", {"type": "integer"}),
                PASSWORD,
            ],
            "security": SECURED,
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["outbox", "status"],
                        "properties": {
                            "outbox": {"type": "array", "items": _ref("Message")},
                            "status": {"type": "string", "example": "Outbox follows."},
                            "lease_expires": _nullable({"type": "string", "format": "date-time"}),
                        },
                    },
                    "The messages handed out, leased until lease_expires.",
                ),
                **_errors(400, 401, 403, 429, 503),
            },
        }
    }


def _delivered() -> dict[str, Any]:
    one = {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "example": "Message marked as sent."},
            "message": _nullable(_ref("Message")),
            "report": _ref("Report"),
        },
    }
    many = {
        "type": "object",
        "required": ["status", "applied", "errors", "results"],
        "properties": {
            "status": {"type": "string"},
            "applied": {"type": "integer"},
            "errors": {"type": "integer"},
            "results": {"type": "array", "items": {"type": "object"}},
        },
    }
    report_item = {
        "type": "object",
        "properties": {k: DELIVERED_FIELDS[k] for k in ("message_id", "status", "token")},
        "required": ["message_id"],
    }
    batch = {
        "anyOf": [
            {"type": "array", "items": report_item, "minItems": 1},
            {
                "type": "object",
                "required": ["messages"],
                "properties": {
                    "messages": {"type": "array", "items": report_item, "minItems": 1},
                    "password": {"type": "string"},
                },
            },
            {
                "type": "object",
                "required": ["message_id"],
                "properties": DELIVERED_FIELDS,
            },
        ]
    }
    responses = {
        "200": _json({"anyOf": [one, many]}, "The report was recorded (status never moves back)."),
        **_errors(400, 401, 403, 404, 429, 503),
    }
    params = [
        _query(name, schema["description"], schema, required=name == "message_id")
        for name, schema in DELIVERED_FIELDS.items()
    ]
    return {
        "get": {
            "summary": "Report a message's delivery status (Kannel dlr-url, pollers).",
            "operationId": "delivered",
            "parameters": params,
            "security": SECURED,
            "responses": responses,
        },
        "post": {
            "summary": "Report one status (form) or many at once (JSON list).",
            "operationId": "deliveredPost",
            "requestBody": {
                "content": {
                    "application/json": {"schema": batch},
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["message_id"],
                            "properties": DELIVERED_FIELDS,
                        }
                    },
                }
            },
            "security": SECURED,
            "responses": responses,
        },
    }


def _send() -> dict[str, Any]:
    body = {
        "type": "object",
        "required": ["backend", "to", "text"],
        "properties": {
            "backend": {"type": "string"},
            "to": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ]
            },
            "text": {"type": "string", "minLength": 1},
            "priority": {"type": "integer", "minimum": -1000, "maximum": 1000},
            "password": {"type": "string"},
        },
    }
    return {
        "post": {
            "summary": "Create one outbound message per recipient; queue or push them.",
            "operationId": "send",
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "security": SECURED,
            "responses": {
                "201": _json(
                    {
                        "type": "object",
                        "required": ["messages", "status"],
                        "properties": {
                            "messages": {"type": "array", "items": _ref("Message")},
                            "status": {"type": "string"},
                        },
                    },
                    "The messages created.",
                ),
                **_errors(400, 401, 403, 413, 429, 503),
            },
        }
    }


def _messages() -> dict[str, Any]:
    filters = [
        _query("direction", "I or O (also in, out, incoming, outgoing)."),
        _query("status", "Comma-separated letters or names."),
        _query("backend", "Only this backend."),
        _query("contact", "Only this identity."),
        _query("q", "Text contains."),
        _query("since", "Created at or after (ISO 8601)."),
        _query("until", "Created before (ISO 8601)."),
        _query("before_id", "Paging: ids below this one.", {"type": "integer"}),
        _query("limit", "Page size (1-500, default 50).", {"type": "integer"}),
        PASSWORD,
    ]
    return {
        "get": {
            "summary": "Read the message log, newest first, with filters and keyset paging.",
            "operationId": "messages",
            "parameters": filters,
            "security": SECURED,
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["messages", "next_before_id"],
                        "properties": {
                            "messages": {"type": "array", "items": _ref("Message")},
                            "next_before_id": _nullable({"type": "integer"}),
                        },
                    },
                    "One page; next_before_id asks for the next.",
                ),
                **_errors(400, 401, 403, 429, 503),
            },
        }
    }


def _backend_call(kind: str) -> dict[str, Any]:
    """A backend's own endpoint: what it reads and answers is its engine's protocol."""
    what = {
        "receive": "inbound calls (every action of one-URL protocols)",
        "delivered": "delivery reports",
    }[kind]
    answer = {
        "description": "The engine's answer in its gateway's protocol (JSON or text).",
        "content": {"*/*": {"schema": {}}},
    }
    operation = {
        "summary": f"A gateway's own {what}, read and answered by the backend's engine.",
        "parameters": [
            {
                "name": "name",
                "in": "path",
                "required": True,
                "description": "The backend, as named in BACKENDS.",
                "schema": {"type": "string"},
            }
        ],
        "security": SECURED,
        "responses": {"200": answer, **_errors(400, 401, 403, 404, 413, 429, 503)},
    }
    # Some phone apps let their users pick PUT for inbound messages.
    methods = ("get", "post", "put") if kind == "receive" else ("get", "post")
    return {method: {**operation, "operationId": f"backend_{kind}_{method}"} for method in methods}


def _message() -> dict[str, Any]:
    return {
        "get": {
            "summary": "One message with its status history, delivery attempts and replies.",
            "operationId": "message",
            "parameters": [
                {
                    "name": "message_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 0},
                },
                PASSWORD,
            ],
            "security": SECURED,
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["message", "history", "attempts", "responses"],
                        "properties": {
                            "message": _ref("Message"),
                            "history": {"type": "array", "items": {"type": "object"}},
                            "attempts": {"type": "array", "items": {"type": "object"}},
                            "responses": {"type": "array", "items": _ref("Message")},
                            "in_response_to": _nullable(_ref("Message")),
                        },
                    },
                    "The message in detail.",
                ),
                **_errors(401, 403, 404, 429, 503),
            },
        }
    }


def _status() -> dict[str, Any]:
    return {
        "get": {
            "summary": "Legacy monitor text (public), or counts per backend and status as JSON.",
            "operationId": "status",
            "parameters": [
                _query("format", "json for the JSON form (or Accept: application/json)."),
                PASSWORD,
            ],
            "responses": {
                "200": {
                    "description": "STATUS: OK|ERROR and PENDING: n; or the JSON counts.",
                    "content": {
                        "text/plain": {"schema": {"type": "string"}},
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["status", "pending"],
                                "properties": {
                                    "status": {"type": "string", "enum": ["OK", "ERROR"]},
                                    "pending": {"type": "integer"},
                                    "pending_minutes": {"type": "number"},
                                    "backends": {"type": "object"},
                                    "totals": {"type": "object"},
                                    "status_names": {"type": "object"},
                                    "last_seen": {
                                        "type": "object",
                                        "description": "When each backend's gateway last "
                                        "called (a phone's poll or webhook), by backend name.",
                                        "additionalProperties": {
                                            "type": "object",
                                            "required": ["date", "seconds_ago"],
                                            "properties": {
                                                "date": {"type": "string", "format": "date-time"},
                                                "seconds_ago": {"type": "integer"},
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                },
                **_errors(400, 401, 403, 429, 503),
            },
        }
    }


def _health() -> dict[str, Any]:
    return {
        "get": {
            "summary": "The process answers (liveness).",
            "operationId": "healthz",
            "responses": {
                "200": _json(
                    {"type": "object", "properties": {"status": {"type": "string"}}},
                    "Up.",
                )
            },
        }
    }


def _ready() -> dict[str, Any]:
    body = {
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "checks": {
                "type": "object",
                "properties": {
                    "database": {"type": "string", "enum": ["ok", "unavailable"]},
                    "migrations": {
                        "type": "object",
                        "properties": {
                            "current": _nullable({"type": "string"}),
                            "head": _nullable({"type": "string"}),
                            "status": {"type": "string", "enum": ["ok", "behind"]},
                        },
                    },
                },
            },
        },
    }
    return {
        "get": {
            "summary": "The database answers and is migrated to head (readiness).",
            "operationId": "readyz",
            "responses": {
                "200": _json(body, "Ready."),
                "503": _json(body, "Not ready: the checks say why."),
            },
        }
    }


def _metrics() -> dict[str, Any]:
    return {
        "get": {
            "summary": "Prometheus metrics of every process (password unless METRICS_PUBLIC).",
            "operationId": "metrics",
            "parameters": [PASSWORD],
            "security": SECURED,
            "responses": {
                "200": {
                    "description": "Prometheus text exposition format 0.0.4.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                **_errors(401, 403, 429),
            },
        }
    }


def _openapi() -> dict[str, Any]:
    return {
        "get": {
            "summary": "This document.",
            "operationId": "openapi",
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
        }
    }


ERROR_TEXT = {
    400: "A parameter is missing or malformed; `field` names it.",
    401: "The password is required.",
    403: "The password is wrong, or the client's address is not allowed for this backend.",
    404: "No such message.",
    413: "The text is longer than MAX_MESSAGE_LENGTH.",
    429: "Too many failed passwords from this address; retry later.",
    503: "The database is unavailable; retry later (Retry-After).",
}


def document(version: str) -> dict[str, Any]:
    """Return the OpenAPI 3 document for this version of httprouter."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "httprouter",
            "version": version,
            "description": (
                "A standalone HTTP SMS router. Every path also answers with a trailing slash. "
                "Errors are JSON {error, field}. Unknown query parameters are ignored."
            ),
        },
        "paths": {
            "/router/receive": _receive(),
            "/router/outbox": _outbox(),
            "/router/delivered": _delivered(),
            "/router/alert": _alert(),
            "/router/backends/{name}/receive": _backend_call("receive"),
            "/router/backends/{name}/delivered": _backend_call("delivered"),
            "/router/send": _send(),
            "/router/messages": _messages(),
            "/router/messages/{message_id}": _message(),
            "/router/status": _status(),
            "/router/openapi.json": _openapi(),
            "/healthz": _health(),
            "/readyz": _ready(),
            "/metrics": _metrics(),
        },
        "components": {
            "schemas": {"Message": MESSAGE, "Error": ERROR, "Report": REPORT},
            "responses": {
                f"E{code}": _json(_ref("Error"), text) for code, text in ERROR_TEXT.items()
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
