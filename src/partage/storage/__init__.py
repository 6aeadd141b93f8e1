"""Blob storage backends behind one protocol, and the one place a storage URL becomes a store.

URLs: `file:///path` (local disk) or `s3://bucket/prefix` (any S3-compatible store).
An S3 URL may carry `?endpoint=…&region=…&addressing=path|virtual|auto&profile=…`
for a store on another provider than the one the `PARTAGE_S3_*` settings describe.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from partage.settings import Settings
from partage.storage.base import BlobIntegrityError, BlobStore, StoredBlob
from partage.storage.local import LocalBlobStore

if TYPE_CHECKING:
    from partage.storage.s3 import S3BlobStore

__all__ = [
    "BlobIntegrityError",
    "BlobStore",
    "LocalBlobStore",
    "StoredBlob",
    "describe_store",
    "open_store",
    "primary_of",
    "store_from_url",
]

_S3_PARAMS = {"endpoint", "region", "addressing", "profile"}


def open_store(settings: Settings) -> BlobStore:
    """The store PARTAGE_STORAGE_URL names (local disk by default, or S3-compatible); with
    PARTAGE_STORAGE_FALLBACK_URL, one that also reads what it lacks from the old store."""
    primary = store_from_url(settings.storage_url, settings)
    if not settings.storage_fallback_url:
        return primary
    from partage.storage.fallback import FallbackBlobStore

    fallback = store_from_url(
        settings.storage_fallback_url, settings, setting="PARTAGE_STORAGE_FALLBACK_URL"
    )
    return FallbackBlobStore(primary, fallback)


def store_from_url(
    url: str | None, settings: Settings, *, setting: str = "PARTAGE_STORAGE_URL"
) -> BlobStore:
    """The store a storage URL names; None or empty: the data dir's `blobs/`.

    `setting` names where the URL came from, for error messages (`ValueError`)."""
    if not url:
        return LocalBlobStore(settings.data_dir / "blobs")
    if url.startswith("file://"):
        path = url.removeprefix("file://")
        if not path or "?" in path:
            raise ValueError(f"{setting}: {url!r} is not file:///absolute/path")
        return LocalBlobStore(Path(path))
    if url.startswith("s3://"):
        return _s3_from_url(url, settings, setting)
    raise ValueError(
        f"{setting}: unsupported storage URL {url!r} (use file:///path or s3://bucket/prefix)"
    )


def _s3_from_url(url: str, settings: Settings, setting: str) -> S3BlobStore:
    from partage.storage.s3 import S3BlobStore, parse_s3_url

    parts = urlsplit(url)
    try:
        bucket, prefix = parse_s3_url(parts._replace(query="").geturl())
    except ValueError:
        raise ValueError(f"{setting}: {url!r} is not s3://bucket/prefix") from None
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(params) - _S3_PARAMS
    if unknown:
        raise ValueError(
            f"{setting}: unknown parameter {sorted(unknown)[0]!r} in {url!r} "
            f"(known: {', '.join(sorted(_S3_PARAMS))})"
        )
    addressing = params.get("addressing", settings.s3_addressing_style)
    if addressing not in ("auto", "path", "virtual"):
        raise ValueError(f"{setting}: addressing must be auto, path or virtual, not {addressing!r}")
    endpoint = params.get("endpoint") or settings.s3_endpoint_url
    # The PARTAGE_S3_* credentials belong to the provider PARTAGE_S3_ENDPOINT_URL names;
    # a URL naming another endpoint (or a profile) uses boto3's own chain (AWS_* variables,
    # ~/.aws, instance roles) instead.
    same_provider = endpoint == settings.s3_endpoint_url and "profile" not in params
    return S3BlobStore(
        bucket,
        prefix,
        endpoint_url=endpoint,
        region=params.get("region") or settings.s3_region,
        access_key_id=settings.s3_access_key_id if same_provider else None,
        secret_access_key=settings.s3_secret_access_key if same_provider else None,
        addressing_style=addressing,
        part_size=settings.s3_part_size,
        spool_dir=settings.staging_dir,
        profile=params.get("profile") or None,
    )


def primary_of(store: BlobStore) -> BlobStore:
    """The store writes go to: `store` itself, or the primary of a fallback store."""
    from partage.storage.fallback import FallbackBlobStore

    return store.primary if isinstance(store, FallbackBlobStore) else store


def describe_store(store: BlobStore) -> str:
    """A store's location for people: `file:///path` or `s3://bucket/prefix (endpoint)`."""
    import sys

    from partage.storage.fallback import FallbackBlobStore

    if isinstance(store, FallbackBlobStore):
        return f"{describe_store(store.primary)} (falling back to {describe_store(store.fallback)})"
    if isinstance(store, LocalBlobStore):
        return f"file://{store.root}"
    s3 = sys.modules.get("partage.storage.s3")  # loaded if the store is an S3 one
    if s3 is not None and isinstance(store, s3.S3BlobStore):
        where = f"s3://{store.bucket}/{store.prefix}".rstrip("/")
        endpoint = store.client.meta.endpoint_url
        return f"{where} ({endpoint})" if endpoint else where
    return type(store).__name__
