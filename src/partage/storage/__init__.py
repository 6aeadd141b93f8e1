"""Blob storage backends behind one protocol."""

from __future__ import annotations

from partage.settings import Settings
from partage.storage.base import BlobIntegrityError, BlobStore, StoredBlob
from partage.storage.local import LocalBlobStore

__all__ = ["BlobIntegrityError", "BlobStore", "LocalBlobStore", "StoredBlob", "open_store"]


def open_store(settings: Settings) -> BlobStore:
    url = settings.storage_url
    if url and not url.startswith("file://"):
        raise ValueError(f"PARTAGE_STORAGE_URL: unsupported storage URL {url!r} (use file:///path)")
    return LocalBlobStore(settings.blob_root)
