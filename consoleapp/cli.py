"""Flask commands: ``flask --app wsgi <command>``."""

from __future__ import annotations

import logging

import click
from flask import Flask, current_app, url_for
from flask.cli import AppGroup, with_appcontext

from . import crypto, keyfiles
from .extensions import db, queue
from .services import passwords, retention, users
from .taskqueue import where

users_cli = AppGroup("users", help="Console accounts.")


@click.command("rotate-keys")
# The ``flask`` command pushes a context itself; app.cli, as used by test runners, does not.
@with_appcontext
def rotate_keys() -> None:
    """Re-encrypt every stored secret with the newest key in FERNET_KEYS.

    Runs in one transaction: if any secret cannot be opened, nothing changes. Safe to repeat.
    """
    keyring = crypto.keyring()
    count = 0
    try:
        for model in crypto.ENCRYPTED_MODELS:
            fields = crypto.encrypted_fields(model)
            for row in db.session.execute(db.select(model)).scalars():
                for field in fields:
                    token = getattr(row, field.column_attr)
                    if token is not None:
                        setattr(row, field.column_attr, keyring.rotate(token))
                        count += 1
        db.session.commit()
    except crypto.SecretUnavailable as exc:
        db.session.rollback()
        raise click.ClickException(
            f"A stored secret cannot be opened with the configured keys ({exc}); nothing was "
            "changed. Keep the old key in FERNET_KEYS (after the new one) and run again."
        ) from exc
    click.echo(f"Re-encrypted {count} secrets with the newest key.")


@users_cli.command("reset-password")
@click.argument("email")
@with_appcontext
def reset_password(email: str) -> None:
    """Print a one-time link (valid 1 hour) to choose a new password for EMAIL.

    For an owner locked out of their own console; the link is built on PUBLIC_URL.
    """
    user = users.find_by_email(email.strip().lower())
    if user is None:
        raise click.ClickException(
            f"No account has the email {email.strip()!r}. Check the spelling; the team page "
            "lists every account."
        )
    token = passwords.create_reset_link(None, user)
    db.session.commit()
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        link = url_for("auth.reset_password", token=token, _external=True)
    click.echo(f"Password reset link for {user.email} (works once, for 1 hour):")
    click.echo(link)


@click.command("worker")
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=None,
    help="Tasks run at once (default: the WORKER_THREADS setting).",
)
@with_appcontext
def worker(threads: int | None) -> None:
    """Run background work (registration runs, deliveries, retention) until stopped.

    Start one or more on each machine beside the web processes; Ctrl-C (SIGINT) lets the tasks
    in hand finish, SIGTERM stops at once. Anything a stopped worker held is picked up again.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    count = threads or app.config["WORKER_THREADS"]
    try:
        queue.run_worker_start()
        consumer = queue.consumer(count)
    except Exception as exc:
        raise click.ClickException(
            f"The task queue ({where(queue.url)}) cannot be opened: {type(exc).__name__}. "
            "Check TASK_QUEUE_URL and that the queue's server is running."
        ) from exc
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    click.echo(f"Worker started: {count} threads, queue {where(queue.url)}.")
    consumer.run()


inbox_cli = AppGroup("inbox", help="The console's own inbox of deliveries.")


@inbox_cli.command("prune")
def prune_inbox() -> None:
    """Remove the deliveries the Inbox no longer keeps (older than DELIVERY_RETENTION_DAYS,
    or beyond INBOX_MAX_DELIVERIES per webhook set), in small batches."""
    policy = retention.Policy.from_config(current_app.config)
    pruned = retention.prune(policy)
    click.echo(
        f"Removed {pruned.too_old} deliveries older than {policy.days} days and "
        f"{pruned.beyond_cap} beyond the newest {policy.per_inbox:,} of a webhook set."
    )


# Runs before the app can be built (the factory needs the keys), so it is not one of the app's
# commands: pyproject.toml offers it to every ``flask`` command as a plugin (flask.commands).
keys_cli = click.Group("keys", help="Sandbox mode's session and encryption keys.")

KEY_OUTCOMES = {
    "created": "{path}: created ({setting}).",
    "kept": "{path}: already there, kept ({setting}).",
    "environment": "{setting} is set in the environment: no file needed.",
}


@keys_cli.command("init")
@click.option(
    "--instance",
    "instance_path",
    type=click.Path(file_okay=False),
    default=None,
    help="The instance folder (default: the one wsgi.py's console uses).",
)
def init_keys(instance_path: str | None) -> None:
    """Create sandbox mode's keys in the instance folder (mode 0600), each once.

    Run it before serving; `make run` does. Keys that exist, or that the environment sets, are
    kept, so it is safe to repeat. Live mode takes both keys from the environment.
    """
    # The folder create_app() uses when given none; building a Flask object reads no files.
    instance = instance_path or Flask("consoleapp").instance_path
    try:
        outcome = keyfiles.create_key_files(instance)
    except keyfiles.KeyFileError as exc:
        raise click.ClickException(str(exc)) from exc
    if not outcome:
        click.echo("Live mode takes SECRET_KEY and FERNET_KEYS from the environment: no files.")
    for setting, what in outcome.items():
        path = f"{instance}/{keyfiles.KEY_FILES[setting][0]}"
        click.echo(KEY_OUTCOMES[what].format(path=path, setting=setting))


def init_app(app: Flask) -> None:
    app.cli.add_command(rotate_keys)
    app.cli.add_command(worker)
    app.cli.add_command(inbox_cli)
    app.cli.add_command(users_cli)
