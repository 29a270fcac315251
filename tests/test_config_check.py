"""`httprouter config check`: the effective configuration, masked; clear failures, exit 1."""

from __future__ import annotations

import json
import os
import re

import pytest
from click.testing import CliRunner

from httprouter.config import SETTINGS
from httprouter.ops.cli import main


def check(env: dict[str, str]):
    return CliRunner().invoke(main, ["config", "check"], env=env)


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("HTTPROUTER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_prints_effective_config_with_secrets_masked(tmp_path):
    conf = tmp_path / "conf.py"
    conf.write_text(
        "SMS_APPS = ['httprouter.apps.echo.EchoApp']\n"
        "ROUTER_URL = {'default': 'http://127.0.0.1:13013/cgi-bin/sendsms?username=rt"
        "&password=kannel-pw-77&to=%(recipient)s', 'relayer': None}\n"
        "BACKENDS = {'kannel': {'password': 'gw-pw-88', 'timeout': 5}}\n"
        "CONSOLE_USERS = {'admin': 'pbkdf2:sha256:hash-value-99'}\n"
    )
    result = check(
        {
            "HTTPROUTER_CONFIG": str(conf),
            "HTTPROUTER_ROUTER_PASSWORD": "router-pw-66",
            "HTTPROUTER_DATABASE_URL": "postgresql://rt:db-pw-55@127.0.0.1/rt",
            "HTTPROUTER_MAX_MESSAGE_LENGTH": "500",
        }
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["MAX_MESSAGE_LENGTH"] == 500  # environment over file over defaults
    assert shown["SMS_APPS"] == ["httprouter.apps.echo.EchoApp"]
    assert shown["ROUTER_PASSWORD"] == "***"
    assert shown["DATABASE_URL"] == "postgresql://rt:***@127.0.0.1/rt"
    assert shown["BACKENDS"]["kannel"] == {"password": "***", "timeout": 5}
    assert "%(recipient)s" in shown["ROUTER_URL"]["default"]
    for secret in ("kannel-pw-77", "gw-pw-88", "hash-value-99", "router-pw-66", "db-pw-55"):
        assert secret not in result.output
    assert "configuration OK" in result.stderr
    assert "loaded app httprouter.apps.echo.EchoApp" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HTTPROUTER_ROUTER_PASWORD": "x"}, "unknown setting 'ROUTER_PASWORD'.*ROUTER_PASSWORD"),
        ({"HTTPROUTER_MAX_MESSAGE_LENGTH": '"long"'}, "MAX_MESSAGE_LENGTH must be int"),
        ({"HTTPROUTER_ROUTER_SILENT": "1"}, "ROUTER_SILENT must be bool"),
        ({"HTTPROUTER_SMS_APPS": '["nosuch.module.App"]'}, "cannot import 'nosuch.module'"),
        ({"HTTPROUTER_SMS_APPS": '["httprouter.apps.echo.Nope"]'}, "has no 'Nope'"),
        ({"HTTPROUTER_SMS_APPS": '["httprouter.config.load_config"]'}, "not an AppBase"),
        (
            {"HTTPROUTER_SMS_APPS": '[{"ENGINE": "httprouter.apps.echo.EchoApp", "nope": 1}]'},
            "SMS_APPS\\[0\\].*nope",
        ),
        (
            {"HTTPROUTER_BACKENDS": '{"kannel": {"ENGINE": "nosuch.gateway.Kannel"}}'},
            "BACKENDS\\['kannel'\\].*nosuch.gateway",
        ),
        (
            {"HTTPROUTER_BACKENDS": '{"kannel": {"ENGINE": "httprouter.config.NONE_SUCH"}}'},
            "has no 'NONE_SUCH'",
        ),
        ({"HTTPROUTER_ROUTER_URL": '{"kannel": 5}'}, "ROUTER_URL\\['kannel'\\]"),
        # every backend is built: a misspelt or mistyped option fails the check, naming both
        (
            {"HTTPROUTER_BACKENDS": '{"api": {"ENGINE": "http", "urll": "http://gw/"}}'},
            "BACKENDS\\['api'\\]: unknown option 'urll' \\(did you mean 'url'\\?\\)",
        ),
        (
            {"HTTPROUTER_BACKENDS": '{"k": {"ENGINE": "kannel", "timeout": "5"}}'},
            "BACKENDS\\['k'\\]: timeout must be a number",
        ),
        (
            {"HTTPROUTER_BACKENDS": '{"j": {"ENGINE": "jasmin", "gateway_user": "u"}}'},
            "BACKENDS\\['j'\\].*gateway_password",
        ),
        (
            {"HTTPROUTER_BACKENDS": '{"x": {"ENGINE": "kanel"}}'},
            # every shipped engine, sorted (a new gateway adds its name in its place)
            "BACKENDS\\['x'\\]: unknown ENGINE 'kanel'; engines: android-sms-gateway, dummy, (\\S+, )*kannel, log, ",
        ),
        (
            {"HTTPROUTER_BACKENDS": '{"default": {"ENGINE": "kannel", "dlr_mask": 99}}'},
            "BACKENDS\\['default'\\]: dlr_mask must be 0-63",
        ),
        ({"HTTPROUTER_DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"HTTPROUTER_CONFIG": "/nonexistent/conf.py"}, "not a file"),
    ],
)
def test_bad_setting_fails_with_a_message_naming_it(env, message):
    result = check(env)
    assert result.exit_code == 1
    assert "configuration error" in result.stderr
    assert re.search(message, result.stderr), result.stderr


def test_every_key_can_be_set_from_the_environment():
    for key, setting in SETTINGS.items():
        result = check({f"HTTPROUTER_{key}": json.dumps(setting.default)})
        assert result.exit_code == 0, (key, result.output)
        assert key in json.loads(result.stdout)
