"""trust and safety: notices, decisions, statements of reasons, complaints, strikes,
fingerprint banks, blob screening columns, and the append-only audit log

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 01:19:53.420962
"""

import sqlalchemy as sa
from alembic import op

import partage.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_subject"), ["subject"], unique=False)

    op.create_table(
        "notifier_sanctions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("until", partage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_sanctions")),
    )
    with op.batch_alter_table("notifier_sanctions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifier_sanctions_email"), ["email"], unique=False)

    op.create_table(
        "blob_fingerprints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["blobs.id"],
            name=op.f("fk_blob_fingerprints_blob_id_blobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blob_fingerprints")),
    )
    with op.batch_alter_table("blob_fingerprints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blob_fingerprints_blob_id"), ["blob_id"], unique=False)

    op.create_table(
        "banks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("on_match", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_banks_owner_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_banks")),
        sa.UniqueConstraint("name", name=op.f("uq_banks_name")),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "copyright",
                "illegal",
                "terms",
                "malware",
                "child_safety",
                name="category",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("work", sa.Text(), nullable=False),
        sa.Column("legal_ground", sa.Text(), nullable=False),
        sa.Column("notifier_name", sa.String(length=255), nullable=False),
        sa.Column("notifier_email", sa.String(length=320), nullable=False),
        sa.Column("signature", sa.String(length=255), nullable=False),
        sa.Column("good_faith", sa.Boolean(), nullable=False),
        sa.Column("accurate", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("notifier_id", sa.Integer(), nullable=True),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "actioned",
                "kept",
                "rejected",
                name="noticestatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("created_at", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", partage.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notifier_id"],
            ["users.id"],
            name=op.f("fk_notices_notifier_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("ref", name=op.f("uq_notices_ref")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index("ix_notices_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "disable",
                "disable_blob",
                "keep",
                "reject",
                "suspend",
                "restore",
                name="action",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("ground", sa.String(length=8), nullable=False),
        sa.Column("legal_ground", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("until", partage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("moderator_id", sa.Integer(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("reversed_at", partage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["users.id"],
            name=op.f("fk_decisions_moderator_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_decisions_notice_id_notices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["decisions.id"], name=op.f("fk_decisions_reverses_id_decisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("ref", name=op.f("uq_decisions_ref")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_notice_id"), ["notice_id"], unique=False)

    op.create_table(
        "bank_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("value_key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("created_at", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("backfilled_at", partage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source_blob_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_blob_id"],
            ["blobs.id"],
            name=op.f("fk_bank_entries_source_blob_id_blobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["banks.id"],
            name=op.f("fk_bank_entries_bank_id_banks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_bank_entries_decision_id_decisions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_bank_entries_notice_id_notices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_entries")),
    )
    with op.batch_alter_table("bank_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_entries_bank_id"), ["bank_id"], unique=False)
        batch_op.create_index("ix_bank_entries_kind_value", ["kind", "value_key"], unique=False)

    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "upheld",
                "reversed",
                "restored",
                "court_action",
                name="complaintstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("restore_after", partage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", partage.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_complaints_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_complaints_decision_id_decisions")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_complaints_notice_id_notices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_complaints_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("ref", name=op.f("uq_complaints_ref")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_complaints_decision_id"), ["decision_id"], unique=False
        )

    op.create_table(
        "decision_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_decision_targets_decision_id_decisions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
            name=op.f("fk_decision_targets_file_id_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_decision_targets_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_targets")),
    )
    with op.batch_alter_table("decision_targets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_targets_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_decision_targets_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_targets_user_id"), ["user_id"], unique=False)

    op.create_table(
        "notice_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
            name=op.f("fk_notice_items_file_id_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_items_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_items")),
    )
    with op.batch_alter_table("notice_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_items_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_items_notice_id"), ["notice_id"], unique=False)

    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_at", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("complaint_until", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_statements_decision_id_decisions")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_statements_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint("ref", name=op.f("uq_statements_ref")),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statements_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_statements_user_id"), ["user_id"], unique=False)

    op.create_table(
        "strikes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("created_at", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("voided_at", partage.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_strikes_decision_id_decisions")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_strikes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strikes")),
    )
    with op.batch_alter_table("strikes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_strikes_user_id"), ["user_id"], unique=False)

    op.create_table(
        "bank_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("bank_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("blob_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("created_at", partage.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["banks.id"],
            name=op.f("fk_bank_matches_bank_id_banks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["blobs.id"],
            name=op.f("fk_bank_matches_blob_id_blobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_bank_matches_decision_id_decisions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name=op.f("fk_bank_matches_entry_id_bank_entries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_bank_matches_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_matches")),
    )
    with op.batch_alter_table("bank_matches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_matches_created_at"), ["created_at"], unique=False
        )
    with op.batch_alter_table("blobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("md5", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("scan_state", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("scanned_at", partage.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("malware", sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f("ix_blobs_md5"), ["md5"], unique=False)

    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("disabled_ref", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("disabled_notice", sa.String(length=32), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_moderator", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("trusted_flagger", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "uploads_suspended_until", partage.db.UTCDateTime(timezone=True), nullable=True
            )
        )

    # The audit log is append-only in the database too, not only in the code.
    for statement in _APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    for statement in _DROP_APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("uploads_suspended_until")
        batch_op.drop_column("trusted_flagger")
        batch_op.drop_column("is_moderator")

    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("disabled_notice")
        batch_op.drop_column("disabled_ref")
        batch_op.drop_column("disabled_reason")

    with op.batch_alter_table("blobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blobs_md5"))
        batch_op.drop_column("malware")
        batch_op.drop_column("scanned_at")
        batch_op.drop_column("scan_state")
        batch_op.drop_column("md5")

    op.drop_table("bank_matches")
    with op.batch_alter_table("strikes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_strikes_user_id"))

    op.drop_table("strikes")
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statements_user_id"))
        batch_op.drop_index(batch_op.f("ix_statements_decision_id"))

    op.drop_table("statements")
    with op.batch_alter_table("notice_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_items_notice_id"))
        batch_op.drop_index(batch_op.f("ix_notice_items_file_id"))

    op.drop_table("notice_items")
    with op.batch_alter_table("decision_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_targets_user_id"))
        batch_op.drop_index(batch_op.f("ix_decision_targets_file_id"))
        batch_op.drop_index(batch_op.f("ix_decision_targets_decision_id"))

    op.drop_table("decision_targets")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_decision_id"))

    op.drop_table("complaints")
    with op.batch_alter_table("bank_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_entries_kind_value")
        batch_op.drop_index(batch_op.f("ix_bank_entries_bank_id"))

    op.drop_table("bank_entries")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_notice_id"))

    op.drop_table("decisions")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_status_created")

    op.drop_table("notices")
    op.drop_table("banks")
    with op.batch_alter_table("blob_fingerprints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blob_fingerprints_blob_id"))

    op.drop_table("blob_fingerprints")
    with op.batch_alter_table("notifier_sanctions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifier_sanctions_email"))

    op.drop_table("notifier_sanctions")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")


_MESSAGE = "audit_events is append-only"
_APPEND_ONLY = {
    "sqlite": [
        f"CREATE TRIGGER audit_events_no_{verb} BEFORE {verb.upper()} ON audit_events "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        for verb in ("update", "delete")
    ],
    "postgresql": [
        "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{_MESSAGE}'; END $$",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
    ],
}
_DROP_APPEND_ONLY = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS audit_events_no_update",
        "DROP TRIGGER IF EXISTS audit_events_no_delete",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
        "DROP FUNCTION IF EXISTS audit_events_append_only()",
    ],
}
