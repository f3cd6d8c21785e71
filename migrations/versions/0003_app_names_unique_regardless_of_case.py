"""app names unique regardless of case

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "uq_apps_lower_name", "apps", [sa.text("lower(name)")], unique=True
    )


def downgrade():
    op.drop_index("uq_apps_lower_name", table_name="apps")
