"""Blobs (content), files (a user's entry pointing at a blob) and folders."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partage.db import Base, UTCDateTime, utcnow


class BlobStatus(enum.StrEnum):
    ok = "ok"
    quarantined = "quarantined"
    blocked = "blocked"


class FileStatus(enum.StrEnum):
    active = "active"
    disabled = "disabled"
    deleted = "deleted"


class Blob(Base):
    __tablename__ = "blobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    storage_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[BlobStatus] = mapped_column(
        Enum(BlobStatus, native_enum=False, length=16), default=BlobStatus.ok
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Filled by the screening jobs (partage.moderation): the MD5 for exact hash banks that
    # list MD5s, and the malware scan ("pending", "clean", "infected", "error"; None: never).
    md5: Mapped[str | None] = mapped_column(String(32), index=True)
    scan_state: Mapped[str | None] = mapped_column(String(16))
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    malware: Mapped[str | None] = mapped_column(String(255))


class Folder(Base):
    __tablename__ = "folders"
    __table_args__ = (Index("ix_folders_owner_parent", "owner_id", "parent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("folders.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    share_hash: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class File(Base):
    __tablename__ = "files"
    __table_args__ = (
        Index("ix_files_owner_folder", "owner_id", "folder_id"),
        Index("ix_files_blob", "blob_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("folders.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    # NULL once the file is deleted: the row stays so its link can answer 410.
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[FileStatus] = mapped_column(
        Enum(FileStatus, native_enum=False, length=16), default=FileStatus.active
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    last_download_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Link options
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_downloads: Mapped[int | None] = mapped_column(Integer)
    # Bumped whenever link options change: signed links carry it, so a password
    # or privacy change revokes direct links handed out before.
    link_version: Mapped[int] = mapped_column(Integer, default=1)

    # Why a disabled file is unavailable, as its visitors and owner are told (the 451's
    # reason), and the public reference of the decision behind it (partage.moderation).
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_ref: Mapped[str | None] = mapped_column(String(32))
    disabled_notice: Mapped[str | None] = mapped_column(String(32))  # the notice behind it

    blob: Mapped[Blob | None] = relationship(lazy="joined")
