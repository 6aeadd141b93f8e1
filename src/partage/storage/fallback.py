"""A store being moved: writes go to the new store, reads fall back to the old one.

`PARTAGE_STORAGE_FALLBACK_URL` wraps the store `PARTAGE_STORAGE_URL` names in a
`FallbackBlobStore`, so nodes can switch to a new store before every blob has
been copied there (`partage admin migrate-storage`): a blob the new store lacks
is read from the old one, and nothing is ever written to the old one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

from partage.storage.base import BlobStore, StoredBlob, check_key

log = logging.getLogger(__name__)


class FallbackBlobStore:
    def __init__(self, primary: BlobStore, fallback: BlobStore) -> None:
        self.primary = primary
        self.fallback = fallback

    # -- writes: the primary only --------------------------------------------------------

    def put_staged(self, path: Path, sha256: str) -> StoredBlob:
        return self.primary.put_staged(path, sha256)

    def put_chunks(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredBlob:
        return self.primary.put_chunks(chunks, expected_sha256)

    def delete(self, key: str) -> None:
        """Gone from both: a deleted blob must not come back through the fallback."""
        self.primary.delete(key)
        try:
            self.fallback.delete(key)
        except Exception:  # the old store may be read-only or gone; its copy is harmless
            log.warning("could not delete blob %s from the fallback store", key, exc_info=True)

    def check(self) -> None:
        self.primary.check()

    # -- reads: the primary, else the fallback ----------------------------------------------

    def exists(self, key: str) -> bool:
        return self.primary.exists(key) or self.fallback.exists(key)

    def size(self, key: str) -> int | None:
        found = self.primary.size(key)
        return found if found is not None else self.fallback.size(key)

    def local_path(self, key: str) -> Path | None:
        """The primary's path when it has the blob, else the fallback's when it has it,
        else what the primary says (for a missing blob, as the primary alone would)."""
        if self.primary.exists(key):
            return self.primary.local_path(key)
        if self.fallback.exists(key):
            return self.fallback.local_path(key)
        return self.primary.local_path(key)

    async def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        check_key(key)
        # No existence check first (a HEAD on S3): a missing object fails before its
        # first chunk, and only then is the fallback asked.
        chunks = self.primary.read_range(key, start, end)
        try:
            try:
                first = await anext(chunks)
            except FileNotFoundError:
                async for chunk in self.fallback.read_range(key, start, end):
                    yield chunk
                return
            except StopAsyncIteration:
                return
            yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]

    def keys(self) -> Iterator[str]:
        seen = set()
        for key in self.primary.keys():  # noqa: SIM118 (a store, not a dict)
            seen.add(key)
            yield key
        for key in self.fallback.keys():  # noqa: SIM118
            if key not in seen:
                yield key

    def presigned_url(
        self, key: str, ttl: int, *, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        store = self.primary if self.primary.exists(key) or not self.fallback.exists(key) else (
            self.fallback)  # fmt: skip
        return store.presigned_url(key, ttl, filename=filename, content_type=content_type)
