"""tus 1.0.0 header syntax: parsing what clients send, formatting what we answer.

Pure functions, no HTTP objects: the router hands header strings in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from partage.errors import BadRequest
from partage.uploads.staging import is_upload_id

TUS_VERSION = "1.0.0"
EXTENSIONS = (
    "creation,creation-with-upload,creation-defer-length,termination,checksum,"
    "expiration,concatenation"
)
CHECKSUM_ALGORITHMS = ("sha1", "sha256")
OFFSET_STREAM = "application/offset+octet-stream"
UPLOADS_PATH = "/api/v1/uploads"

_KEY = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")
# Room for every value we read at its own limit (a 10,000-character description, a
# 32-level folder path) in base64; more is abuse: it would be stored and echoed on HEAD.
MAX_METADATA = 64 * 1024


def http_date(when: datetime) -> str:
    """RFC 9110 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`."""
    return format_datetime(when.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_size(name: str, value: str | None) -> int | None:
    """A non-negative decimal header value, or None when absent."""
    if value is None:
        return None
    text = value.strip()
    if not _DIGITS.match(text):
        raise BadRequest(
            "%(name)s must be a non-negative whole number of bytes, not %(value)s.",
            name=name,
            value=repr(value),
        )
    return int(text)


def parse_metadata(raw: str | None) -> dict[str, str]:
    """`Upload-Metadata: key base64value,key2 base64value2,flag` → decoded strings."""
    out: dict[str, str] = {}
    if raw is None or not raw.strip():
        return out
    if len(raw) > MAX_METADATA:
        raise BadRequest(
            "Upload-Metadata is %(size)s bytes long; %(limit)s at most.",
            size=len(raw),
            limit=MAX_METADATA,
        )
    for pair in raw.split(","):
        parts = pair.strip().split(" ")
        if len(parts) > 2 or not parts[0]:
            raise BadRequest(
                "Upload-Metadata: %(pair)s is not 'key base64value' (pairs are "
                "separated by commas).",
                pair=repr(pair.strip()),
            )
        key = parts[0]
        if not _KEY.match(key):
            raise BadRequest("Upload-Metadata: %(key)s is not a valid key.", key=repr(key))
        if key in out:
            raise BadRequest("Upload-Metadata: the key %(key)s is given twice.", key=repr(key))
        value = ""
        if len(parts) == 2:
            try:
                value = base64.b64decode(parts[1], validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                raise BadRequest(
                    "Upload-Metadata: the value of %(key)s is not valid base64 of UTF-8 text.",
                    key=repr(key),
                ) from None
        out[key] = value
    return out


def without_key(raw: str | None, key: str) -> str:
    """The metadata header as sent, minus one key (the password is not echoed back)."""
    if not raw:
        return ""
    pairs = [p.strip() for p in raw.split(",") if p.strip()]
    return ",".join(p for p in pairs if p.split(" ")[0] != key)


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    def hasher(self) -> Any:
        return hashlib.new(self.algorithm, usedforsecurity=False)


def parse_checksum(value: str | None) -> Checksum | None:
    """`Upload-Checksum: sha1 <base64 digest>`."""
    if value is None:
        return None
    parts = value.strip().split(" ")
    if len(parts) != 2:
        raise BadRequest("Upload-Checksum must be '<algorithm> <base64 digest>'.")
    algorithm = parts[0].lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise BadRequest(
            "Upload-Checksum: unsupported algorithm %(algorithm)s; this server "
            "supports %(supported)s.",
            algorithm=repr(parts[0]),
            supported=", ".join(CHECKSUM_ALGORITHMS),
        )
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Upload-Checksum: the digest is not valid base64.") from None
    if len(digest) != hashlib.new(algorithm, usedforsecurity=False).digest_size:
        raise BadRequest(
            "Upload-Checksum: a %(algorithm)s digest has a different length.", algorithm=algorithm
        )
    return Checksum(algorithm, digest)


def upload_id_from_url(url: str) -> str:
    """`https://host/api/v1/uploads/<id>` or `/api/v1/uploads/<id>` → `<id>`."""
    path = urlsplit(url.strip()).path.rstrip("/")
    prefix, _, upload_id = path.rpartition("/")
    if not prefix.endswith(UPLOADS_PATH) or not is_upload_id(upload_id):
        raise BadRequest(
            "Upload-Concat: %(url)s is not the URL of an upload on this server.", url=repr(url)
        )
    return upload_id


@dataclass(frozen=True)
class Concat:
    partial: bool
    parts: list[str]


def parse_concat(value: str | None) -> Concat | None:
    """`Upload-Concat: partial` or `final;<url> <url> …`."""
    if value is None:
        return None
    text = value.strip()
    if text == "partial":
        return Concat(True, [])
    if text.startswith("final;"):
        urls = text[len("final;") :].split()
        if not urls:
            raise BadRequest("Upload-Concat: final needs the URLs of its partial uploads.")
        if len(urls) > 1000:
            raise BadRequest("Upload-Concat: at most 1000 partial uploads.")
        return Concat(False, [upload_id_from_url(u) for u in urls])
    raise BadRequest("Upload-Concat must be 'partial' or 'final;<url> <url> …'.")
