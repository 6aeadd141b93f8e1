"""uploads staged in an object store, leased by one request at a time

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 19:40:00
"""

import sqlalchemy as sa
from alembic import op

import partage.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("uploads", sa.Column("multipart_id", sa.String(length=1024), nullable=True))
    op.add_column("uploads", sa.Column("staged_parts", sa.JSON(), nullable=True))
    op.add_column("uploads", sa.Column("lease_holder", sa.String(length=64), nullable=True))
    op.add_column("uploads", sa.Column("lease_until", partage.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_holder")
        batch.drop_column("staged_parts")
        batch.drop_column("multipart_id")
