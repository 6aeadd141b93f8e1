"""verify, gc and migrate-storage on real stores (local disk, the tests' moto S3 server) and
a real database; and the fallback store used while switching stores."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from partage.db import Database
from partage.files.models import Blob
from partage.migrate import upgrade
from partage.settings import Settings
from partage.storage import BlobStore, LocalBlobStore, open_store, store_from_url
from partage.storage.fallback import FallbackBlobStore
from partage.storage.maintenance import (
    GRACE,
    LocalMedia,
    MediaArea,
    S3Media,
    find_orphans,
    gc,
    media_areas,
    migrate,
    verify,
)
from partage.storage.s3 import S3BlobStore
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, s3_server
from tests.serverproc import new_database
from tests.storage import test_contract as contract
from tests.storage.test_contract import make_s3

LATER = GRACE * 2  # seconds to add to "now" so that everything is past the grace period


@dataclass
class Env:
    db: Database
    settings: Settings
    tmp: Path

    def store(self, kind: str, name: str = "a") -> BlobStore:
        if kind == "local":
            return LocalBlobStore(self.tmp / f"blobs-{name}")
        return make_s3(self.tmp)

    def media(self, store: BlobStore) -> MediaArea:
        if isinstance(store, S3BlobStore):
            return S3Media(store)
        return LocalMedia(self.tmp / f"media-{id(store)}")

    def blob(self, store: BlobStore, data: bytes) -> str:
        """Stored and recorded, as an upload leaves it."""
        stored = store.put_chunks([data])
        self.row(stored.key, len(data))
        return stored.key

    def row(self, sha: str, size: int) -> None:
        with self.db.session() as s:
            s.add(Blob(sha256=sha, size=size, storage_key=sha))


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    url = new_database() or f"sqlite:///{tmp_path / 'partage.db'}"
    upgrade(url)
    db = Database(url)
    yield Env(db, Settings(data_dir=tmp_path / "data", database_url=url), tmp_path)
    db.dispose()


def read(store: BlobStore, key: str) -> bytes:
    size = store.size(key)
    assert size is not None

    async def go() -> bytes:
        return b"".join([c async for c in store.read_range(key, 0, size - 1)])

    return anyio.run(go) if size else b""


def overwrite(store: BlobStore, key: str, data: bytes) -> None:
    """Replace a stored blob's bytes behind the store's back (bit rot, a bad disk)."""
    if isinstance(store, LocalBlobStore):
        store.path_for(key).write_bytes(data)
    else:
        assert isinstance(store, S3BlobStore)
        store.put_bytes(store.name_for_relative(key), data)


def put_media(area: MediaArea, sha: str, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        rel = f"{sha[:2]}/{sha}/{name}"
        if isinstance(area, LocalMedia):
            (area.root / rel).parent.mkdir(parents=True, exist_ok=True)
            (area.root / rel).write_bytes(data)
        else:
            assert isinstance(area, S3Media)
            area.store.put_bytes(f"media/{rel}", data)


def media_files(area: MediaArea, sha: str) -> dict[str, int]:
    return dict(area.files(sha))


KINDS = ["local", "s3"]


# -- verify -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_verify_reports_missing_corrupt_and_orphans(env: Env, kind: str) -> None:
    store = env.store(kind)
    good = [env.blob(store, os.urandom(1000 + i)) for i in range(3)]
    rotten = env.blob(store, b"a" * 500)
    overwrite(store, rotten, b"b" * 500)  # same size, other bytes: only the hash tells
    truncated = env.blob(store, b"c" * 500)
    overwrite(store, truncated, b"c" * 499)
    lost = hashlib.sha256(b"never stored").hexdigest()
    env.row(lost, 12)
    orphan = store.put_chunks([b"no row for me"]).key

    now = verify(env.db, store, [], sample=None)
    assert now.blobs == 6 and now.checked == 6
    assert [p.key for p in now.missing] == [lost]
    assert sorted(p.key for p in now.corrupt) == sorted([rotten, truncated])
    details = {p.key: p.detail for p in now.corrupt}
    assert details[truncated] == "499 bytes stored, 500 expected"
    assert details[rotten].startswith("SHA-256 is " + hashlib.sha256(b"b" * 500).hexdigest())
    assert not now.ok
    # The orphan is young: it may be an upload whose row has not committed yet.
    assert now.orphan_count == 0 and now.recent == 1

    later = verify(env.db, store, [], sample=None, now=time.time() + LATER)
    assert [o.key for o in later.orphans] == [orphan] and later.orphan_bytes == 13
    assert later.recent == 0
    assert later.as_json()["orphans"][0]["key"] == orphan

    sample = verify(env.db, store, [], sample=2)
    assert sample.checked == 2 and sample.blobs == 6 and sample.sample == 2

    for key in (rotten, truncated):
        store.delete(key)
    with env.db.session() as s:
        s.query(Blob).filter(Blob.sha256.in_([rotten, truncated, lost])).delete()
    clean = verify(env.db, store, [], sample=None)
    assert clean.ok and clean.checked == 3 and clean.checked_bytes == 3003
    assert all(read(store, key) for key in good)


def test_verify_reads_through_a_fallback_store(env: Env) -> None:
    """During a switch-over the configured store is a fallback store: a blob present in
    either store is fine, and orphans are looked for in the new one only."""
    old, new = env.store("local", "old"), env.store("s3")
    in_old = env.blob(old, b"copied later")
    in_new = env.blob(new, b"uploaded after the switch")
    old.put_chunks([b"orphan in the old store"])
    report = verify(env.db, FallbackBlobStore(new, old), [], sample=None, now=time.time() + LATER)
    assert report.ok and report.checked == 2 and report.orphan_count == 0
    assert in_old != in_new


# -- gc -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_gc_removes_only_old_orphans(env: Env, kind: str) -> None:
    store = env.store(kind)
    media = env.media(store)
    kept = env.blob(store, b"referenced")
    orphan = store.put_chunks([b"orphan"]).key
    gone = hashlib.sha256(b"deleted content").hexdigest()
    put_media(media, kept, {"poster.jpg": b"jpg", "hls/v0/seg_1.m4s": b"seg"})
    put_media(media, gone, {"poster.jpg": b"old jpg", "hls/v0/seg_1.m4s": b"old seg"})

    young = gc(env.db, store, [media])
    assert young.removed == [] and young.media_removed == [] and young.kept_recent == 1

    later = time.time() + LATER
    dry = gc(env.db, store, [media], dry_run=True, now=later)
    assert [o.key for o in dry.removed] == [orphan] and dry.removed_bytes == 6
    assert [o.key for o in dry.media_removed] == [gone]
    assert store.exists(orphan) and media_files(media, gone)

    done = gc(env.db, store, [media], now=later)
    assert [o.key for o in done.removed] == [orphan] and [o.key for o in done.media_removed] == [
        gone
    ]
    assert not store.exists(orphan) and media_files(media, gone) == {}
    assert store.exists(kept) and read(store, kept) == b"referenced"
    assert set(media_files(media, kept)) == {f"{kept[:2]}/{kept}/poster.jpg",
                                             f"{kept[:2]}/{kept}/hls/v0/seg_1.m4s"}  # fmt: skip
    again = gc(env.db, store, [media], now=later)
    assert again.removed == [] and again.media_removed == []


def test_gc_removes_stale_temp_files_of_interrupted_writes(env: Env) -> None:
    store = LocalBlobStore(env.tmp / "blobs")
    stale, fresh = store.tmp / "tmpabc", store.tmp / "tmpdef"
    stale.write_bytes(b"half a blob")
    fresh.write_bytes(b"being written")
    old = time.time() - LATER
    os.utime(stale, (old, old))
    report = gc(env.db, store, [])
    assert report.temp_removed == 1 and not stale.exists() and fresh.exists()


def test_storing_an_old_orphan_again_makes_it_young(env: Env) -> None:
    """An upload of content whose bytes linger as an old orphan reuses the object: it must
    not be collected between the store keeping it and the row committing."""
    store = LocalBlobStore(env.tmp / "blobs")
    data = b"deleted, then uploaded again"
    key = store.put_chunks([data]).key
    old = time.time() - LATER
    os.utime(store.path_for(key), (old, old))
    assert [o.key for o, ripe in find_orphans(env.db, store) if ripe] == [key]
    staged = env.tmp / "staged"
    staged.write_bytes(data)
    store.put_staged(staged, key)  # the object exists: kept, not rewritten
    assert not staged.exists()
    assert gc(env.db, store, []).removed == [] and store.exists(key)


# -- migrate --------------------------------------------------------------------------------


@pytest.mark.parametrize(("src_kind", "dst_kind"), [("local", "s3"), ("s3", "local")])
def test_migrate_copies_blobs_and_media_and_resumes(env: Env, src_kind: str, dst_kind: str) -> None:
    src, dst = env.store(src_kind, "src"), env.store(dst_kind, "dst")
    src_media, dst_media = env.media(src), env.media(dst)
    datas = [os.urandom(n) for n in (0, 1, 300_000, 6 * 1024**2 + 7)]  # 6 MiB: S3 multipart
    keys = [env.blob(src, d) for d in datas]
    outputs = {"poster.jpg": b"jpg" * 100, "hls/v0/index.m3u8": b"#EXTM3U\n",
               "hls/v0/seg_1.m4s": os.urandom(70_000)}  # fmt: skip
    put_media(src_media, keys[2], outputs)
    orphan_key = src.put_chunks([b"not referenced"]).key
    gone = hashlib.sha256(b"gone").hexdigest()
    put_media(src_media, gone, {"poster.jpg": b"orphan output"})

    report = migrate(env.db, src, dst, [src_media], dst_media, work_dir=env.tmp / "work")
    assert report.ok, report.as_json()
    assert report.blobs == 4 and report.copied == 4 and report.skipped == 0
    assert report.copied_bytes == sum(map(len, datas))
    assert report.media_copied == 3 and report.media_bytes == sum(map(len, outputs.values()))
    for key, data in zip(keys, datas, strict=True):
        assert dst.size(key) == len(data) and read(dst, key) == data
    assert not dst.exists(orphan_key) and media_files(dst_media, gone) == {}
    assert media_files(dst_media, keys[2]) == media_files(src_media, keys[2])
    fetched = env.tmp / "seg"
    dst_media.fetch(f"{keys[2][:2]}/{keys[2]}/hls/v0/seg_1.m4s", fetched)
    assert fetched.read_bytes() == outputs["hls/v0/seg_1.m4s"]
    assert list((env.tmp / "work").iterdir()) == []  # no spool left behind

    again = migrate(env.db, src, dst, [src_media], dst_media, work_dir=env.tmp / "work")
    assert again.ok and again.copied == 0 and again.skipped == 4
    assert again.media_copied == 0 and again.media_skipped == 3

    # An interrupted or damaged earlier copy: missing, or of the wrong size, is redone.
    dst.delete(keys[1])
    overwrite(dst, keys[2], b"short")
    resumed = migrate(env.db, src, dst, [src_media], dst_media, work_dir=env.tmp / "work")
    assert resumed.ok and resumed.copied == 2 and resumed.skipped == 2
    assert read(dst, keys[1]) == datas[1] and read(dst, keys[2]) == datas[2]


@pytest.mark.parametrize("src_kind", KINDS)
def test_migrate_reports_a_corrupt_or_missing_source(env: Env, src_kind: str) -> None:
    src = env.store(src_kind, "src")
    dst = env.store("local" if src_kind == "s3" else "s3", "dst")
    fine = env.blob(src, b"fine")
    rotten = env.blob(src, b"x" * 2000)
    overwrite(src, rotten, b"y" * 2000)
    resized = env.blob(src, b"z" * 100)
    overwrite(src, resized, b"z" * 50)
    lost = hashlib.sha256(b"lost").hexdigest()
    env.row(lost, 4)
    report = migrate(env.db, src, dst, [], None, work_dir=env.tmp / "work")
    assert not report.ok and report.copied == 1 and read(dst, fine) == b"fine"
    kinds = {p.key: p.kind for p in report.failed}
    assert kinds == {rotten: "corrupt", resized: "corrupt", lost: "missing"}
    assert not dst.exists(rotten) and not dst.exists(resized) and not dst.exists(lost)
    assert list((env.tmp / "work").iterdir()) == []


def test_migrate_from_a_fallback_store_copies_what_only_the_old_one_has(env: Env) -> None:
    """Step 3 of a switch-over without --from: the configured store is new+old."""
    old, new = env.store("local", "old"), env.store("s3")
    a = env.blob(old, b"only in the old store")
    b = env.blob(new, b"uploaded after the switch")
    report = migrate(env.db, FallbackBlobStore(new, old), new, [], None, work_dir=env.tmp / "w")
    assert report.ok and report.copied == 1 and report.skipped == 1
    assert read(new, a) == b"only in the old store" and read(new, b)


# -- the fallback store ------------------------------------------------------------------

# The BlobStore contract every backend passes, run on a fallback store (new S3 + old local
# disk, and the other way round) through the `store` fixture below.
test_fallback_contract_put_chunks = contract.test_put_chunks_hashes_and_reads_back
test_fallback_contract_wrong_hash = contract.test_wrong_expected_hash_leaves_nothing
test_fallback_contract_put_staged = contract.test_put_staged_moves_and_dedups
test_fallback_contract_delete = contract.test_delete_is_idempotent
test_fallback_contract_keys_checked = contract.test_rejects_non_hash_keys
test_fallback_contract_large = contract.test_large_blob_streams_in_parts_and_reads_any_range
test_fallback_contract_missing = contract.test_missing_blob_reads_raise_file_not_found
test_fallback_contract_keys = contract.test_keys_lists_every_blob
test_fallback_contract_check = contract.test_check_passes_on_a_writable_store


@pytest.fixture(params=["new-s3-old-local", "new-local-old-s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    local = LocalBlobStore(tmp_path / "blobs")
    s3 = make_s3(tmp_path)
    new, old = (s3, local) if request.param == "new-s3-old-local" else (local, s3)
    return FallbackBlobStore(new, old)


@pytest.fixture(params=["new-s3-old-local", "new-local-old-s3"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[BlobStore, BlobStore]:
    local = LocalBlobStore(tmp_path / "blobs")
    s3 = make_s3(tmp_path)
    return (s3, local) if request.param == "new-s3-old-local" else (local, s3)


def test_fallback_reads_from_the_old_store_and_writes_to_the_new(
    pair: tuple[BlobStore, BlobStore], tmp_path: Path
) -> None:
    new, old = pair
    store = FallbackBlobStore(new, old)
    data = os.urandom(300_000)
    key = old.put_chunks([data]).key
    assert store.exists(key) and store.size(key) == len(data)
    assert read(store, key) == data

    async def part() -> bytes:
        return b"".join([c async for c in store.read_range(key, 10, 19)])

    assert anyio.run(part) == data[10:20]
    assert store.local_path(key) == old.local_path(key)  # zero-copy from the old disk
    if isinstance(old, S3BlobStore):  # the old store's object, while the new one lacks it
        assert old.name_for(key) in (store.presigned_url(key, 60) or "")
    else:
        assert store.presigned_url(key, 60) is None

    written = store.put_chunks([b"new upload"])
    assert new.exists(written.key) and not old.exists(written.key)
    staged = tmp_path / "staged"
    staged.write_bytes(b"staged upload")
    sha = hashlib.sha256(b"staged upload").hexdigest()
    store.put_staged(staged, sha)
    assert new.exists(sha) and not old.exists(sha)
    assert set(store.keys()) == {key, written.key, sha}

    # Once copied, the new store answers.
    new.put_chunks([data])
    assert store.local_path(key) == new.local_path(key)
    old.delete(key)
    assert read(store, key) == data

    # Deleted means gone from both: it must not come back through the fallback.
    old.put_chunks([data])
    store.delete(key)
    assert not store.exists(key) and not new.exists(key) and not old.exists(key)

    missing = hashlib.sha256(b"nowhere").hexdigest()
    assert store.size(missing) is None and not store.exists(missing)
    assert store.local_path(missing) == new.local_path(missing)
    with pytest.raises(FileNotFoundError):
        read_missing(store, missing)
    store.check()


def read_missing(store: BlobStore, key: str) -> None:
    async def go() -> None:
        async for _ in store.read_range(key, 0, 0):
            pass

    anyio.run(go)


def test_open_store_wraps_the_fallback(tmp_path: Path) -> None:
    server = s3_server()
    bucket = server.new_bucket()
    settings = Settings(
        data_dir=tmp_path, storage_url=f"s3://{bucket}/new",
        storage_fallback_url=f"file://{tmp_path}/old", s3_endpoint_url=server.endpoint,
        s3_region=REGION, s3_access_key_id=ACCESS_KEY, s3_secret_access_key=SECRET_KEY,
        s3_addressing_style="path",
    )  # fmt: skip
    store = open_store(settings)
    assert isinstance(store, FallbackBlobStore)
    assert isinstance(store.primary, S3BlobStore) and store.primary.prefix == "new/"
    assert isinstance(store.fallback, LocalBlobStore) and store.fallback.root == tmp_path / "old"
    areas = media_areas(store, settings)
    assert [type(a) for a in areas] == [S3Media, LocalMedia]
    plain = open_store(Settings(data_dir=tmp_path))
    assert isinstance(plain, LocalBlobStore) and plain.root == (tmp_path / "blobs").resolve()
    with pytest.raises(ValueError, match="PARTAGE_STORAGE_FALLBACK_URL"):
        open_store(Settings(data_dir=tmp_path, storage_fallback_url="ftp://x/y"))


# -- storage URLs -----------------------------------------------------------------------------


def test_s3_url_parameters_name_another_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Query parameters override the PARTAGE_S3_* settings; the settings' credentials are
    used only for the endpoint they belong to, else boto3's chain (AWS_* variables)."""
    server = s3_server()
    bucket = server.new_bucket()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-the-environment")
    settings = Settings(
        data_dir=tmp_path, s3_endpoint_url="https://s3.example.net", s3_region="eu-west-3",
        s3_access_key_id="settings-key", s3_secret_access_key="settings-secret",
    )  # fmt: skip
    other = store_from_url(
        f"s3://{bucket}/pre/fix?endpoint={server.endpoint}&region={REGION}&addressing=path",
        settings, setting="--to",
    )  # fmt: skip
    assert isinstance(other, S3BlobStore)
    assert other.bucket == bucket and other.prefix == "pre/fix/"
    assert other.client.meta.endpoint_url == server.endpoint
    assert other.client.meta.region_name == REGION
    assert other.client._get_credentials().access_key == "from-the-environment"
    stored = other.put_chunks([b"on the other provider"])  # it really talks to that endpoint
    assert read(other, stored.key) == b"on the other provider"

    same = store_from_url(f"s3://{bucket}", settings)
    assert isinstance(same, S3BlobStore) and same.prefix == ""
    assert same.client.meta.endpoint_url == "https://s3.example.net"
    assert same.client._get_credentials().access_key == "settings-key"

    for bad, why in [("s3://b/p?endpoint=x&colour=blue", "unknown parameter 'colour'"),
                     ("s3://b?addressing=sideways", "addressing must be"),
                     ("s3:///nobucket", "is not s3://bucket/prefix"),
                     ("gs://b/p", "unsupported storage URL")]:  # fmt: skip
        with pytest.raises(ValueError, match=why) as caught:
            store_from_url(bad, settings, setting="--to")
        assert str(caught.value).startswith("--to: ")
    local = store_from_url(f"file://{tmp_path}/x", settings)
    assert isinstance(local, LocalBlobStore) and local.root == tmp_path / "x"
