"""tus uploads staged in an S3 store (moto, started by the tests): parts leave the node
as they arrive, and nothing staged outlives its upload."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from partage.db import utcnow
from partage.uploads import objectstaging
from partage.uploads.models import Upload
from partage.uploads.service import expire_abandoned
from tests.conftest import Account, db_context, make_account
from tests.s3server import s3_server
from tests.serverproc import Server
from tests.uploads.conftest import TUS, head, meta, patch

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s3 = s3_server()
    srv = Server(tmp_path_factory.mktemp("s3srv") / "data", storage_env=s3.env(s3.new_bucket()))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def acc(s3srv: Server) -> Account:
    return make_account(s3srv)


def _bucket(srv: Server) -> str:
    return srv.storage_env["PARTAGE_STORAGE_URL"].removeprefix("s3://").split("/", 1)[0]


def _multiparts(srv: Server) -> list[str]:
    found = s3_server().client().list_multipart_uploads(Bucket=_bucket(srv))
    return [u["Key"] for u in found.get("Uploads", [])]


def _objects(srv: Server, prefix: str = "data/uploads/") -> list[str]:
    found = s3_server().client().list_objects_v2(Bucket=_bucket(srv), Prefix=prefix)
    return [o["Key"] for o in found.get("Contents", [])]


def create(acc: Account, length: int, filename: str) -> str:
    r = acc.client.post("/api/v1/uploads", headers={**TUS, "Upload-Length": str(length),
                        "Upload-Metadata": meta(filename=filename)})  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.headers["Location"])


def _start(acc: Account, data: bytes, first: int) -> str:
    url = create(acc, len(data), "big.bin")
    r = patch(acc, url, 0, data[:first])
    assert r.status_code == 204, r.text
    return url


def test_parts_go_to_the_store_and_only_the_tail_stays(s3srv: Server, acc: Account) -> None:
    data = os.urandom(11 * MiB + 7)
    url = _start(acc, data, 11 * MiB)
    upload_id = url.rsplit("/", 1)[1]
    assert _multiparts(s3srv) == [f"data/uploads/{upload_id}"]
    assert f"data/uploads/{upload_id}.tail" in _objects(s3srv)
    assert (s3srv.data_dir / "staging" / upload_id).stat().st_size == MiB  # 11 - 2 × 5
    r = patch(acc, url, 11 * MiB, data[11 * MiB :])
    assert r.status_code == 204
    code = r.headers["Partage-File-Code"]
    info = acc.client.get(f"/api/v1/files/{code}").json()
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert _objects(s3srv) == [] and upload_id not in " ".join(_multiparts(s3srv))


def test_terminating_aborts_the_multipart_upload(s3srv: Server, acc: Account) -> None:
    url = _start(acc, os.urandom(8 * MiB), 6 * MiB)
    upload_id = url.rsplit("/", 1)[1]
    assert f"data/uploads/{upload_id}" in _multiparts(s3srv)
    assert acc.client.delete(url, headers=TUS).status_code == 204
    assert f"data/uploads/{upload_id}" not in _multiparts(s3srv)
    assert not [k for k in _objects(s3srv) if upload_id in k]


def test_expired_upload_is_removed_from_the_store(s3srv: Server, acc: Account) -> None:
    url = _start(acc, os.urandom(8 * MiB), 6 * MiB)
    upload_id = url.rsplit("/", 1)[1]
    ctx = db_context(s3srv)
    try:
        with ctx.db.session() as s:
            s.execute(update(Upload).where(Upload.id == upload_id)
                      .values(expires_at=utcnow() - timedelta(seconds=1)))  # fmt: skip
        assert expire_abandoned(ctx) >= 1
    finally:
        ctx.close()
    assert f"data/uploads/{upload_id}" not in _multiparts(s3srv)
    assert not [k for k in _objects(s3srv) if upload_id in k]
    assert head(acc, url).status_code == 404


def test_sweep_aborts_what_a_crash_left_behind(s3srv: Server, acc: Account) -> None:
    live_url = _start(acc, os.urandom(8 * MiB), 6 * MiB)
    live = live_url.rsplit("/", 1)[1]
    client, bucket = s3_server().client(), _bucket(s3srv)
    ghost = secrets.token_hex(16)  # an upload whose row a crash or a restore lost
    client.create_multipart_upload(Bucket=bucket, Key=f"data/uploads/{ghost}")
    client.put_object(Bucket=bucket, Key=f"data/uploads/{ghost}.tail", Body=b"tail")
    ctx = db_context(s3srv)
    try:
        store = objectstaging.object_store(ctx)
        assert store is not None
        # Nothing younger than the cutoff goes (moto dates every multipart upload
        # 2010-11-10, so only the tail object's age can be checked here)…
        objectstaging.sweep(store, {live}, utcnow() - timedelta(hours=1))
        assert f"data/uploads/{ghost}.tail" in _objects(s3srv)
        # …then what belongs to no live upload does, and the live one stays.
        removed = objectstaging.sweep(store, {live}, utcnow() + timedelta(minutes=1))
    finally:
        ctx.close()
    assert removed >= 1
    assert f"data/uploads/{live}" in _multiparts(s3srv)
    assert f"data/uploads/{ghost}" not in _multiparts(s3srv)
    assert f"data/uploads/{ghost}.tail" not in _objects(s3srv)
    acc.client.delete(live_url, headers=TUS)


def test_bad_checksum_keeps_nothing_of_a_large_patch(s3srv: Server, acc: Account) -> None:
    data = os.urandom(7 * MiB)
    url = create(acc, len(data), "c.bin")
    upload_id = url.rsplit("/", 1)[1]
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    r = patch(acc, url, 0, data, headers={"Upload-Checksum": f"sha256 {wrong}"})
    assert r.status_code == 460
    assert head(acc, url).headers["Upload-Offset"] == "0"
    assert f"data/uploads/{upload_id}" not in _multiparts(s3srv)  # verified before sent
    good = base64.b64encode(hashlib.sha256(data).digest()).decode()
    r = patch(acc, url, 0, data, headers={"Upload-Checksum": f"sha256 {good}"})
    assert r.status_code == 204 and "Partage-File-Code" in r.headers


def test_body_past_the_length_keeps_the_parts_already_sent(s3srv: Server, acc: Account) -> None:
    data = os.urandom(6 * MiB)
    url = create(acc, len(data), "p.bin")

    def too_much() -> Iterator[bytes]:
        yield data
        yield b"past the end"

    r = acc.client.patch(url, content=too_much(), headers={**TUS, "Upload-Offset": "0",
                         "Content-Type": "application/offset+octet-stream"})  # fmt: skip
    assert r.status_code == 409 or r.status_code == 413, r.text
    offset = int(head(acc, url).headers["Upload-Offset"])
    assert offset in (0, 5 * MiB)  # what the store durably holds: never more
    r = patch(acc, url, offset, data[offset:])
    assert r.status_code == 204
    info = acc.client.get(f"/api/v1/files/{r.headers['Partage-File-Code']}").json()
    assert info["sha256"] == hashlib.sha256(data).hexdigest()


def test_concatenation_of_partials_staged_in_the_store(s3srv: Server, acc: Account) -> None:
    one, two = os.urandom(6 * MiB), os.urandom(MiB + 3)
    parts = []
    for chunk in (one, two):
        r = acc.client.post("/api/v1/uploads", headers={**TUS, "Upload-Length": str(len(chunk)),
                            "Upload-Concat": "partial"})  # fmt: skip
        assert r.status_code == 201
        assert patch(acc, r.headers["Location"], 0, chunk).status_code == 204
        parts.append(r.headers["Location"])
    final = {**TUS, "Upload-Concat": "final;" + " ".join(parts),
             "Upload-Metadata": meta(filename="whole.bin")}  # fmt: skip
    r = acc.client.post("/api/v1/uploads", headers=final)
    assert r.status_code == 201, r.text
    info = acc.client.get(f"/api/v1/files/{r.headers['Partage-File-Code']}").json()
    assert info["sha256"] == hashlib.sha256(one + two).hexdigest()
    assert _objects(s3srv) == []
    got = httpx.get(info["download_url"], timeout=60)
    assert hashlib.sha256(got.content).hexdigest() == info["sha256"]
