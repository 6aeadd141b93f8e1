"""Blob storage backends behind one protocol."""

from __future__ import annotations

from partage.settings import Settings
from partage.storage.base import BlobIntegrityError, BlobStore, StoredBlob
from partage.storage.local import LocalBlobStore

__all__ = ["BlobIntegrityError", "BlobStore", "LocalBlobStore", "StoredBlob", "open_store"]


def open_store(settings: Settings) -> BlobStore:
    """The store PARTAGE_STORAGE_URL names: local disk by default, or S3-compatible."""
    url = settings.storage_url
    if url and url.startswith("s3://"):
        from partage.storage.s3 import S3BlobStore, parse_s3_url

        bucket, prefix = parse_s3_url(url)
        return S3BlobStore(
            bucket,
            prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            addressing_style=settings.s3_addressing_style,
            part_size=settings.s3_part_size,
            spool_dir=settings.staging_dir,
        )
    if url and not url.startswith("file://"):
        raise ValueError(
            f"PARTAGE_STORAGE_URL: unsupported storage URL {url!r} "
            "(use file:///path or s3://bucket/prefix)"
        )
    return LocalBlobStore(settings.blob_root)
