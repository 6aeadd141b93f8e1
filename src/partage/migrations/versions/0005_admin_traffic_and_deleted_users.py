"""administration: daily traffic figures, deleted accounts kept as tombstones

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import partage.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "traffic_daily",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("bytes_out", sa.BigInteger(), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
    )
    op.add_column("users", sa.Column("deleted_at", partage.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("deleted_at")
    op.drop_table("traffic_daily")
