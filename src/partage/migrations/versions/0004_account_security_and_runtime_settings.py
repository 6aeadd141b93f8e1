"""two-factor, e-mailed one-time tokens, suspension, language, runtime settings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 23:00:00
"""

import sqlalchemy as sa
from alembic import op

import partage.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

USER_COLUMNS = [
    sa.Column("totp_secret", sa.String(length=64), nullable=True),
    sa.Column("totp_enabled_at", partage.db.UTCDateTime(), nullable=True),
    sa.Column("locale", sa.String(length=16), nullable=True),
    sa.Column("suspended_at", partage.db.UTCDateTime(), nullable=True),
    sa.Column("suspended_reason", sa.Text(), nullable=True),
    sa.Column("last_login_at", partage.db.UTCDateTime(), nullable=True),
]


def upgrade() -> None:
    for column in USER_COLUMNS:
        op.add_column("users", column)
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("new_email", sa.String(length=320), nullable=True),
        sa.Column("created_at", partage.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", partage.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", partage.db.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_account_tokens_user_id", "account_tokens", ["user_id"])
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", partage.db.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])
    op.create_table(
        "runtime_settings",
        sa.Column("key", sa.String(length=64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", partage.db.UTCDateTime(), nullable=False),
        sa.Column(
            "updated_by",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_table("runtime_settings")
    op.drop_index("ix_recovery_codes_user_id", table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_index("ix_account_tokens_user_id", table_name="account_tokens")
    op.drop_table("account_tokens")
    with op.batch_alter_table("users") as batch:
        for column in reversed(USER_COLUMNS):
            batch.drop_column(column.name)
