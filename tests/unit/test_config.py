"""Configuration: load order, types, and clear errors naming the key."""

from __future__ import annotations

import pytest

from httprouter import create_app
from httprouter.config import SETTINGS, load_config, masked
from httprouter.errors import ConfigError


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path}/httprouter.sqlite3"
    assert config["MAX_MESSAGE_LENGTH"] == 10_000
    assert config["OUTBOX_LEASE_SECONDS"] == 60
    assert config["IDENTITY_NORMALIZER"] == "plus-digits"
    assert config["ROUTER_SILENT"] is False


def test_file_then_environment_then_overrides(tmp_path):
    path = tmp_path / "conf.py"
    path.write_text(
        "ROUTER_SILENT = True\nMAX_MESSAGE_LENGTH = 500\nSMS_APPS = ['a.B']\n_private = 1\nlowercase = 2\n"
    )
    env = {
        "HTTPROUTER_CONFIG": str(path),
        "HTTPROUTER_MAX_MESSAGE_LENGTH": "700",
        "HTTPROUTER_ROUTER_PASSWORD": "12345",
    }
    config = load_config({"ROUTER_SILENT": False}, environ=env)
    assert config["MAX_MESSAGE_LENGTH"] == 700  # env parsed as JSON
    assert config["ROUTER_PASSWORD"] == "12345"  # a string setting keeps its text
    assert config["ROUTER_SILENT"] is False
    assert config["SMS_APPS"] == ["a.B"]


def test_env_json_for_structures():
    env = {"HTTPROUTER_ROUTER_URL": '{"default": "http://gw/?t=%(text)s", "modem": null}'}
    assert load_config(environ=env)["ROUTER_URL"] == {
        "default": "http://gw/?t=%(text)s",
        "modem": None,
    }


def test_unknown_key_names_it_and_suggests():
    with pytest.raises(ConfigError, match="ROUTER_PASWORD.*did you mean ROUTER_PASSWORD"):
        load_config(environ={"HTTPROUTER_ROUTER_PASWORD": "x"})


def test_wrong_type_names_key():
    with pytest.raises(ConfigError, match="MAX_MESSAGE_LENGTH must be int"):
        load_config({"MAX_MESSAGE_LENGTH": "long"}, environ={})
    with pytest.raises(ConfigError, match="ROUTER_SILENT must be bool"):
        load_config({"ROUTER_SILENT": 1}, environ={})


def test_bad_normalizer():
    with pytest.raises(ConfigError, match="IDENTITY_NORMALIZER"):
        load_config({"IDENTITY_NORMALIZER": "fancy"}, environ={})


def test_missing_config_file():
    with pytest.raises(ConfigError, match="not a file"):
        load_config(environ={"HTTPROUTER_CONFIG": "/nonexistent/conf.py"})


def test_bad_app_path_fails_at_startup_naming_it(tmp_path):
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    with pytest.raises(ConfigError, match="nosuch.module"):
        create_app({"DATABASE_URL": url, "SMS_APPS": ["nosuch.module.App"]})
    with pytest.raises(ConfigError, match="httprouter.apps.echo.Nope"):
        create_app({"DATABASE_URL": url, "SMS_APPS": ["httprouter.apps.echo.Nope"]})
    with pytest.raises(ConfigError, match="not an AppBase"):
        create_app({"DATABASE_URL": url, "SMS_APPS": ["httprouter.config.load_config"]})


def test_masked_hides_secrets():
    config = load_config(
        {
            "ROUTER_PASSWORD": "hunter2",
            "DATABASE_URL": "postgresql://u:pw@h/db",
            "BACKENDS": {"k": {"password": "gw-secret", "timeout": 5}},
        },
        environ={},
    )
    shown = masked(config)
    text = repr(shown)
    assert "hunter2" not in text and "gw-secret" not in text and ":pw@" not in text
    assert shown["BACKENDS"]["k"]["timeout"] == 5


def test_example_file_documents_every_key():
    from pathlib import Path

    example = (Path(__file__).resolve().parents[2] / "config.example.py").read_text()
    missing = [
        key for key in SETTINGS if f"# {key} =" not in example and f"\n{key} =" not in example
    ]
    assert missing == []
