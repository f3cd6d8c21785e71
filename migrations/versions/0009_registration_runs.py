"""registration runs (background work with a lease); the run that registered each webhook;
the token-refresh lease of installations

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

ACTIVE = "state IN ('queued', 'running', 'cancelling')"


def upgrade():
    op.create_table('registration_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('webhook_set_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('holder', sa.String(length=120), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('pickups', sa.Integer(), nullable=False),
    sa.Column('cancel_requested_at', sa.DateTime(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_registration_runs_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['webhook_set_id'], ['webhook_sets.id'], name=op.f('fk_registration_runs_webhook_set_id_webhook_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_runs')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_registration_runs_webhook_set_id'), 'registration_runs', ['webhook_set_id'], unique=False)
    op.create_index('uq_registration_runs_one_active', 'registration_runs', ['webhook_set_id'], unique=True, sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))

    with op.batch_alter_table('registered_webhooks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_registered_webhooks_run_id_registration_runs'), 'registration_runs', ['run_id'], ['id'], ondelete='SET NULL')

    op.add_column('installations', sa.Column('refreshing_until', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('installations', schema=None) as batch_op:
        batch_op.drop_column('refreshing_until')
    with op.batch_alter_table('registered_webhooks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_registered_webhooks_run_id_registration_runs'), type_='foreignkey')
        batch_op.drop_column('run_id')
    op.drop_index('uq_registration_runs_one_active', table_name='registration_runs')
    op.drop_index(op.f('ix_registration_runs_webhook_set_id'), table_name='registration_runs')
    op.drop_table('registration_runs')
