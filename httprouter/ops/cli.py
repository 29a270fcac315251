"""The `httprouter` command: serve, worker, db upgrade/check, send, resend."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import click

from ..config import load_config
from ..errors import ConfigError, HttpRouterError
from ..logsetup import (
    config_secrets,
    configure_logging,
    gunicorn_logger_class,
    install_redaction,
)
from ..redact import redact_url

log = logging.getLogger(__name__)


def _config() -> dict[str, Any]:
    try:
        config = load_config()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    install_redaction(config_secrets(config))
    configure_logging(config["LOG_LEVEL"], config["LOG_FORMAT"])
    return config


@click.group()
@click.version_option(package_name="httprouter")
def main() -> None:
    """httprouter: a standalone HTTP SMS router."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port (default: the PORT setting, 8080).")
@click.option(
    "--workers", type=int, default=2, show_default=True, help="gunicorn worker processes."
)
@click.option("--threads", type=int, default=8, show_default=True, help="Threads per worker.")
@click.option(
    "--migrate/--no-migrate",
    default=True,
    show_default=True,
    help="Apply database migrations before starting.",
)
def serve(host: str, port: int | None, workers: int, threads: int, migrate: bool) -> None:
    """Run the HTTP service under gunicorn."""
    from gunicorn.app.base import BaseApplication

    config = _config()
    port = port or config["PORT"]
    metrics_dir = _metrics_dir()
    _run_apart(lambda: _prepare(config, migrate))
    apps = [a if isinstance(a, str) else a["ENGINE"] for a in config["SMS_APPS"]]
    log.info(
        "httprouter listening on http://%s:%s; database: %s; apps: %s",
        host,
        port,
        redact_url(config["DATABASE_URL"]),
        ", ".join(apps) or "(none)",
        extra={"event": "start"},
    )
    dispatcher = None
    if config["EMBEDDED_DISPATCHER"]:
        dispatcher = _start_embedded_dispatcher(config, port)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 30)
            # Kannel puts a whole message, URL-encoded, in the query string: a 10,000-character
            # UCS-2 text is ~60 kB. Our own MAX_MESSAGE_LENGTH check (413) is the limit instead.
            self.cfg.set("limit_request_line", 0)
            self.cfg.set("accesslog", None)  # our own request log masks passwords
            self.cfg.set("errorlog", "-")
            self.cfg.set("loglevel", config["LOG_LEVEL"].lower())
            self.cfg.set("logger_class", gunicorn_logger_class(config["LOG_FORMAT"]))
            if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 24
                self.cfg.set("control_socket_disable", True)
            if dispatcher is not None:
                self.cfg.set("on_exit", lambda _arbiter: _stop_child(dispatcher))

        def load(self) -> Any:
            from .. import create_app

            return create_app()

    try:
        Server().run()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _prepare(config: dict[str, Any], migrate: bool) -> None:
    """What serve does before the web workers start: migrate, check the push backends."""
    from ..store.engine import make_engine
    from .migrate import upgrade

    if migrate:
        engine = make_engine(config["DATABASE_URL"])
        try:
            upgrade(engine)
        finally:
            engine.dispose()
    if config["EMBEDDED_DISPATCHER"]:
        _check_backends(config)


def _run_apart(action: Callable[[], None]) -> None:
    """Run `action` in a child process and wait for it to end; stop if it failed.

    gunicorn forks the web workers from this process, so each worker starts with all of its
    memory: what start-up alone needs (alembic, the migration scripts, the push backends) is
    imported in the child and goes away with it. A ClickException ends the child as it would end
    the command (its message, its exit code).
    """
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=_as_command, args=(action,))
    child.start()
    child.join()
    if child.exitcode != 0:  # negative when a signal ended it
        raise click.exceptions.Exit(max(child.exitcode or 1, 1))


def _as_command(action: Callable[[], None]) -> None:
    try:
        action()
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


def _metrics_dir() -> str | None:
    """Make sure every process of this service counts into one metrics folder.

    An operator's PROMETHEUS_MULTIPROC_DIR is used as it is; otherwise a temporary folder is made
    (and returned, to be removed on exit).
    """
    from ..store import metrics

    given = os.environ.get(metrics.MULTIPROC_ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        metrics.use_multiprocess_dir(given)
        return None
    made = tempfile.mkdtemp(prefix="httprouter-metrics-")
    metrics.use_multiprocess_dir(made)
    return made


def _check_backends(config: dict[str, Any]) -> None:
    """Build every configured push backend now, so a bad option stops start-up naming it."""
    from ..gateways.registry import GatewayRegistry

    try:
        GatewayRegistry(config).check()
    except HttpRouterError as exc:
        raise click.ClickException(exc.message) from exc


def _start_embedded_dispatcher(config: dict[str, Any], port: int) -> Any:
    """Start `httprouter worker` as a child process that stops with serve (never a thread in
    gunicorn's arbiter, which forks the web workers)."""
    import os

    # Starts this package's own worker with this interpreter: no untrusted input.
    import subprocess  # nosec B404

    env = dict(os.environ)
    if not config["PUBLIC_URL"]:
        env["HTTPROUTER_PORT"] = str(port)  # delivery-report URLs point at this server
    command = [sys.executable, "-m", "httprouter.ops.cli", "worker", "--parent", str(os.getpid())]
    log.info("dispatcher: embedded (EMBEDDED_DISPATCHER = True)", extra={"event": "start"})
    return subprocess.Popen(command, env=env)  # nosec B603


def _stop_child(process: Any) -> None:
    import signal
    import subprocess  # nosec B404

    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
    except ChildProcessError:  # gunicorn's arbiter already reaped it
        pass


@main.command()
@click.option(
    "--concurrency",
    type=int,
    default=None,
    help="Concurrent sends (default: DISPATCHER_CONCURRENCY).",
)
@click.option("--backends", "names", default=None, help="Only these backends, comma-separated.")
@click.option("--parent", type=int, default=None, hidden=True, help="Exit when this process dies.")
def worker(concurrency: int | None, names: str | None, parent: int | None) -> None:
    """Push queued messages to their gateways until stopped (SIGTERM finishes sends in flight)."""
    import os
    import signal
    import threading

    from .. import build_router
    from ..delivery.dispatcher import Dispatcher

    config = _config()
    if concurrency is not None and concurrency < 1:
        raise click.BadParameter("must be at least 1", param_hint="--concurrency")
    only = [n.strip() for n in names.split(",") if n.strip()] if names else None
    router = build_router(config)
    try:
        dispatcher = Dispatcher(router, concurrency=concurrency, backends_only=only)
    except HttpRouterError as exc:
        router.engine.dispose()
        raise click.ClickException(exc.message) from exc

    def _stop(signum: int, _frame: Any) -> None:
        log.info("dispatcher stopping (signal %d): finishing sends in flight", signum)
        dispatcher.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if parent is not None:

        def _watch_parent() -> None:
            while not dispatcher.stop.wait(1.0):
                if os.getppid() != parent:
                    log.warning("httprouter serve is gone; the dispatcher stops")
                    dispatcher.stop.set()

        threading.Thread(target=_watch_parent, daemon=True).start()
    try:
        dispatcher.run()
    except HttpRouterError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        router.engine.dispose()


@main.command()
@click.option(
    "--status",
    "statuses",
    type=click.Choice(["F", "E"]),
    multiple=True,
    help="Which messages (repeatable; default F).",
)
@click.option("--backend", default=None, help="Only this backend.")
@click.option(
    "--since", default=None, help="Only messages created since (ISO date/time, or 2h, 30m, 1d)."
)
def resend(statuses: tuple[str, ...], backend: str | None, since: str | None) -> None:
    """Queue failed (or errored) outbound messages again, with a fresh attempt budget."""
    from .. import build_router
    from ..delivery.resend import parse_since, requeue_matching

    config = _config()
    try:
        start = parse_since(since) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    router = build_router(config)
    try:
        count = requeue_matching(router, list(statuses) or ["F"], backend, start)
    except HttpRouterError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        router.engine.dispose()
    click.echo(f"queued {count} message(s) again")


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from ..store.engine import make_engine
    from .migrate import current_revision, upgrade

    config = _config()
    engine = make_engine(config["DATABASE_URL"])
    try:
        upgrade(engine, revision)
        click.echo(f"database {redact_url(config['DATABASE_URL'])} at {current_revision(engine)}")
    finally:
        engine.dispose()


@main.group("config")
def config_group() -> None:
    """Configuration commands."""


@config_group.command("check")
def config_check() -> None:
    """Print the effective configuration (secrets masked) after loading every plugin it names."""
    import json

    from ..config import masked
    from .configcheck import check_plugins

    try:
        config = load_config()
        loaded = check_plugins(config)
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc
    click.echo(json.dumps(masked(config), indent=2, ensure_ascii=False, default=str))
    for line in loaded:
        click.echo(f"loaded {line}", err=True)
    click.echo("configuration OK", err=True)


@main.command()
@click.option("--backend", required=True, help="Backend to send through.")
@click.option("--to", "recipients", multiple=True, required=True, help="Recipient (repeatable).")
@click.option("--priority", type=int, default=0, show_default=True)
@click.argument("text")
def send(backend: str, recipients: tuple[str, ...], priority: int, text: str) -> None:
    """Send TEXT to each --to recipient on --backend."""
    from .. import build_router

    config = _config()
    router = build_router(config)
    try:
        sent = router.send(text, [(backend, r) for r in recipients], priority=priority)
    except HttpRouterError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        router.engine.dispose()
    for msg in sent:
        click.echo(f"{msg.id}\t{msg.status}\t{msg.connection.identity}")


@main.group()
def user() -> None:
    """Console users: create, list, delete."""


def _engine() -> Any:
    from ..store.engine import make_engine

    return make_engine(_config()["DATABASE_URL"])


def _user_command(action: Any) -> Any:
    from sqlalchemy.exc import DBAPIError

    engine = _engine()
    try:
        return action(engine)
    except HttpRouterError as exc:
        raise click.ClickException(exc.message) from exc
    except DBAPIError as exc:
        raise click.ClickException(
            f"cannot use the console_users table ({type(exc.orig).__name__}); "
            "run `httprouter db upgrade` first"
        ) from exc
    finally:
        engine.dispose()


@user.command("create")
@click.argument("username")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def user_create(username: str, password_stdin: bool) -> None:
    """Create console user USERNAME (the password is prompted for, never a default)."""
    from ..store.users import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    created = _user_command(lambda engine: create_user(engine, username, password))
    click.echo(f"created console user {created.username}")


@user.command("list")
def user_list() -> None:
    """List console users, their last login and whether they are locked."""
    from ..store.users import list_users

    for found in _user_command(list_users):
        last = found.last_login_at.isoformat(timespec="seconds") if found.last_login_at else "never"
        locked = f"\tlocked until {found.locked_until.isoformat()}" if found.locked_until else ""
        click.echo(f"{found.username}\tlast login {last}{locked}")


@user.command("delete")
@click.argument("username")
def user_delete(username: str) -> None:
    """Delete console user USERNAME."""
    from ..store.users import delete_user

    _user_command(lambda engine: delete_user(engine, username))
    click.echo(f"deleted console user {username}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
