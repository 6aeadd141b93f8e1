"""The BlobStore contract: content-addressed, immutable objects keyed by SHA-256."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


def check_key(key: str) -> None:
    """Blob keys are SHA-256 hex digests; anything else (a path, `..`) is refused."""
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not a blob key: {key!r}")


class BlobIntegrityError(Exception):
    """The bytes offered do not hash to what the caller said they would."""


@dataclass(frozen=True)
class StoredBlob:
    key: str
    sha256: str
    size: int


class BlobStore(Protocol):
    def put_staged(self, path: Path, sha256: str) -> StoredBlob:
        """Take ownership of a fully written staging file whose hash is known.

        The file is moved (never copied when avoidable) under its final key;
        the staging path no longer exists afterwards. If a blob with that
        hash exists already, the staging file is discarded.
        """
        ...

    def put_chunks(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredBlob:
        """Store a stream, hashing as it goes; never leaves a partial blob."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int | None: ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for zero-copy delivery, when the backend has one."""
        ...

    def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end] inclusive, in bounded chunks."""
        ...

    def delete(self, key: str) -> None: ...

    def keys(self) -> Iterable[str]: ...

    def presigned_url(
        self, key: str, ttl: int, *, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        """A URL the client can fetch the blob from directly for `ttl` seconds; None when
        the backend has no such thing (local disk)."""
        ...

    def check(self) -> None:
        """Raise (OSError or the backend's error) unless the store can be written now.

        For readiness probes: cheap, no blob touched."""
        ...
