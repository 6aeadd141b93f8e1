"""Users, plans, web sessions, API tokens, one-time account tokens and 2FA recovery codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partage.db import Base, UTCDateTime, utcnow


class Plan(Base):
    """What an account may do. `None` means unlimited."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    storage_quota: Mapped[int | None] = mapped_column(BigInteger)
    max_file_size: Mapped[int | None] = mapped_column(BigInteger)
    bandwidth_cap: Mapped[int | None] = mapped_column(BigInteger)  # bytes per second
    daily_download_quota: Mapped[int | None] = mapped_column(BigInteger)  # bytes per day
    download_wait: Mapped[int] = mapped_column(Integer, default=0)  # seconds
    retention_days: Mapped[int | None] = mapped_column(Integer)  # delete files idle this long


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # TOTP (RFC 6238): the secret is kept from set-up; 2FA is on once `totp_enabled_at`
    # is set, after the user proved a first code.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language the user chose (a catalogue name such as "fr"); None follows the browser.
    locale: Mapped[str | None] = mapped_column(String(16))
    # Suspension is `is_active = False`; these say when and why, for the admin and the user.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_reason: Mapped[str | None] = mapped_column(Text)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An account an admin deleted stays as a tombstone (e-mail and secrets wiped) so that
    # its files' links keep answering 410 "deleted" (partage.admin.users.delete_user).
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Trust and safety (partage.moderation): moderators decide notices (admins may too);
    # a trusted flagger's notices go first; the repeat-infringer policy may stop uploads.
    is_moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    trusted_flagger: Mapped[bool] = mapped_column(Boolean, default=False)
    uploads_suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[Plan] = relationship(lazy="joined")


class WebSession(Base):
    """A server-side login session; the cookie holds the secret, we store its hash."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    address: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A bearer token. Tokens are 256-bit random, so a SHA-256 hash is enough at rest."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountToken(Base):
    """A one-time secret sent by e-mail: a password reset, or the proof of a new address.
    Only its SHA-256 is stored; it is spent once (`used_at`) and expires."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # "reset" | "email"; "totp" rows record spent 2FA time steps (accounts/twofactor.py)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    new_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    """A single-use 2FA recovery code (hashed); a new set replaces the old one."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RuntimeSetting(Base):
    """A setting an admin changed while the service runs (a few keys only; see
    `partage.admin.runtime`). It overrides the value from the environment."""

    __tablename__ = "runtime_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
