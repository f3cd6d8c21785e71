"""trigger tests: test events started from Install & test get a table of their own, read by
index seeks instead of a scan of recent audit events; the latest start of each trigger is
copied from the audit log

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_trigger_tests_app_action_started", ["app_id", "action", "started_at"]),
    ("ix_trigger_tests_app_id", ["app_id", "id"]),
]
AUDIT_EVENTS = sa.table(
    'audit_events',
    sa.column('id', sa.Integer()),
    sa.column('created_at', sa.DateTime()),
    sa.column('actor_id', sa.Integer()),
    sa.column('action', sa.String()),
    sa.column('details', sa.JSON()),
)
APPS = sa.table('apps', sa.column('id', sa.Integer()))


def upgrade():
    trigger_tests = op.create_table('trigger_tests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('scenario', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_trigger_tests_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_trigger_tests_started_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trigger_tests'))
    )
    for name, columns in INDEXES:
        op.create_index(name, 'trigger_tests', columns, unique=False)
    op.bulk_insert(trigger_tests, _latest_starts())


def _latest_starts():
    """The latest test event of each trigger of each app still there, from the audit log: a
    test started before the upgrade keeps its clock."""
    connection = op.get_bind()
    apps = set(connection.execute(sa.select(APPS.c.id)).scalars())
    query = (
        sa.select(AUDIT_EVENTS.c.actor_id, AUDIT_EVENTS.c.created_at, AUDIT_EVENTS.c.details)
        .where(AUDIT_EVENTS.c.action == 'test.event_started')
        .order_by(AUDIT_EVENTS.c.id)
    )
    latest = {}
    for actor_id, created_at, details in connection.execute(query):
        details = details if isinstance(details, dict) else {}
        app_id, action = details.get('app_id'), details.get('trigger')
        if type(app_id) is not int or app_id not in apps:
            continue
        if not isinstance(action, str) or not 0 < len(action) <= 64:
            continue
        scenario = details.get('scenario')
        latest[(app_id, action)] = {
            'app_id': app_id,
            'action': action,
            'scenario': scenario[:64] if isinstance(scenario, str) else '',
            'started_at': created_at,
            'started_by_id': actor_id,
        }
    return list(latest.values())


def downgrade():
    for name, _ in INDEXES:
        op.drop_index(name, table_name='trigger_tests')
    op.drop_table('trigger_tests')
