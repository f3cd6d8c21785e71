"""deliveries: body format, size, hash and whether it was cut

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 19:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # Deliveries stored before this were all laid out and whole; their size and hash are unknown.
    # Plain ALTER TABLE ADD COLUMN on both databases: no table rebuild, nothing reflected.
    op.add_column('deliveries', sa.Column('body_format', sa.String(length=8), server_default='pretty', nullable=False))
    op.add_column('deliveries', sa.Column('body_truncated', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('deliveries', sa.Column('body_size', sa.Integer(), nullable=True))
    op.add_column('deliveries', sa.Column('body_sha256', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('body_sha256')
        batch_op.drop_column('body_size')
        batch_op.drop_column('body_truncated')
        batch_op.drop_column('body_format')
