"""Blob dedup and reference counting (derived: a blob lives while a file points at it)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import filetype  # type: ignore[import-untyped]
from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from partage.files.models import Blob, File
from partage.storage import BlobStore

# Images that are documents, not pictures: SVG is XML that may carry scripts, links and
# external references. It is stored and served like any file (inline answers are
# sandboxed), but never decoded as media nor fingerprinted, whatever ffmpeg build is
# installed (some render it through librsvg, others fail with "Invalid data").
DOCUMENT_IMAGES = frozenset({"image/svg+xml"})


def is_document_image(mime: str) -> bool:
    return mime.split(";", 1)[0].strip().lower() in DOCUMENT_IMAGES


def sniff_mime(head: bytes, name: str, declared: str | None = None) -> str:
    """Content first (magic bytes), then the name's extension, then what the client said."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed:
        return guessed
    if declared and "/" in declared and len(declared) < 128:
        return declared
    try:
        head.decode("utf-8")
        return "text/plain"
    except UnicodeDecodeError:
        return "application/octet-stream"


def find_blob(s: Session, sha256: str) -> Blob | None:
    return s.scalar(select(Blob).where(Blob.sha256 == sha256))


def blob_from_staged(
    s: Session,
    store: BlobStore,
    staged: Path,
    sha256: str,
    size: int,
    name: str,
    declared_mime: str | None = None,
) -> Blob:
    """Return the blob for these bytes, storing them only if no blob has them yet."""
    blob = find_blob(s, sha256)
    if blob is not None:
        staged.unlink(missing_ok=True)  # dedup: no new bytes stored
        return blob
    with open(staged, "rb") as f:
        head = f.read(8192)
    mime = sniff_mime(head, name, declared_mime)
    stored = store.put_staged(staged, sha256)
    blob = Blob(sha256=sha256, size=size, mime=mime, storage_key=stored.key)
    s.add(blob)
    s.flush()
    return blob


def blob_from_object(
    s: Session,
    store: BlobStore,
    name: str,
    sha256: str,
    size: int,
    filename: str,
    declared_mime: str | None = None,
) -> Blob:
    """`blob_from_staged` for bytes already in the object store (a server-side copy);
    the caller deletes the staged object once the transaction has committed."""
    blob = find_blob(s, sha256)
    if blob is not None:
        return blob
    head = store.head_bytes(name, 8192)  # type: ignore[attr-defined]
    stored = store.adopt(name, sha256)  # type: ignore[attr-defined]
    blob = Blob(sha256=sha256, size=size, mime=sniff_mime(head, filename, declared_mime),
                storage_key=stored.key)  # fmt: skip
    s.add(blob)
    s.flush()
    return blob


def release_blob(s: Session, blob_id: int) -> str | None:
    """Drop the blob row if no file references it; return its storage key to delete
    after the transaction commits."""
    blob = s.get(Blob, blob_id)
    if blob is None:
        return None
    if s.scalar(select(exists().where(File.blob_id == blob_id))):
        return None
    key = blob.storage_key
    s.execute(delete(Blob).where(Blob.id == blob_id))
    return key


def delete_unreferenced_keys(s: Session, store: BlobStore, keys: list[str]) -> None:
    """After commit: remove stored bytes whose blob row is gone (re-checked, since an
    identical upload may have stored the same content again meanwhile)."""
    for key in keys:
        if s.scalar(select(Blob.id).where(Blob.storage_key == key)) is None:
            store.delete(key)
