"""The real tuspy client: plain uploads, and resuming after the client or the server
was killed in the middle of an upload."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tusclient import client
from tusclient.storage.filestorage import FileStorage

from tests.conftest import make_account
from tests.uploads.conftest import file_sha256, head, staging_files

SCRIPT = Path(__file__).with_name("tus_uploader.py")
BIG = 50 * 1024 * 1024
CHUNK = 1024 * 1024


def tus_client(srv, acc) -> client.TusClient:
    return client.TusClient(
        srv.url + "/api/v1/uploads", headers={"Authorization": f"Bearer {acc.token}"}
    )


def test_tuspy_upload_with_metadata_and_checksums(server, alice, random_file, tmp_path):
    path = random_file(3 * 1024 * 1024 + 17, "photo été.jpg")
    up = tus_client(server, alice).uploader(
        file_path=str(path),
        chunk_size=1024 * 1024,
        metadata={"filename": path.name, "folder": "holidays/2024", "max_downloads": "9"},
        upload_checksum=True,
    )
    up.upload()
    code = up.request.response_headers["partage-file-code"]
    f = alice.client.get(up.url).json()["file"]
    assert f["code"] == code
    assert f["name"] == "photo été.jpg"
    assert f["sha256"] == file_sha256(path)
    assert f["max_downloads"] == 9 and f["folder_id"]


def start_uploader(srv, acc, path: Path, store: Path, pause: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            srv.url,
            acc.token,
            str(path),
            str(store),
            str(CHUNK),
            str(pause),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_midway(proc: subprocess.Popen[str], acc, min_offset: int) -> str:
    """Read the uploader's progress until the server reports an offset past `min_offset`."""
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        assert line and not line.startswith("DONE"), "the upload finished before the kill"
        url, _ = line.split()
        offset = int(head(acc, url).headers["Upload-Offset"])
        if min_offset <= offset < BIG:
            return url


def settled_offset(acc, url: str) -> int:
    """The offset once the server has recorded what the killed client had sent."""
    last = -1
    while True:
        time.sleep(0.2)
        offset = int(head(acc, url).headers["Upload-Offset"])
        if offset == last:
            return offset
        last = offset


def resume(srv, acc, path: Path, store: Path) -> tuple[int, str]:
    """A new tuspy client with the same URL storage: returns where it resumed and the code."""
    up = tus_client(srv, acc).uploader(
        file_path=str(path),
        chunk_size=16 * 1024 * 1024,
        metadata={"filename": "big upload.bin"},
        store_url=True,
        url_storage=FileStorage(str(store)),
    )
    resumed_at = up.offset
    up.upload()
    return resumed_at, up.request.response_headers["partage-file-code"]


def test_resume_after_the_client_is_killed(server, alice, random_file, tmp_path):
    path = random_file(BIG, "big.bin")
    store = tmp_path / "tus-urls.json"
    proc = start_uploader(server, alice, path, store, pause=0.05)
    try:
        url = wait_midway(proc, alice, 3 * CHUNK)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    offset_at_kill = settled_offset(alice, url)
    assert 0 < offset_at_kill < BIG

    resumed_at, code = resume(server, alice, path, store)
    assert resumed_at == offset_at_kill  # fewer bytes than the whole were sent again
    f = alice.client.get(url).json()["file"]
    assert f["code"] == code and f["size"] == BIG
    assert f["sha256"] == file_sha256(path)


def test_resume_after_the_server_is_killed(fresh_server, random_file, tmp_path):
    srv = fresh_server.start()
    acc = make_account(srv)
    path = random_file(BIG, "big.bin")
    store = tmp_path / "tus-urls.json"
    proc = start_uploader(srv, acc, path, store, pause=0.02)
    try:
        url = wait_midway(proc, acc, 3 * CHUNK)
        srv.kill()  # SIGKILL, in the middle of the upload
        proc.wait(30)
        assert proc.returncode != 0  # the client saw the server die
    finally:
        proc.kill()
    # Bytes that reached the staging file but were never acknowledged (what a crash in
    # the middle of a PATCH leaves) must not be counted as received.
    staged = [p for p in staging_files(srv) if p.name == url.rsplit("/", 1)[1]]
    assert staged
    with open(staged[0], "ab") as f:
        f.write(b"\0" * 12345)

    srv.start()
    acc.client = httpx.Client(base_url=srv.url, headers=acc.client.headers, timeout=60)
    h = head(acc, url)
    assert h.status_code == 200
    offset = int(h.headers["Upload-Offset"])
    assert 0 < offset < BIG and offset % CHUNK == 0
    resumed_at, code = resume(srv, acc, path, store)
    assert resumed_at == offset
    f = acc.client.get(url).json()["file"]
    assert f["code"] == code
    assert f["sha256"] == file_sha256(path)
    assert not staging_files(srv)
