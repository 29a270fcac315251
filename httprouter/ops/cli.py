"""The `httprouter` command: serve, worker, db upgrade, config check, send, resend, user.

Each command reads the configuration, does its one job and says what it did; `serve`'s process
supervision (gunicorn, the embedded dispatcher, migrating apart) is in `ops/serve.py`. Any
HttpRouterError a command raises ends it with `Error: <message>` and exit status 1.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import click

from ..config import load_config
from ..errors import ConfigError, HttpRouterError
from ..logsetup import config_secrets, configure_logging, install_redaction
from ..redact import redact_url

log = logging.getLogger(__name__)


class Commands(click.Group):
    """A command group that ends any command's HttpRouterError with its message, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HttpRouterError as exc:
            raise click.ClickException(exc.message) from exc


def _config(database: Literal["use", "create", "skip"] = "use") -> dict[str, Any]:
    """Load the configuration, set up the logs and check the database file is there to `use`
    (or may be made: `create`) — see ops/database.py."""
    from .database import check_database

    config = load_config()
    install_redaction(config_secrets(config))
    context = click.get_current_context(silent=True)
    verbose = bool(context and context.find_root().params.get("verbose"))
    configure_logging(config["LOG_LEVEL"], config["LOG_FORMAT"], verbose=verbose)
    if database != "skip":
        check_database(config["DATABASE_URL"], create=database == "create")
    return config


@click.group(cls=Commands)
@click.version_option(package_name="httprouter")
@click.option(
    "-v", "--verbose", is_flag=True, help="Also log the libraries' steps (alembic's migrations)."
)
def main(verbose: bool) -> None:
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
    from . import serve as supervision

    config = _config(database="create")
    supervision.serve(config, host, port or config["PORT"], workers, threads, migrate)


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
    import signal
    import threading

    from .. import build_router
    from ..delivery.dispatcher import Dispatcher

    config = _config(database="use" if parent is None else "skip")  # serve checked it
    if concurrency is not None and concurrency < 1:
        raise click.BadParameter("must be at least 1", param_hint="--concurrency")
    only = [n.strip() for n in names.split(",") if n.strip()] if names else None
    router = build_router(config)
    try:
        dispatcher = Dispatcher(router, concurrency=concurrency, backends_only=only)
    except HttpRouterError:
        router.engine.dispose()
        raise

    def _stop(signum: int, _frame: Any) -> None:
        log.info("dispatcher stopping (signal %d): finishing sends in flight", signum)
        dispatcher.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if parent is not None:
        from .serve import watch_parent

        threading.Thread(target=watch_parent, args=(parent, dispatcher.stop), daemon=True).start()
    try:
        dispatcher.run()
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

    config = _config(database="create")
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
        raise click.ClickException(f"configuration error: {exc.message}") from exc
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
    finally:
        router.engine.dispose()
    for msg in sent:
        click.echo(f"{msg.id}\t{msg.status}\t{msg.connection.identity}")


@main.group()
def user() -> None:
    """Console users: create, list, delete."""


def _user_command(url: str, action: Any) -> Any:
    from sqlalchemy.exc import DBAPIError

    from ..store.engine import make_engine

    engine = make_engine(url)
    try:
        return action(engine)
    except DBAPIError as exc:
        raise click.ClickException(
            f"cannot use the console_users table of {redact_url(url)} "
            f"({type(exc.orig).__name__}): run `httprouter db upgrade` to bring it up to date"
        ) from exc
    finally:
        engine.dispose()


def _on_a_terminal() -> bool:
    """Tell whether a person can be prompted: stdin is a terminal."""
    return sys.stdin.isatty()


@user.command("create")
@click.argument("username")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def user_create(username: str, password_stdin: bool) -> None:
    """Create console user USERNAME (the password is prompted for, never a default)."""
    from ..store.users import create_user

    url = _config()["DATABASE_URL"]  # before the password: a missing database says so first
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not _on_a_terminal():
        raise click.ClickException(
            "the password is prompted for on a terminal, and stdin is not one: "
            "to pipe the password in, add --password-stdin"
        )
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    created = _user_command(url, lambda engine: create_user(engine, username, password))
    click.echo(f"created console user {created.username}")


@user.command("list")
def user_list() -> None:
    """List console users, their last login and whether they are locked."""
    from ..store.users import list_users

    for found in _user_command(_config()["DATABASE_URL"], list_users):
        last = found.last_login_at.isoformat(timespec="seconds") if found.last_login_at else "never"
        locked = f"\tlocked until {found.locked_until.isoformat()}" if found.locked_until else ""
        click.echo(f"{found.username}\tlast login {last}{locked}")


@user.command("delete")
@click.argument("username")
def user_delete(username: str) -> None:
    """Delete console user USERNAME."""
    from ..store.users import delete_user

    _user_command(_config()["DATABASE_URL"], lambda engine: delete_user(engine, username))
    click.echo(f"deleted console user {username}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
