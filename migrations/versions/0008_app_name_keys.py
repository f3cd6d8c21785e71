"""app names compared by what they look like (name_key)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 10:00:00

Existing apps get their key. Apps whose names already look the same (saved before lookalikes
were refused) keep the oldest name as it is; each later one is renamed with " (2)", " (3)"...
appended, and the rename is written to the audit log, so nobody loses an app and everybody can
tell them apart.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from consoleapp.app_names import KEY_MAX, NAME_MAX, name_key

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

apps = sa.table(
    "apps",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
)
audit_events = sa.table(
    "audit_events",
    sa.column("created_at", sa.DateTime),
    sa.column("action", sa.String),
    sa.column("target", sa.String),
    sa.column("details", sa.JSON),
)


def _distinct_name(name, avoid):
    """The name with the first free " (n)" suffix, cut to fit the column."""
    number = 2
    while True:
        suffix = f" ({number})"
        candidate = name[: NAME_MAX - len(suffix)].rstrip() + suffix
        if name_key(candidate) not in avoid:
            return candidate
        number += 1


def _fill_keys(connection):
    rows = connection.execute(sa.select(apps.c.id, apps.c.name).order_by(apps.c.id)).all()
    # A new name must not look like any app's name, including those not reached yet.
    avoid = {name_key(name) for _app_id, name in rows}
    kept = {}
    renamed = []
    for app_id, name in rows:
        key = name_key(name)
        if key in kept:
            new_name = _distinct_name(name, avoid)
            renamed.append((name, new_name, kept[key]))
            name, key = new_name, name_key(new_name)
            avoid.add(key)
        kept[key] = name
        connection.execute(
            apps.update().where(apps.c.id == app_id).values(name=name, name_key=key)
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    for before, after, lookalike in renamed:
        connection.execute(
            audit_events.insert().values(
                created_at=now,
                action="app.renamed",
                target=after,
                details={"before": before, "reason": f"looked the same as “{lookalike}”"},
            )
        )


def upgrade():
    # SQLite cannot make an existing column NOT NULL without rebuilding the table, and
    # rebuilding apps with foreign keys on would cascade-delete its webhook sets and
    # installations: the column arrives NOT NULL with an empty default, then gets its values.
    op.add_column(
        "apps",
        sa.Column("name_key", sa.String(length=KEY_MAX), nullable=False, server_default=""),
    )
    _fill_keys(op.get_bind())
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("apps", "name_key", server_default=None)
    op.drop_index("uq_apps_lower_name", table_name="apps")
    op.create_index("uq_apps_name_key", "apps", ["name_key"], unique=True)


def downgrade():
    op.drop_index("uq_apps_name_key", table_name="apps")
    op.drop_column("apps", "name_key")
    op.create_index("uq_apps_lower_name", "apps", [sa.text("lower(name)")], unique=True)
