"""Resumable upload sessions (tus)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from partage.db import Base, UTCDateTime, utcnow


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    length: Mapped[int | None] = mapped_column(BigInteger)  # None until a deferred length is set
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    is_partial: Mapped[bool] = mapped_column(Boolean, default=False)
    # For a final concatenated upload: the ids of its partial uploads, in order.
    parts: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    # With an object store: the S3 multipart upload holding the staged bytes, and its
    # parts so far as [[number, etag, size], …] (the tail lives in a temporary object).
    multipart_id: Mapped[str | None] = mapped_column(String(1024))
    staged_parts: Mapped[list[list[Any]] | None] = mapped_column(JSON)
    # Which request may write to the upload (any node): taken and released by PATCHes.
    lease_holder: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
