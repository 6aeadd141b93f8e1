"""A full disk: the data dir on a small tmpfs of the test's own, filled by a file.

Uploads answer 507 and leave nothing behind (the bytes staged before the disk filled
are freed at once, the upload is gone); database writes answer 507 (JSON for the API,
the error page for people) when the database is on that disk; once the filler is
deleted the same server works again, without a restart.

Embedded pass: SQLite, staging and blobs all on the tmpfs. Scaled pass: the database
is PostgreSQL and blobs are in S3, neither on the tmpfs; only the local staging of
uploads is. There the test checks that uploads still answer 507 and free what they
staged locally (an upload's tail: with less free space than a part, no part is
sent), and that database writes keep working.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_account
from tests.serverproc import TEST_DATABASE_URL, Server
from tests.uploads.conftest import OFFSET_STREAM, TUS, meta

MiB = 1024 * 1024
DISK = 96 * MiB
SQLITE = not TEST_DATABASE_URL


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 96 MiB tmpfs mounted for the test (root is needed: CI runs the tests as root)."""
    mount = tmp_path / "data"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0700", "tmpfs", str(mount)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (this test needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(filler: Path, leave: int = 0) -> None:
    """Grow `filler` until only `leave` bytes are free (0: until the disk refuses a byte)."""
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        chunk = MiB
        while chunk:
            room = free_bytes(filler.parent) - leave
            if leave and room < chunk:
                chunk = max(room // 4096 * 4096, 0) if room > 0 else 0
                if not chunk:
                    break
            try:
                os.write(fd, b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                chunk //= 2
    finally:
        os.close(fd)


def staged(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "staging").iterdir())


def tus_create(api: httpx.Client, length: int, name: str) -> httpx.Response:
    headers = {**TUS, "Upload-Length": str(length), "Upload-Metadata": meta(filename=name)}
    return api.post("/api/v1/uploads", headers=headers)


def web_login(srv: Server, email: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        return c.post(
            "/login", data={"email": email, "password": password}, headers={"Accept": "text/html"}
        )


def test_a_full_disk_answers_507_and_recovers(small_disk: Path) -> None:
    srv = Server(small_disk)
    srv.start()
    try:
        _run(srv, small_disk)
    finally:
        srv.stop()


def _run(srv: Server, data_dir: Path) -> None:
    acc = make_account(srv)
    api = acc.client
    filler = data_dir / "filler"

    # 1. An upload that fills the disk mid-PATCH: 507, and what it staged is freed at once.
    fill(filler, leave=2 * MiB)  # less than an S3 part (5 MiB): S3 staging fills it too
    before = free_bytes(data_dir)
    r = tus_create(api, 32 * MiB, "big.bin")
    assert r.status_code == 201, r.text
    url = r.headers["Location"]
    body = os.urandom(MiB) * 32
    r = api.patch(url, content=body, headers={**TUS, **OFFSET_STREAM, "Upload-Offset": "0"})
    assert r.status_code == 507, r.text
    assert r.json()["error"] == "insufficient_storage"
    assert "removed" in r.json()["message"]
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert api.head(url, headers=TUS).status_code == 404  # the upload is gone…
    assert url.rsplit("/", 1)[1] not in staged(data_dir)  # …and its bytes with it
    assert free_bytes(data_dir) >= before - MiB
    # A plain PUT, the same.
    r = api.put("/api/v1/files/put.bin", content=body, headers={"Accept": "application/json"})
    assert r.status_code == 507, r.text
    assert r.json()["error"] == "insufficient_storage"
    assert not staged(data_dir)

    # 2. Not one byte free.
    fill(filler)
    r = tus_create(api, MiB, "small.bin")
    if r.status_code == 201:  # the row fitted (PostgreSQL, or room left in SQLite's pages)
        r = api.patch(r.headers["Location"], content=body[:MiB],
                      headers={**TUS, **OFFSET_STREAM, "Upload-Offset": "0"})  # fmt: skip
    assert r.status_code == 507, r.text
    assert r.json()["error"] == "insufficient_storage"
    assert not staged(data_dir)

    folder = api.post("/api/v1/folders", json={"name": "Full disk"})
    login = web_login(srv, acc.email, acc.password)
    if SQLITE:  # the database is on the full disk
        assert folder.status_code == 507, folder.text
        assert folder.headers["content-type"].startswith("application/json")
        assert folder.json()["error"] == "insufficient_storage"
        assert login.status_code == 507, login.text
        assert login.headers["content-type"].startswith("text/html")
        assert "out of disk space" in login.text
    else:  # PostgreSQL is elsewhere: its writes go on
        assert folder.status_code == 201, folder.text
        assert login.status_code == 303, login.text

    # 3. Space comes back: the same server works again.
    filler.unlink()
    r = api.post("/api/v1/folders", json={"name": "After"})
    assert r.status_code == 201, r.text
    assert web_login(srv, acc.email, acc.password).status_code == 303
    data = os.urandom(3 * MiB)
    r = tus_create(api, len(data), "ok.bin")
    assert r.status_code == 201, r.text
    r = api.patch(r.headers["Location"], content=data,
                  headers={**TUS, **OFFSET_STREAM, "Upload-Offset": "0"})  # fmt: skip
    assert r.status_code == 204, r.text
    info = api.get(f"/api/v1/files/{r.headers['Partage-File-Code']}").json()
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
