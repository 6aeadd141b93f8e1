"""Link options (public, password, expiry, download cap), access checks and
signed direct links."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from partage.db import utcnow
from partage.errors import (
    BadRequest,
    ContentUnavailable,
    DownloadLimitReached,
    FileDeleted,
    LinkExpired,
    LinkRevoked,
    NotFound,
    PartageError,
    PasswordRequired,
    WrongPassword,
)
from partage.files.models import BlobStatus, File, FileStatus
from partage.security import Signer, hash_password, verify_password
from partage.web.i18n import N_

UNSET: Any = object()
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# A duration past this would overflow datetime (year 9999); a century is "never" enough.
_MAX_DURATION = 100 * 366 * 86400


def parse_expires(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """ISO 8601 (with or without zone; UTC assumed) or a duration such as `7d`, `12h`."""
    if value is None:
        return None
    text = str(value).strip()
    if text == "" or text.lower() in ("null", "none", "never"):
        return None
    now = now or utcnow()
    m = _DURATION.match(text.lower())
    if m:
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
        if seconds > _MAX_DURATION:
            raise BadRequest(
                "expires: %(text)s is too far ahead; at most %(days)s days.",
                text=repr(text),
                days=_MAX_DURATION // 86400,
            )
        return now + timedelta(seconds=seconds)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            "expires: %(text)s is neither an ISO 8601 date (2030-01-31T12:00:00Z) "
            "nor a duration (30m, 12h, 7d, 2w).",
            text=repr(text),
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        when = when.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past the last representable date
        raise BadRequest("expires: the date is out of range.") from None
    if when <= now:
        raise BadRequest("expires: the date is in the past.")
    return when


def parse_max_downloads(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "null")):
        return None
    if isinstance(value, bool):
        raise BadRequest("max_downloads must be a whole number of at least 1, or null.")
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise BadRequest("max_downloads must be a whole number of at least 1, or null.") from None
    if n < 1 or n > 2**31 - 1:
        raise BadRequest("max_downloads must be a whole number of at least 1, or null.")
    return n


def parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise BadRequest("%(field)s must be true or false.", field=field)


@dataclass
class LinkOptions:
    """A change to a file's link options; UNSET fields are left alone."""

    public: Any = UNSET
    password: Any = UNSET  # str to set, None to remove
    expires: Any = UNSET  # datetime or None
    max_downloads: Any = UNSET  # int or None

    @classmethod
    def from_strings(cls, fields: dict[str, Any]) -> LinkOptions:
        """From tus metadata or form fields (all strings; absent means unchanged)."""
        opts = cls()
        if "public" in fields:
            opts.public = parse_bool(fields["public"], "public")
        if "password" in fields:
            pw = fields["password"]
            opts.password = pw if pw not in (None, "") else None
        if "expires" in fields:
            opts.expires = parse_expires(fields["expires"])
        if "max_downloads" in fields:
            opts.max_downloads = parse_max_downloads(fields["max_downloads"])
        return opts

    def apply(self, f: File) -> bool:
        changed = False
        if self.public is not UNSET and self.public != f.public:
            f.public = bool(self.public)
            changed = True
        if self.password is not UNSET:
            if self.password is None:
                changed = changed or f.password_hash is not None
                f.password_hash = None
            else:
                if len(self.password) > 1024:
                    raise BadRequest("password: 1024 characters at most.")
                f.password_hash = hash_password(self.password)
                changed = True
        if self.expires is not UNSET:
            f.expires_at = self.expires
            changed = True
        if self.max_downloads is not UNSET:
            f.max_downloads = self.max_downloads
            changed = True
        if changed:
            f.link_version = (f.link_version or 1) + 1
        return changed


def check_available(f: File, *, now: datetime | None = None) -> None:
    """What every visitor (owner included) is told about a file that cannot be served."""
    if f.status == FileStatus.deleted:
        raise FileDeleted("This file was deleted.")
    if f.status == FileStatus.disabled:
        if f.disabled_ref:
            details: dict[str, object] = {"decision": f.disabled_ref, "notice": f.disabled_notice,
                       "reason": f.disabled_reason}  # fmt: skip
            if f.disabled_notice:
                exc = ContentUnavailable(
                    "Access to this file was disabled by decision %(ref)s, following notice "
                    "%(notice)s: %(reason)s.",
                    ref=f.disabled_ref, notice=f.disabled_notice, reason=f.disabled_reason or "-",
                )  # fmt: skip
            else:
                exc = ContentUnavailable(
                    "Access to this file was disabled by decision %(ref)s: %(reason)s.",
                    ref=f.disabled_ref,
                    reason=f.disabled_reason or "-",
                )
            exc.details = details
            raise exc
        raise ContentUnavailable("Access to this file was disabled.")
    if f.blob is not None and f.blob.status != BlobStatus.ok:
        # The malware scanner's quarantine says why (partage.moderation.malware).
        if f.blob.status == BlobStatus.quarantined and f.blob.scan_state == "infected":
            raise ContentUnavailable(
                "This file is quarantined: malware %(name)s was found in it.",
                name=f.blob.malware or "?",
            )
        if f.blob.status == BlobStatus.quarantined and f.blob.scan_state == "too_large":
            raise ContentUnavailable(
                "This file is quarantined: it is too large to be scanned for malware."
            )
        raise ContentUnavailable("This file is not available: its content was blocked.")
    if f.blob is not None and f.blob.scan_state == "pending":
        raise ScanPending(
            N_("This file is being scanned for malware: try again in a minute."),
            headers={"Retry-After": "30"},
        )


class ScanPending(PartageError):
    """Held until the malware scanner's verdict (PARTAGE_CLAMAV_FAIL=closed): a passing
    state, so 503 with Retry-After (clients retry by themselves), not 451."""

    status, code = 503, "scan_pending"


def check_visitor(
    f: File, *, password: str | None = None, is_owner: bool = False, now: datetime | None = None
) -> None:
    """Link rules for a visitor; the owner passes privacy, password, expiry and cap."""
    check_available(f)
    if is_owner:
        return
    if not f.public:
        raise NotFound("No file at this address.")
    now = now or utcnow()
    if f.expires_at is not None and f.expires_at <= now:
        raise LinkExpired("This link has expired.")
    if f.max_downloads is not None and f.downloads >= f.max_downloads:
        raise DownloadLimitReached("This link has reached its maximum number of downloads.")
    if f.password_hash is not None:
        if not password:
            raise PasswordRequired("This file is protected by a password.")
        if not verify_password(f.password_hash, password):
            raise WrongPassword("Wrong password.")


# -- signed direct links --------------------------------------------------------------------


def direct_path(
    signer: Signer, f: File, *, ttl: int, owner: bool, address: str | None, inline: bool = False
) -> str:
    payload: dict[str, Any] = {"c": f.code, "v": f.link_version, "e": int(time.time()) + ttl}
    if owner:
        payload["o"] = 1
    if inline:  # a preview: shown in the page (see files/preview.py), never counted
        payload["i"] = 1
    if address:
        payload["a"] = address
    return f"/d/{signer.sign(payload)}/{quote(f.name, safe='')}"


@dataclass(frozen=True)
class DirectGrant:
    code: str
    version: int
    expires: int
    owner: bool
    inline: bool = False


def read_direct_token(signer: Signer, token: str, address: str) -> DirectGrant:
    data = signer.unsign(token)
    if data is None or not isinstance(data.get("c"), str):
        raise NotFound("This download link is not valid.")
    if int(data.get("e", 0)) < time.time():
        raise LinkExpired("This download link has expired: open the file's page for a new one.")
    bound = data.get("a")
    if bound and bound != address:
        raise LinkRevoked("This download link was issued to another network address.")
    return DirectGrant(
        data["c"], int(data.get("v", 0)), int(data["e"]), bool(data.get("o")), bool(data.get("i"))
    )


def check_grant(f: File, grant: DirectGrant, *, now: datetime | None = None) -> None:
    check_available(f)
    if grant.version != f.link_version:
        raise LinkRevoked("This download link was revoked: the file's link options changed.")
    if grant.owner:
        return
    now = now or utcnow()
    if f.expires_at is not None and f.expires_at <= now:
        raise LinkExpired("This link has expired.")
    if f.max_downloads is not None and f.downloads >= f.max_downloads:
        raise DownloadLimitReached("This link has reached its maximum number of downloads.")
