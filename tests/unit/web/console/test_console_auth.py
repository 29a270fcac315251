"""Console login: users, sessions, CSRF, lock-out, security headers; the `user` commands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from werkzeug.security import check_password_hash, generate_password_hash

from httprouter import clock
from httprouter.ops import cli
from httprouter.ops.cli import main
from httprouter.store.users import DUMMY_HASH, FREE_ATTEMPTS, list_users, lock_seconds

from ....support.console_support import PASSWORD, USERNAME, add_user, csrf_of, log_in, token


def test_without_users_the_login_page_says_how_to_create_one(client):
    page = client.get("/router/console/login")
    assert page.status_code == 200
    assert "httprouter user create" in page.text
    assert 'name="password"' not in page.text


def test_console_pages_require_login(app, client):
    add_user(app)
    for path in (
        "/router/console",
        "/router/console/queues",
        "/router/console/simulator",
        "/router/console/send",
        "/router/console/messages/1",
    ):
        answer = client.get(path)
        assert answer.status_code == 302, path
        assert answer.headers["Location"].startswith("/router/console/login?next=")


def test_login_sets_a_strict_cookie_and_opens_the_console(app, client):
    add_user(app)
    answer = log_in(client)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/router/console"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/router/console" in cookie
    assert "Secure" not in cookie
    assert client.get("/router/console").status_code == 200


def test_cookie_is_secure_over_https(app):
    add_user(app)
    client = app.test_client()
    page = client.get("/router/console/login", base_url="https://localhost")
    answer = client.post(
        "/router/console/login",
        base_url="https://localhost",
        data={"username": USERNAME, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert "Secure" in answer.headers["Set-Cookie"]


def login_with_next(client, target):
    page = client.get("/router/console/login")
    form = {"username": USERNAME, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    return client.post("/router/console/login", data={**form, "next": target})


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(app):
    add_user(app)
    answer = login_with_next(app.test_client(), "/router/console/queues")
    assert answer.headers["Location"] == "/router/console/queues"
    answer = login_with_next(app.test_client(), "https://evil.example/")
    assert answer.headers["Location"] == "/router/console"


def test_wrong_password_is_refused(app, client):
    add_user(app)
    answer = log_in(client, password="not the password")
    assert answer.status_code == 401
    assert "Wrong username or password" in answer.text
    assert log_in(client, username="nobody").status_code == 401
    assert client.get("/router/console").status_code == 302


def test_an_unknown_username_costs_the_same_hash_check_as_a_known_one():
    # The written-out dummy hash must use the method and cost real hashes are made with.
    method = generate_password_hash("any password").split("$")[0]
    assert DUMMY_HASH.split("$")[0] == method
    assert not check_password_hash(DUMMY_HASH, PASSWORD)


def test_repeated_failures_lock_the_account_for_a_growing_time(app, client):
    add_user(app)
    start = clock.now()
    clock.pin(lambda: start)
    try:
        for _ in range(FREE_ATTEMPTS - 1):
            assert log_in(client, password="wrong password").status_code == 401
        locked = log_in(client, password="wrong password")
        assert locked.status_code == 429
        assert "locked for 60 seconds" in locked.text
        # Even the right password is refused while the lock lasts.
        assert log_in(client).status_code == 429
        clock.pin(lambda: start + timedelta(seconds=61))
        assert log_in(client).status_code == 302
        user = list_users(app.extensions["httprouter"].engine)[0]
        assert user.failed_logins == 0 and user.locked_until is None
    finally:
        clock.pin(None)
    assert lock_seconds(FREE_ATTEMPTS + 1) == 120
    assert lock_seconds(100) == 3600


def test_post_without_csrf_token_is_refused(app, client):
    add_user(app)
    answer = client.post("/router/console/login", data={"username": USERNAME, "password": PASSWORD})
    assert answer.status_code == 403
    assert answer.json["field"] == "csrf_token"
    log_in(client)
    answer = client.post("/router/console/send", data={"backend": "b", "to": "1", "text": "x"})
    assert answer.status_code == 403
    assert answer.json == {
        "error": "CSRF token missing or wrong; reload the page",
        "field": "csrf_token",
    }
    wrong = client.post(
        "/router/console/send",
        data={"backend": "b", "to": "1", "text": "x", "csrf_token": "forged"},
    )
    assert wrong.status_code == 403
    assert client.get("/router/console?direction=O").text.count("data-id=") == 0


def test_logout_ends_the_session(app, client):
    add_user(app)
    log_in(client)
    answer = client.post("/router/console/logout", data={"csrf_token": token(client)})
    assert answer.status_code == 302
    assert client.get("/router/console").status_code == 302


def test_deleting_a_user_ends_their_session(app, client):
    add_user(app)
    log_in(client)
    from httprouter.store.users import delete_user

    delete_user(app.extensions["httprouter"].engine, USERNAME)
    assert client.get("/router/console").status_code == 302


def test_users_declared_in_config_can_log_in(make_app):
    app = make_app(CONSOLE_USERS={"ops": generate_password_hash("s3cret-enough")})
    client = app.test_client()
    assert 'name="password"' in client.get("/router/console/login").text
    assert log_in(client, "ops", "s3cret-enough").status_code == 302
    assert log_in(app.test_client(), "ops", "wrong-password").status_code == 401


def test_console_pages_carry_security_headers(app, client):
    add_user(app)
    for answer in (
        client.get("/router/console/login"),
        client.get("/router/console/static/console.js"),
    ):
        assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert "script-src 'self';" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        answer.close()


def test_router_endpoints_get_no_session_cookie(client):
    answer = client.get("/router/receive?backend=console&sender=1&message=hi")
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers


@pytest.fixture
def cli_env(db_url, monkeypatch):
    for name in ("HTTPROUTER_CONFIG", "HTTPROUTER_SMS_APPS"):
        monkeypatch.delenv(name, raising=False)
    return {"HTTPROUTER_DATABASE_URL": db_url, "HTTPROUTER_LOG_FORMAT": "text"}


def test_user_commands_create_list_and_delete(cli_env, monkeypatch):
    runner = CliRunner()
    made = runner.invoke(
        main,
        ["user", "create", "alice", "--password-stdin"],
        input="a long password\n",
        env=cli_env,
    )
    assert made.exit_code == 0, made.output
    assert "created console user alice" in made.output
    again = runner.invoke(
        main,
        ["user", "create", "alice", "--password-stdin"],
        input="a long password\n",
        env=cli_env,
    )
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(
        main, ["user", "create", "bob", "--password-stdin"], input="short\n", env=cli_env
    )
    assert short.exit_code != 0 and "at least 8" in short.output
    piped = runner.invoke(main, ["user", "create", "carol"], input="a long password\n", env=cli_env)
    assert piped.exit_code == 1
    assert piped.output.strip().splitlines() == [
        "Error: the password is prompted for on a terminal, and stdin is not one: "
        "to pipe the password in, add --password-stdin"
    ]
    monkeypatch.setattr(cli, "_on_a_terminal", lambda: True)  # as when a person types it
    prompted = runner.invoke(
        main, ["user", "create", "carol"], input="another password\nanother password\n", env=cli_env
    )
    assert prompted.exit_code == 0, prompted.output
    listed = runner.invoke(main, ["user", "list"], env=cli_env)
    assert listed.exit_code == 0
    assert "alice\tlast login never" in listed.output and "carol" in listed.output
    assert "bob" not in listed.output
    gone = runner.invoke(main, ["user", "delete", "alice"], env=cli_env)
    assert gone.exit_code == 0
    assert "alice" not in runner.invoke(main, ["user", "list"], env=cli_env).output
    missing = runner.invoke(main, ["user", "delete", "alice"], env=cli_env)
    assert missing.exit_code != 0 and "no console user" in missing.output
