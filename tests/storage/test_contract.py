"""The BlobStore contract, run against every backend available here."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from partage.storage import BlobIntegrityError, BlobStore, LocalBlobStore


@pytest.fixture(params=["local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    yield LocalBlobStore(tmp_path / "blobs")


def _read(store: BlobStore, key: str, start: int, end: int) -> bytes:
    async def go() -> bytes:
        return b"".join([c async for c in store.read_range(key, start, end)])

    return anyio.run(go)


def test_put_chunks_hashes_and_reads_back(store: BlobStore) -> None:
    data = os.urandom(700_000)
    stored = store.put_chunks([data[:1000], data[1000:]])
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert store.exists(stored.key) and store.size(stored.key) == len(data)
    assert _read(store, stored.key, 0, len(data) - 1) == data
    assert _read(store, stored.key, 10, 19) == data[10:20]


def test_wrong_expected_hash_leaves_nothing(store: BlobStore, tmp_path: Path) -> None:
    with pytest.raises(BlobIntegrityError):
        store.put_chunks([b"hello"], expected_sha256="0" * 64)
    assert list(store.keys()) == []
    assert not store.exists(hashlib.sha256(b"hello").hexdigest())


def test_put_staged_moves_and_dedups(store: BlobStore, tmp_path: Path) -> None:
    data = b"same bytes" * 1000
    sha = hashlib.sha256(data).hexdigest()
    for i in range(2):
        staged = tmp_path / f"staged{i}"
        staged.write_bytes(data)
        stored = store.put_staged(staged, sha)
        assert stored.key == sha and not staged.exists()
    assert list(store.keys()) == [sha]


def test_failed_stream_leaves_no_partial_blob(store: BlobStore) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a" * 1000
        raise OSError("disk full")

    with pytest.raises(OSError):
        store.put_chunks(chunks())
    assert list(store.keys()) == []
    if isinstance(store, LocalBlobStore):
        assert list(store.tmp.iterdir()) == []


def test_delete_is_idempotent(store: BlobStore) -> None:
    stored = store.put_chunks([b"x"])
    store.delete(stored.key)
    store.delete(stored.key)
    assert not store.exists(stored.key)


def test_rejects_non_hash_keys(store: BlobStore) -> None:
    with pytest.raises(ValueError):
        store.exists("../../etc/passwd")
