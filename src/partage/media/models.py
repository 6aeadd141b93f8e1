"""What was made of a blob for watching and listening, and the job that makes it.

Media belongs to the blob, not to the file: two files with the same content
share one `Media` row and one set of outputs, so a video is processed once and
a re-upload of a processed video is playable at once. Subtitles a user uploads
belong to that user's file (another owner of the same bytes does not see
them); subtitles extracted from the source belong to the blob.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from partage.db import Base, UTCDateTime, utcnow


class MediaKind(enum.StrEnum):
    video = "video"
    audio = "audio"
    image = "image"
    other = "other"  # not media: nothing to make


class JobState(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class Media(Base):
    __tablename__ = "media"
    __table_args__ = (Index("ix_media_state", "state"),)

    blob_id: Mapped[int] = mapped_column(
        ForeignKey("blobs.id", ondelete="CASCADE"), primary_key=True
    )
    # The outputs' directory name; the blob's SHA-256, kept here so that outputs can
    # be found (and removed) after the blob row is gone.
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[MediaKind] = mapped_column(
        Enum(MediaKind, native_enum=False, length=16), default=MediaKind.other
    )

    # The job
    state: Mapped[JobState] = mapped_column(
        Enum(JobState, native_enum=False, length=16), default=JobState.queued
    )
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    bad_input: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)  # retry backoff
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(255))

    # What was found and made
    playable: Mapped[bool] = mapped_column(Boolean, default=False)
    duration: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)  # as displayed
    height: Mapped[int | None] = mapped_column(Integer)
    # "original": the blob itself plays in browsers; "remux": a faststart copy does;
    # "transcode": an AAC copy of audio browsers cannot play; None: only HLS.
    direct: Mapped[str | None] = mapped_column(String(16))
    poster: Mapped[bool] = mapped_column(Boolean, default=False)
    # HlsResult.to_json(): variants, audio renditions and storyboard; the published
    # subset while the ladder runs (lowest rung first).
    hls: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    hls_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Subtitle(Base):
    __tablename__ = "subtitles"
    __table_args__ = (
        Index("ix_subtitles_blob", "blob_id"),
        Index("ix_subtitles_file", "file_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Exactly one of the two: extracted from the source (blob) or uploaded (file).
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id", ondelete="CASCADE"))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"))
    stream_index: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(255))
    vtt: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def source(self) -> str:
        return "embedded" if self.blob_id is not None else "upload"
