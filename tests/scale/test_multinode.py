"""Two `partage serve` nodes and one `partage worker`, each with its own data dir (as on
three machines), sharing only PostgreSQL, Redis and an S3 server (moto, started by
the tests): whatever one node does, the other sees at once."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, update

from tests.conftest import Account, make_account
from tests.s3server import s3_server
from tests.serverproc import SCALED_DATABASE_URL, Server, Worker, new_database
from tests.streaming.conftest import REDIS_URL, _run

MiB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
JSON = {"Accept": "application/json"}


@dataclass
class Cluster:
    a: Server
    b: Server
    worker: Worker
    bucket: str
    database_url: str

    def account_on(self, node: Server, acc: Account) -> httpx.Client:
        return httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {acc.token}"},
                            timeout=60)  # fmt: skip

    def staged_uploads(self) -> list[dict[str, Any]]:
        client = s3_server().client()
        return list(client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    s3 = s3_server()
    bucket = s3.new_bucket()
    database_url = new_database(SCALED_DATABASE_URL)
    assert database_url is not None
    shared = {
        **s3.env(bucket),
        "PARTAGE_QUEUE_URL": REDIS_URL,
        "PARTAGE_QUEUE_NAME": f"partage-cluster-{secrets.token_hex(4)}",
        "PARTAGE_SECRET_KEY": secrets.token_urlsafe(32),
    }

    def node(name: str) -> Server:
        return Server(root / name, env=dict(shared), database_url=database_url, storage_env={})

    a = node("a").start(timeout=120)  # creates the schema; then B can start
    b = node("b").start(timeout=120)
    worker = Worker(node("w")).start()
    try:
        yield Cluster(a, b, worker, bucket, database_url)
    finally:
        worker.stop()
        a.stop()
        b.stop()


def test_upload_begun_on_a_is_finished_on_b(cluster: Cluster) -> None:
    acc = make_account(cluster.a)
    on_a, on_b = cluster.account_on(cluster.a, acc), cluster.account_on(cluster.b, acc)
    data = os.urandom(12 * MiB + 4321)
    r = on_a.post("/api/v1/uploads", headers={**TUS, "Upload-Length": str(len(data)),
                  "Upload-Metadata": "filename " + _b64("across.bin")})  # fmt: skip
    assert r.status_code == 201, r.text
    location = r.headers["Location"]
    path = location.split("://", 1)[1].split("/", 1)[1]

    first = 7 * MiB  # more than one 5 MiB part: one part is in S3 already, the rest a tail
    r = on_a.patch(f"/{path}", content=data[:first], headers={**TUS, "Upload-Offset": "0",
                   "Content-Type": "application/offset+octet-stream"})  # fmt: skip
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(first), r.text
    staged = cluster.staged_uploads()
    assert len(staged) == 1, "the full part went to an S3 multipart upload as it arrived"
    tail = cluster.a.data_dir / "staging" / path.rsplit("/", 1)[1]
    assert tail.stat().st_size == first - 5 * MiB  # node A keeps only the tail

    # Node B knows where the upload stands, and finishes it from there.
    r = on_b.head(f"/{path}", headers=TUS)
    assert r.status_code == 200 and r.headers["Upload-Offset"] == str(first)
    r = on_b.patch(f"/{path}", content=data[first:], headers={**TUS, "Upload-Offset": str(first),
                   "Content-Type": "application/offset+octet-stream"})  # fmt: skip
    assert r.status_code == 204, r.text
    code = r.headers["Partage-File-Code"]
    assert cluster.staged_uploads() == []  # completed, nothing left behind

    info = on_a.get(f"/api/v1/files/{code}").json()
    assert info["sha256"] == hashlib.sha256(data).hexdigest()  # rebuilt by B from the object
    got = httpx.get(info["download_url"], timeout=60, follow_redirects=True)
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == info["sha256"]
    for node in (cluster.a, cluster.b):  # the blob is in the object store, not on a node
        assert not [p for p in (node.data_dir / "blobs").rglob("*") if p.is_file()]


def test_two_requests_cannot_write_one_upload_on_two_nodes(cluster: Cluster) -> None:
    acc = make_account(cluster.a)
    on_a, on_b = cluster.account_on(cluster.a, acc), cluster.account_on(cluster.b, acc)
    r = on_a.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "100",
                  "Upload-Metadata": "filename " + _b64("x.bin")})  # fmt: skip
    upload_id = r.headers["Location"].rsplit("/", 1)[1]
    engine = create_engine(cluster.database_url)
    from partage.db import utcnow
    from partage.uploads.models import Upload

    with engine.begin() as conn:  # as if a PATCH on node A were under way
        conn.execute(update(Upload).where(Upload.id == upload_id).values(
            lease_holder="node-a-request", lease_until=utcnow() + _minutes(5)))  # fmt: skip
    start = {**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    r = on_b.patch(f"/api/v1/uploads/{upload_id}", content=b"x" * 10, headers=start)
    assert r.status_code == 423 and r.json()["error"] == "upload_busy", r.text
    with engine.begin() as conn:  # that request died long ago: its lease has run out
        conn.execute(update(Upload).where(Upload.id == upload_id).values(
            lease_until=utcnow() - _minutes(1)))  # fmt: skip
    r = on_b.patch(f"/api/v1/uploads/{upload_id}", content=b"x" * 100, headers=start)
    assert r.status_code == 204 and "Partage-File-Code" in r.headers
    with engine.begin() as conn:
        assert conn.scalar(select(Upload.lease_holder).where(Upload.id == upload_id)) is None
    engine.dispose()


def test_video_uploaded_on_a_is_transcoded_by_the_worker_and_plays_on_b(
    cluster: Cluster, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    _run("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=5",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=5",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip)  # fmt: skip
    acc = make_account(cluster.a)
    on_a, on_b = cluster.account_on(cluster.a, acc), cluster.account_on(cluster.b, acc)
    r = on_a.put("/api/v1/files/clip.mp4", content=clip.read_bytes(), headers=JSON)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    deadline = time.monotonic() + 180
    while True:
        view = on_b.get(f"/api/v1/files/{code}/media").json()
        if view["state"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert view["state"] == "done", view

    engine = create_engine(cluster.database_url)
    from partage.media.models import Media

    with engine.begin() as conn:
        worker = conn.scalar(select(Media.worker).where(Media.sha256 == r.json()["sha256"]))
    engine.dispose()
    assert worker is not None and f":{cluster.worker.proc.pid}:" in worker, worker  # type: ignore[union-attr]

    master = httpx.get(view["hls_url"], timeout=30)
    assert master.status_code == 200 and master.text.startswith("#EXTM3U")
    assert view["hls_url"].startswith(cluster.b.url)
    variant_uri = next(
        line for line in master.text.splitlines() if line and not line.startswith("#")
    )
    variant = httpx.get(view["hls_url"].rsplit("/", 1)[0] + "/" + variant_uri, timeout=30)
    assert variant.status_code == 200 and "#EXT-X-ENDLIST" in variant.text
    segment = next(line for line in variant.text.splitlines() if line.endswith(".m4s"))
    base = view["hls_url"].rsplit("/", 1)[0] + "/" + variant_uri.rsplit("/", 1)[0]
    seg = httpx.get(f"{base}/{segment}", timeout=30)
    assert seg.status_code == 200 and len(seg.content) > 1000
    assert seg.headers["content-type"] == "video/iso.segment"
    # Nothing was served from a node's disk: no node (nor the worker) kept outputs.
    for node in (cluster.a, cluster.b, cluster.worker.server):
        media = node.data_dir / "media"
        assert not [p for p in media.rglob("*") if p.is_file()], node.data_dir


def test_link_changed_on_b_stops_at_a_at_once(cluster: Cluster) -> None:
    acc = make_account(cluster.a)
    on_a, on_b = cluster.account_on(cluster.a, acc), cluster.account_on(cluster.b, acc)
    code = on_a.put("/api/v1/files/note.txt", content=b"hello from A", headers=JSON).json()["code"]
    page_a = f"{cluster.a.url}/{code}"
    link_a = on_a.get(f"/api/v1/files/{code}").json()["download_url"]
    assert httpx.get(link_a).content == b"hello from A"

    engine = create_engine(cluster.database_url)
    from partage.files.models import File, FileStatus

    with engine.begin() as conn:  # a moderation decision (issue 6 adds its pages)
        conn.execute(update(File).where(File.code == code).values(status=FileStatus.disabled))
    assert httpx.get(link_a).status_code == 451
    with engine.begin() as conn:
        conn.execute(update(File).where(File.code == code).values(status=FileStatus.active))
    assert httpx.get(link_a).status_code == 200
    engine.dispose()

    r = on_b.patch(f"/api/v1/files/{code}", json={"public": False})
    assert r.status_code == 200, r.text
    assert httpx.get(link_a).status_code in (403, 404, 410)  # revoked everywhere at once
    assert httpx.get(page_a, headers={"Accept": "application/json"}).status_code == 404
    assert on_b.delete(f"/api/v1/files/{code}").status_code == 204
    assert httpx.get(page_a, headers={"Accept": "application/json"}).status_code == 410


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def _minutes(n: int) -> Any:
    from datetime import timedelta

    return timedelta(minutes=n)
