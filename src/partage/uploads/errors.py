"""Errors particular to uploads; mapped to HTTP like every PartageError."""

from __future__ import annotations

from partage.errors import Conflict, Gone, PartageError


class UnsupportedTusVersion(PartageError):
    status, code = 412, "unsupported_tus_version"


class OffsetMismatch(Conflict):
    code = "offset_mismatch"


class UploadExpired(Gone):
    code = "upload_expired"


class UploadBusy(PartageError):
    """Another request is writing to this upload right now."""

    status, code = 423, "upload_busy"


class PastLength(PartageError):
    status, code = 413, "past_upload_length"
