"""The BlobStore contract, run against every backend available here."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from partage.storage import BlobIntegrityError, BlobStore, LocalBlobStore
from partage.storage.s3 import S3BlobStore
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, s3_server


def make_s3(tmp_path: Path, bucket: str | None = None, prefix: str = "p/") -> S3BlobStore:
    server = s3_server()
    return S3BlobStore(
        bucket or server.new_bucket(),
        prefix,
        endpoint_url=server.endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        addressing_style="path",
        part_size=5 * 1024**2,
        spool_dir=tmp_path / "spool",
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
    else:
        yield make_s3(tmp_path)


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
    else:
        assert isinstance(store, S3BlobStore)
        assert list(store.spool_dir.iterdir()) == []


def test_delete_is_idempotent(store: BlobStore) -> None:
    stored = store.put_chunks([b"x"])
    store.delete(stored.key)
    store.delete(stored.key)
    assert not store.exists(stored.key)


def test_rejects_non_hash_keys(store: BlobStore) -> None:
    with pytest.raises(ValueError):
        store.exists("../../etc/passwd")


def test_large_blob_streams_in_parts_and_reads_any_range(store: BlobStore, tmp_path: Path) -> None:
    """Bigger than one multipart part: uploaded in parts, read back across their borders."""
    data = os.urandom(11 * 1024**2 + 12345)
    staged = tmp_path / "big"
    staged.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    stored = store.put_staged(staged, sha)
    assert store.size(stored.key) == len(data)
    border = 5 * 1024**2
    assert _read(store, sha, border - 10, border + 9) == data[border - 10 : border + 10]
    assert _read(store, sha, len(data) - 5, len(data) - 1) == data[-5:]
    assert hashlib.sha256(_read(store, sha, 0, len(data) - 1)).hexdigest() == sha


def test_missing_blob_reads_raise_file_not_found(store: BlobStore) -> None:
    key = hashlib.sha256(b"never stored").hexdigest()
    assert store.size(key) is None and not store.exists(key)
    with pytest.raises(FileNotFoundError):
        _read(store, key, 0, 0)


def test_keys_lists_every_blob(store: BlobStore) -> None:
    made = {store.put_chunks([os.urandom(100)]).key for _ in range(3)}
    assert set(store.keys()) == made


def test_check_passes_on_a_writable_store(store: BlobStore) -> None:
    store.check()
    assert list(store.keys()) == []  # the probe leaves nothing behind


def test_presigned_url_serves_the_blob_until_it_expires(tmp_path: Path) -> None:
    import httpx

    store = make_s3(tmp_path)
    stored = store.put_chunks([b"hello, presigned"])
    url = store.presigned_url(stored.key, 60, filename="héllo.txt", content_type="text/plain")
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == b"hello, presigned"
    assert "filename*=UTF-8''h%C3%A9llo.txt" in r.headers["content-disposition"]
    r = httpx.get(url, headers={"Range": "bytes=7-"})
    assert r.status_code == 206 and r.content == b"presigned"
    assert LocalBlobStore(tmp_path / "local").presigned_url(stored.key, 60) is None


def test_s3_adopt_is_a_server_side_copy(tmp_path: Path) -> None:
    store = make_s3(tmp_path)
    data = os.urandom(6 * 1024**2)
    store.put_bytes("uploads/abc", data)
    sha = hashlib.sha256(data).hexdigest()
    stored = store.adopt("uploads/abc", sha)
    assert stored.size == len(data) and store.object_size("uploads/abc") == len(data)
    assert store.head_bytes("uploads/abc", 10) == data[:10]
    assert _read(store, sha, 0, len(data) - 1) == data


def test_s3_prefixes_keep_deployments_apart(tmp_path: Path) -> None:
    one = make_s3(tmp_path, prefix="one/")
    two = make_s3(tmp_path, bucket=one.bucket, prefix="two/")
    stored = one.put_chunks([b"only in one"])
    assert one.exists(stored.key) and not two.exists(stored.key)
    assert list(two.keys()) == []
    one.put_bytes("media/ab/x/poster.jpg", b"jpg")
    assert one.delete_prefix("media/") == 1 and list(one.list_objects("media/")) == []
    assert one.exists(stored.key)


def test_s3_check_names_a_missing_bucket(tmp_path: Path) -> None:
    from botocore.exceptions import ClientError

    store = make_s3(tmp_path, bucket="no-such-bucket-here")
    with pytest.raises(ClientError):
        store.check()
