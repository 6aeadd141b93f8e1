"""Notices, decisions, statements of reasons, complaints, strikes, fingerprint banks and the
audit log.

Public references (`Notice.ref`, `Decision.ref`, …) are what people are given and quote back:
short, unguessable where they open something (a notice's receipt page), never the row id.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partage.db import Base, UTCDateTime, utcnow
from partage.files.models import File


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=24)


class Category(enum.StrEnum):
    copyright = "copyright"
    illegal = "illegal"  # other illegal content: the legal ground is required
    terms = "terms"
    malware = "malware"
    child_safety = "child_safety"


class NoticeStatus(enum.StrEnum):
    open = "open"
    actioned = "actioned"  # content disabled or account suspended
    kept = "kept"  # examined, content left up
    rejected = "rejected"  # manifestly unfounded


class Notice(Base):
    """A notice of allegedly illegal or terms-breaking content (DSA Art. 16, DMCA 512(c)(3))."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)  # the tracking id
    category: Mapped[Category] = mapped_column(_enum(Category))
    explanation: Mapped[str] = mapped_column(Text)
    work: Mapped[str] = mapped_column(Text, default="")
    legal_ground: Mapped[str] = mapped_column(Text, default="")
    notifier_name: Mapped[str] = mapped_column(String(255), default="")
    notifier_email: Mapped[str] = mapped_column(String(320), default="")
    signature: Mapped[str] = mapped_column(String(255), default="")
    good_faith: Mapped[bool] = mapped_column(Boolean, default=False)
    accurate: Mapped[bool] = mapped_column(Boolean, default=False)
    # "form" (the public page) or "api" (a rights holder's token); the account behind an
    # API notice, and whether it was a trusted flagger when it sent it.
    source: Mapped[str] = mapped_column(String(16), default="form")
    notifier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[NoticeStatus] = mapped_column(_enum(NoticeStatus), default=NoticeStatus.open)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[NoticeItem]] = relationship(
        back_populates="notice", order_by="NoticeItem.id", lazy="selectin"
    )


class NoticeItem(Base):
    """One location a notice names, as given, and the file it resolved to."""

    __tablename__ = "notice_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    location: Mapped[str] = mapped_column(Text)
    file_id: Mapped[int | None] = mapped_column(
        ForeignKey("files.id", ondelete="SET NULL"), index=True
    )

    notice: Mapped[Notice] = relationship(back_populates="items")


class Action(enum.StrEnum):
    disable = "disable"  # the named file(s)
    disable_blob = "disable_blob"  # every file sharing the content
    keep = "keep"
    reject = "reject"  # the notice is manifestly unfounded
    suspend = "suspend"  # the uploader's account
    restore = "restore"  # a reversal: complaint upheld, counter-notice period over


class Decision(Base):
    """What a moderator (or a bank match) decided, and on what ground (DSA Art. 17)."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    action: Mapped[Action] = mapped_column(_enum(Action))
    notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("notices.id", ondelete="SET NULL"), index=True
    )
    # "notice", "own_initiative", "bank_match", "malware_scan", "complaint", "counter_notice"
    source: Mapped[str] = mapped_column(String(24))
    ground: Mapped[str] = mapped_column(String(8), default="law")  # "law" or "terms"
    # The law relied on, or the terms clause; the facts and circumstances.
    legal_ground: Mapped[str] = mapped_column(Text, default="")
    facts: Mapped[str] = mapped_column(Text, default="")
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    # Until when a restriction lasts (None: indefinitely).
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The decision this one reverses (a restore), and the one that reversed it.
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    targets: Mapped[list[DecisionTarget]] = relationship(
        back_populates="decision", order_by="DecisionTarget.id", lazy="selectin"
    )


class DecisionTarget(Base):
    """A file a decision applied to, with its owner at the time."""

    __tablename__ = "decision_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(
        ForeignKey("decisions.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[int | None] = mapped_column(
        ForeignKey("files.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    decision: Mapped[Decision] = relationship(back_populates="targets")
    file: Mapped[File | None] = relationship(lazy="joined")


class Statement(Base):
    """A statement of reasons sent to one affected account (DSA Art. 17(3)), kept as sent."""

    __tablename__ = "statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Everything the statement says, frozen when it was issued (see moderation.statements).
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    complaint_until: Mapped[datetime] = mapped_column(UTCDateTime)

    decision: Mapped[Decision] = relationship(lazy="joined")


class ComplaintStatus(enum.StrEnum):
    open = "open"
    upheld = "upheld"  # the decision stands
    reversed = "reversed"  # the decision was reversed: content restored
    restored = "restored"  # counter-notice: restored after the waiting period
    court_action = "court_action"  # counter-notice: the notifier reported a court action


class Complaint(Base):
    """A complaint against a decision (DSA Art. 20) or a DMCA counter-notice (512(g))."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "complaint" or "counter_notice"
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A notifier complaining about a decision to keep: the notice it came from.
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text, default="")
    # Counter-notice fields (17 U.S.C. 512(g)(3)).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[ComplaintStatus] = mapped_column(
        _enum(ComplaintStatus), default=ComplaintStatus.open
    )
    restore_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Strike(Base):
    """An upheld decision against an account, counted by the repeat-infringer policy."""

    __tablename__ = "strikes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the decision is reversed: the strike no longer counts.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotifierSanction(Base):
    """A warning or a suspension of a notifier (by e-mail) for manifestly unfounded notices."""

    __tablename__ = "notifier_sanctions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "warning" or "suspension"
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Bank(Base):
    """A named list of fingerprints of content that must stay down."""

    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    source: Mapped[str] = mapped_column(Text, default="")  # who supplies it, under what
    # What a perceptual match does: "disable" (automated decision) or "review" (queued).
    on_match: Mapped[str] = mapped_column(String(16), default="review")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankEntry(Base):
    __tablename__ = "bank_entries"
    __table_args__ = (Index("ix_bank_entries_kind_value", "kind", "value_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "sha256", "md5", "pdq", "vpdq"
    value: Mapped[str] = mapped_column(Text)
    # The exact hashes themselves, an indexable prefix of the others.
    value_key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(255), default="")
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once the entry was checked against the content already stored.
    backfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A video print banked from a stored blob is first the blob's upload-time print (one
    # frame a second); `screening.densify` replaces it with the blob's reference print
    # (denser, with crop variants) and clears this.
    source_blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id", ondelete="SET NULL"))


class BlobFingerprint(Base):
    """A perceptual fingerprint of a blob (PDQ of an image, vPDQ of a video)."""

    __tablename__ = "blob_fingerprints"

    id: Mapped[int] = mapped_column(primary_key=True)
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankMatch(Base):
    """Content found to match a bank entry: at upload (exact) or after processing."""

    __tablename__ = "bank_matches"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("bank_entries.id", ondelete="SET NULL"))
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(8))
    # "refused" (an upload stopped), "disabled", "queued"
    outcome: Mapped[str] = mapped_column(String(16))
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    score: Mapped[int | None] = mapped_column(Integer)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditEvent(Base):
    """One moderation or admin action. Append-only: the model refuses updates and deletes
    (see moderation.audit), and so do database triggers (migration 0006)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # no FK: outlives the account
    actor: Mapped[str] = mapped_column(String(320))  # e-mail or "system"
    action: Mapped[str] = mapped_column(String(64), index=True)
    # "file:abc…", "user:12", "notice:N-…", "notifier:<e-mail>"
    subject: Mapped[str] = mapped_column(String(400), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
