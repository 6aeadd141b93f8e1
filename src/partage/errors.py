"""Domain errors, raised by services and mapped once to HTTP statuses.

The API answers `{"error": code, "message": text}` in English; pages show the message in
the reader's language (`partage.web.i18n.error_text`). So a message is a literal template
with named `%(name)s` placeholders and its values as keyword params, never an f-string:
the template is what the catalogue translates, `message` the English text filled in.
"""

from __future__ import annotations


class Term(str):
    """A word or phrase put into a message that is itself translated where the message is
    shown ("folder name", "suspend"); mark its literal with `N_` where it is written."""

    __slots__ = ()


class PartageError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, headers: dict[str, str] | None = None, **params: object
    ) -> None:
        self.template = message
        self.params = params
        self.message = message % params if params else message
        super().__init__(self.message)
        self.headers = headers or {}


class BadRequest(PartageError):
    status, code = 400, "bad_request"


class InvalidName(PartageError):
    status, code = 400, "invalid_name"


class NotAuthenticated(PartageError):
    status, code = 401, "not_authenticated"


class PasswordRequired(PartageError):
    status, code = 401, "password_required"


class WrongPassword(PartageError):
    status, code = 403, "wrong_password"


class Forbidden(PartageError):
    status, code = 403, "forbidden"


class LinkRevoked(PartageError):
    status, code = 403, "link_revoked"


class NotFound(PartageError):
    status, code = 404, "not_found"


class Conflict(PartageError):
    status, code = 409, "conflict"


class Gone(PartageError):
    status, code = 410, "gone"


class FileDeleted(Gone):
    code = "file_deleted"


class LinkExpired(Gone):
    code = "link_expired"


class DownloadLimitReached(Gone):
    code = "download_limit_reached"


class TooLarge(PartageError):
    status, code = 413, "file_too_large"


class QuotaExceeded(PartageError):
    status, code = 413, "quota_exceeded"


class UnsupportedMediaType(PartageError):
    status, code = 415, "unsupported_media_type"


class RangeNotSatisfiable(PartageError):
    status, code = 416, "range_not_satisfiable"


class ChecksumMismatch(PartageError):
    status, code = 460, "checksum_mismatch"


class RateLimited(PartageError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int, **params: object) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))}, **params)
        self.retry_after = retry_after


class ContentUnavailable(PartageError):
    """Disabled by a moderation decision (DSA / DMCA)."""

    status, code = 451, "unavailable_for_legal_reasons"
