"""Settings: defaults < the HTTPROUTER_CONFIG file < HTTPROUTER_<KEY> environment variables.

Nothing is read at import time; `load_config()` does the reading when the app or a command starts.
Every key is declared once in `SETTINGS` with its default and the types it accepts, and documented
in `config.example.py` (a test keeps the two in step).
"""

from __future__ import annotations

import difflib
import json
import os
import runpy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One configuration key: its default, the types it takes and whether it is a secret."""

    default: Any
    types: tuple[type, ...]
    secret: bool = False


SQLITE_FILE = "httprouter.sqlite3"


def default_database_url() -> str:
    """DATABASE_URL's default: the SQLite file `httprouter.sqlite3` in the working folder."""
    return "sqlite:///" + os.path.join(os.getcwd(), SQLITE_FILE)


NONE = type(None)

SETTINGS: dict[str, Setting] = {
    "DATABASE_URL": Setting(None, (str, NONE), secret=True),
    "SMS_APPS": Setting([], (list,)),
    "ROUTER_URL": Setting(None, (str, dict, NONE), secret=True),
    "BACKENDS": Setting({}, (dict,), secret=True),
    "PUBLIC_URL": Setting(None, (str, NONE)),
    "ROUTER_PASSWORD": Setting(None, (str, NONE), secret=True),
    "ROUTER_SILENT": Setting(False, (bool,)),
    "ROUTER_HTTP_METHOD": Setting("GET", (str,)),
    "OUTBOX_LEASE_SECONDS": Setting(60, (int,)),
    "MAX_MESSAGE_LENGTH": Setting(10_000, (int,)),
    "IDENTITY_NORMALIZER": Setting("plus-digits", (str,)),
    "SECRET_KEY": Setting(None, (str, NONE), secret=True),
    "CONSOLE_USERS": Setting({}, (dict,), secret=True),
    "STATUS_PENDING_MINUTES": Setting(15, (int, float)),
    "EMBEDDED_DISPATCHER": Setting(True, (bool,)),
    "DISPATCHER_CONCURRENCY": Setting(4, (int,)),
    "CLAIM_SECONDS": Setting(120, (int, float)),
    "LOG_LEVEL": Setting("INFO", (str,)),
    "LOG_FORMAT": Setting("json", (str,)),
    "PORT": Setting(8080, (int,)),
    "TRUSTED_PROXIES": Setting([], (list,)),
    "AUTH_FAILURE_LIMIT": Setting(10, (int,)),
    "AUTH_FAILURE_WINDOW": Setting(60, (int, float)),
    "METRICS_PUBLIC": Setting(False, (bool,)),
}

NORMALIZERS = ("plus-digits", "legacy", "none")


def _parse_env_value(raw: str) -> Any:
    """Parse an environment value as JSON where it parses, else keep the string."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _check_key(key: str, source: str) -> None:
    if key not in SETTINGS:
        close = difflib.get_close_matches(key, SETTINGS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"unknown setting {key!r} in {source}{hint}", field=key)


def _check_value(key: str, value: Any) -> None:
    setting = SETTINGS[key]
    if isinstance(value, bool) and bool not in setting.types:
        ok = False
    else:
        ok = isinstance(value, setting.types)
    if not ok:
        names = " or ".join("None" if t is NONE else t.__name__ for t in setting.types)
        raise ConfigError(f"setting {key} must be {names}, not {type(value).__name__}", field=key)


def load_config(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Read the configuration in its load order and return it checked."""
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = {key: _copy(s.default) for key, s in SETTINGS.items()}

    path = environ.get("HTTPROUTER_CONFIG")
    if path:
        if not os.path.isfile(path):
            raise ConfigError(f"HTTPROUTER_CONFIG names {path!r}, which is not a file")
        try:
            values = runpy.run_path(path)
        except Exception as exc:  # the file is the operator's Python; say what broke
            raise ConfigError(f"cannot load config file {path!r}: {exc}") from exc
        for key, value in values.items():
            if key.isupper() and not key.startswith("_"):
                _check_key(key, path)
                config[key] = value

    for name, raw in environ.items():
        if name.startswith("HTTPROUTER_") and name != "HTTPROUTER_CONFIG":
            key = name[len("HTTPROUTER_") :]
            _check_key(key, f"environment variable {name}")
            config[key] = _parse_env_value(raw)
            if SETTINGS[key].types == (str, NONE) and not isinstance(config[key], str | NONE):
                config[key] = raw

    for key, value in (overrides or {}).items():
        _check_key(key, "overrides")
        config[key] = value

    for key, value in config.items():
        _check_value(key, value)
    _check_semantics(config)
    if config["DATABASE_URL"] is None:
        config["DATABASE_URL"] = default_database_url()
    return config


def _check_semantics(config: dict[str, Any]) -> None:
    if config["IDENTITY_NORMALIZER"] not in NORMALIZERS:
        raise ConfigError(
            f"IDENTITY_NORMALIZER must be one of {', '.join(NORMALIZERS)}",
            field="IDENTITY_NORMALIZER",
        )
    if config["MAX_MESSAGE_LENGTH"] < 1:
        raise ConfigError("MAX_MESSAGE_LENGTH must be at least 1", field="MAX_MESSAGE_LENGTH")
    if config["OUTBOX_LEASE_SECONDS"] < 1:
        raise ConfigError("OUTBOX_LEASE_SECONDS must be at least 1", field="OUTBOX_LEASE_SECONDS")
    for i, entry in enumerate(config["SMS_APPS"]):
        if not isinstance(entry, str | dict) or (isinstance(entry, dict) and "ENGINE" not in entry):
            raise ConfigError(
                f"SMS_APPS[{i}] must be a dotted class path or a dict with ENGINE",
                field="SMS_APPS",
            )
    for name, options in config["BACKENDS"].items():
        if not isinstance(options, dict):
            raise ConfigError(f"BACKENDS[{name!r}] must be a dict of options", field="BACKENDS")


def masked(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of the configuration with every secret replaced by '***'."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        setting = SETTINGS.get(key)
        out[key] = _mask(key, value, setting.secret if setting else False)
    return out


_SECRET_WORDS = ("password", "secret", "token", "key", "auth")


def _mask(key: str, value: Any, secret: bool) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        # A plain value directly in a secret dict (a CONSOLE_USERS hash) is secret; a nested
        # dict (one backend's options) is judged key by key.
        return {
            k: _mask(
                str(k),
                v,
                (secret and not isinstance(v, dict))
                or any(w in str(k).lower() for w in _SECRET_WORDS),
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(key, v, secret) for v in value]
    if isinstance(value, str) and "://" in value:  # any URL: mask its password and secret params
        return _mask_url(value)
    if not secret:
        return value
    return "***"


def _mask_url(url: str) -> str:
    from .redact import redact_text

    return redact_text(url)  # keeps the template's %(field)s as written


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value)) if isinstance(value, dict | list) else value
