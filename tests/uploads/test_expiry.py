"""tus expiration: Upload-Expires, expired uploads refused, then removed by the periodic job."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import select

from partage.files.models import File, FileStatus
from partage.uploads.models import Upload
from partage.uploads.service import expire_abandoned
from tests.conftest import db_context, make_account
from tests.uploads.conftest import TUS, create, head, meta, patch, staging_files


@pytest.fixture
def short_expiry(fresh_server):
    fresh_server.env["PARTAGE_UPLOAD_EXPIRY"] = "60"
    return fresh_server.start()


def set_expiry(srv, upload_id: str, when: datetime) -> None:
    ctx = db_context(srv)
    with ctx.db.session() as s:
        s.get(Upload, upload_id).expires_at = when
    ctx.close()


def test_expiry_lifecycle(short_expiry):
    srv = short_expiry
    acc = make_account(srv)
    r = create(acc, 1000)
    url, upload_id = r.headers["Location"], r.headers["Location"].rsplit("/", 1)[1]
    expires = parsedate_to_datetime(r.headers["Upload-Expires"])
    assert timedelta(seconds=50) < expires - datetime.now(UTC) <= timedelta(seconds=61)
    time.sleep(1.1)
    r = patch(acc, url, 0, b"x" * 100)
    assert parsedate_to_datetime(r.headers["Upload-Expires"]) > expires  # it slides
    assert head(acc, url).headers["Upload-Expires"]

    # a finished upload, past its expiry too: its record goes, its file stays
    done = acc.client.post(
        "/api/v1/uploads",
        content=b"kept",
        headers={
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Length": "4",
            "Upload-Metadata": meta(filename="kept.txt"),
        },
    )
    done_url = done.headers["Location"]
    code = done.headers["Partage-File-Code"]
    # an orphan staging file (a crashed PUT), idle for longer than the expiry
    orphan = srv.data_dir / "staging" / ("in-" + "ab" * 16)
    orphan.write_bytes(b"junk")
    old = time.time() - 2 * 86400
    os.utime(orphan, (old, old))

    past = datetime.now(UTC) - timedelta(seconds=1)
    set_expiry(srv, upload_id, past)
    set_expiry(srv, done_url.rsplit("/", 1)[1], past)
    r = head(acc, url)
    assert r.status_code == 410
    r = patch(acc, url, 100, b"y" * 100)
    assert r.status_code == 410 and r.json()["error"] == "upload_expired"
    assert acc.client.get(url).status_code == 410

    ctx = db_context(srv)
    try:
        assert expire_abandoned(ctx) == 1
        assert expire_abandoned(ctx) == 0
    finally:
        ctx.close()
    assert head(acc, url).status_code == 404
    assert head(acc, done_url).status_code == 404
    assert upload_id not in [p.name for p in staging_files(srv)]
    assert not orphan.exists()
    ctx = db_context(srv)
    with ctx.db.read() as s:
        kept = s.scalar(select(File).where(File.code == code))
        assert kept is not None and kept.status == FileStatus.active
    ctx.close()


def test_the_server_job_consumer_runs_the_expiry_job(fresh_server):
    """The periodic job is wired: enqueued into the server's embedded queue (as
    the scheduler does every 5 minutes), the consumer inside `partage serve`
    runs it and the expired upload disappears."""
    import subprocess
    import sys

    srv = fresh_server.start()
    acc = make_account(srv)
    url = create(acc, 1000).headers["Location"]
    upload_id = url.rsplit("/", 1)[1]
    patch(acc, url, 0, b"y" * 10)
    assert (srv.data_dir / "staging" / upload_id).exists()
    set_expiry(srv, upload_id, datetime.now(UTC) - timedelta(seconds=1))
    env = {**os.environ, "PARTAGE_DATA_DIR": str(srv.data_dir)}
    subprocess.run(
        [sys.executable, "-c", "from partage import jobs; jobs.expire_uploads()"],
        env=env, check=True, timeout=60,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ctx = db_context(srv)
        with ctx.db.read() as s:
            gone = s.get(Upload, upload_id) is None
        ctx.close()
        if gone:
            break
        time.sleep(0.2)
    assert gone, "the job consumer inside partage serve did not run the expiry job"
    assert not (srv.data_dir / "staging" / upload_id).exists()
    assert head(acc, url).status_code in (404, 410)
