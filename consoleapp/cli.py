"""Flask commands: ``flask --app wsgi <command>``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from . import crypto
from .extensions import db


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


def init_app(app: Flask) -> None:
    app.cli.add_command(rotate_keys)
