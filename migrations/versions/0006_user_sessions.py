"""user sessions and password reset links; ids never reused on SQLite

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# Tables whose ids must never go to a new row once their row is removed. SQLite gives that only
# with AUTOINCREMENT, which means rebuilding the table; PostgreSQL's sequences never reuse.
NEVER_REUSED = ('users', 'invitations', 'apps')


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('password_resets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('password_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_password_resets_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_resets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_resets')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_resets_token_hash')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_resets_user_id'), ['user_id'], unique=False)

    _sqlite_rebuild(NEVER_REUSED, autoincrement=True)


def downgrade():
    _sqlite_rebuild(NEVER_REUSED, autoincrement=False)
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_resets_user_id'))

    op.drop_table('password_resets')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))

    op.drop_table('user_sessions')


def _sqlite_rebuild(tables, autoincrement):
    """Rebuild ``tables`` on SQLite with or without AUTOINCREMENT, keeping every row.

    Other tables reference these (apps -> webhook sets, installations, deliveries). With foreign
    keys on, dropping the old table would fire their ON DELETE CASCADE / SET NULL and empty
    them, so this follows SQLite's own procedure (sqlite.org/lang_altertable.html, "Making Other
    Kinds Of Table Schema Changes"): foreign keys off, which SQLite allows only outside a
    transaction; rebuild in one transaction; check every reference; foreign keys on again.
    """
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    bind.exec_driver_sql('SELECT 1')  # make sure the migration's transaction has begun
    bind.exec_driver_sql('COMMIT')
    bind.exec_driver_sql('PRAGMA foreign_keys=OFF')
    try:
        bind.exec_driver_sql('BEGIN IMMEDIATE')
        try:
            # SQLite cannot reflect an expression index: set it aside and make it again.
            op.drop_index('uq_apps_lower_name', table_name='apps')
            for table in tables:
                with op.batch_alter_table(
                    table,
                    recreate='always',
                    table_kwargs={'sqlite_autoincrement': autoincrement},
                ):
                    pass
            op.create_index('uq_apps_lower_name', 'apps', [sa.text('lower(name)')], unique=True)
            broken = bind.exec_driver_sql('PRAGMA foreign_key_check').fetchall()
            if broken:
                raise RuntimeError(f'rebuilding {tables} broke references: {broken[:5]}')
            bind.exec_driver_sql('COMMIT')
        except BaseException:
            bind.exec_driver_sql('ROLLBACK')
            raise
    finally:
        bind.exec_driver_sql('PRAGMA foreign_keys=ON')
        bind.exec_driver_sql('BEGIN IMMEDIATE')  # the migration's transaction goes on
