"""Domain errors, raised by services and mapped once to HTTP statuses.

The API answers `{"error": code, "message": text}` in English; pages show the message in
the reader's language (`partage.web.i18n.error_text`). So a message is a literal template
with named `%(name)s` placeholders and its values as keyword params, never an f-string:
the template is what the catalogue translates, `message` the English text filled in.
"""

from __future__ import annotations

from collections.abc import Mapping


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
        # More for the API's JSON answer beside "error" and "message" (e.g. "fields").
        self.details: dict[str, object] = {}


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


class InsufficientStorage(PartageError):
    """The disk (or the database's) is full."""

    status, code = 507, "insufficient_storage"


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


class IncompleteNotice(PartageError):
    """A notice missing what the law asks of it: `details["fields"]` names each field."""

    status, code = 422, "incomplete_notice"

    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__(
            "The notice is incomplete or invalid: %(fields)s.", fields=", ".join(sorted(fields))
        )
        self.fields = dict(fields)
        self.details = {"fields": self.fields}


class IncompleteComplaint(PartageError):
    """A complaint or counter-notice missing a field: `details["fields"]` names each one."""

    status, code = 422, "incomplete_complaint"

    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__(
            "The complaint is incomplete or invalid: %(fields)s.", fields=", ".join(sorted(fields))
        )
        self.fields = dict(fields)
        self.details = {"fields": self.fields}


class ContentUnavailable(PartageError):
    """Disabled by a moderation decision (DSA / DMCA)."""

    status, code = 451, "unavailable_for_legal_reasons"


class ContentBlocked(ContentUnavailable):
    """An upload refused because its content is in a staydown bank (exact match)."""

    code = "content_blocked"


class InvalidHashList(PartageError):
    """A hash list (import, or entries sent to a bank) with lines that are not valid
    fingerprints: `details["lines"]` maps each bad line's number to what is wrong with it."""

    status, code = 422, "invalid_hash_list"

    def __init__(self, lines: Mapping[int, str]) -> None:
        super().__init__(
            "These lines are not valid fingerprints: %(lines)s.",
            lines=", ".join(str(n) for n in sorted(lines)),
        )
        self.lines = dict(lines)
        self.details = {"lines": {str(n): why for n, why in sorted(self.lines.items())}}


class RequestTooLarge(PartageError):
    """A request body past the route's limit (`PARTAGE_MAX_REQUEST_BODY` for JSON and
    forms); not an upload past a plan's file size, which is `TooLarge`."""

    status, code = 413, "request_too_large"


class InvalidEncoding(BadRequest):
    """A path or query whose percent-encoded bytes are not UTF-8."""

    code = "invalid_encoding"


class InternalError(PartageError):
    """What an unexpected exception becomes: the details are in the log, by request id."""

    status, code = 500, "internal_error"
