"""inbox at scale: dedupe key and folded mark on deliveries, indexes for keyset pages and
the checklist, counts per minute; delivery ids never reused on SQLite

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

UNFOLDED = sa.text("NOT folded")
NEW_INDEXES = [
    ("ix_deliveries_set_id", ["webhook_set_id", "id"]),
    ("ix_deliveries_set_action_id", ["webhook_set_id", "action", "id"]),
    ("ix_deliveries_set_verified_id", ["webhook_set_id", "verified", "id"]),
    ("ix_deliveries_set_action_verified_received", ["webhook_set_id", "action", "verified", "received_at"]),
]


def upgrade():
    sqlite = op.get_context().dialect.name == "sqlite"
    # Deliveries already stored were counted into their events when they came: nothing to fold.
    with op.batch_alter_table(
        'deliveries',
        recreate='always' if sqlite else 'auto',
        table_kwargs={'sqlite_autoincrement': True},
    ) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('folded', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_index('ix_deliveries_webhook_set_id')
        batch_op.drop_index('ix_deliveries_action')
    op.execute(sa.text("UPDATE deliveries SET folded = true"))
    for name, columns in NEW_INDEXES:
        op.create_index(name, 'deliveries', columns, unique=False)
    op.create_index('ix_deliveries_unfolded', 'deliveries', ['id'], unique=False,
                    sqlite_where=UNFOLDED, postgresql_where=UNFOLDED)

    op.create_table('delivery_minutes',
    sa.Column('webhook_set_id', sa.Integer(), nullable=False),
    sa.Column('minute', sa.DateTime(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('verified', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['webhook_set_id'], ['webhook_sets.id'], name=op.f('fk_delivery_minutes_webhook_set_id_webhook_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('webhook_set_id', 'minute', 'action', name=op.f('pk_delivery_minutes'))
    )


def downgrade():
    op.drop_table('delivery_minutes')
    op.drop_index('ix_deliveries_unfolded', table_name='deliveries')
    for name, _ in NEW_INDEXES:
        op.drop_index(name, table_name='deliveries')
    with op.batch_alter_table('deliveries') as batch_op:
        batch_op.drop_column('folded')
        batch_op.drop_column('dedupe_key')
        batch_op.create_index('ix_deliveries_action', ['action'], unique=False)
        batch_op.create_index('ix_deliveries_webhook_set_id', ['webhook_set_id'], unique=False)
