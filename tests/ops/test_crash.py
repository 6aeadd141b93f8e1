"""Crashes on purpose: `kill -9` of the server (its process group, or its main process
alone) in the middle of tus uploads and of a media job. After a restart the uploads
resume from their last checkpoint and end with the right bytes, the media job runs to
the end, `partage admin verify --all` finds nothing wrong, and nothing of the killed
server is left running or listening on its port.

Runs on whatever the pass gives (SQLite and local disk, or PostgreSQL and S3 staging).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import imageio_ffmpeg
import pytest

from tests.conftest import Account, make_account
from tests.serverproc import Server
from tests.uploads.conftest import OFFSET_STREAM, TUS, meta

MiB = 1024 * 1024
BLOCK = MiB
# Small checkpoints, so the test sees several; S3 staging checkpoints at part boundaries
# (8 MiB), local staging at the first chunk past each interval.
CHECKPOINT = 8 * MiB
ENV = {
    "PARTAGE_UPLOAD_CHECKPOINT_BYTES": str(CHECKPOINT),
    "PARTAGE_MEDIA_SWEEP_INTERVAL": "0.5",
    "PARTAGE_MEDIA_STALE_AFTER": "6",
    "PARTAGE_MEDIA_RETRY_DELAY": "0",
    "PARTAGE_MEDIA_MAX_ATTEMPTS": "3",  # each crash costs the job an attempt
}


def block(i: int) -> bytes:
    """Block `i` of every test upload: distinct blocks, cheap to make again."""
    return hashlib.sha256(i.to_bytes(8, "big")).digest() * (BLOCK // 32)


def blocks_sha256(n: int) -> str:
    h = hashlib.sha256()
    for i in range(n):
        h.update(block(i))
    return h.hexdigest()


@dataclass
class StalledPatch:
    """One PATCH that streams blocks [first, stall) of an upload and then waits, its body
    unfinished, until the server dies under it."""

    client: httpx.Client
    url: str
    first: int
    stall: int
    total: int
    release: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def body(self) -> Iterator[bytes]:
        for i in range(self.first, self.total):
            if i == self.stall:
                self.release.wait(60)
                return
            yield block(i)

    def run(self) -> None:
        headers = {**TUS, **OFFSET_STREAM, "Upload-Offset": str(self.first * BLOCK)}
        try:
            self.client.patch(self.url, content=self.body(), headers=headers, timeout=120)
        except httpx.HTTPError as exc:  # the server died under it: expected
            self.error = exc

    def start(self) -> StalledPatch:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def join(self) -> None:
        self.release.set()
        assert self.thread is not None
        self.thread.join(30)


def tus_create(acc: Account, nblocks: int, name: str) -> str:
    r = acc.client.post(
        "/api/v1/uploads",
        headers={
            **TUS,
            "Upload-Length": str(nblocks * BLOCK),
            "Upload-Metadata": meta(filename=name),
        },  # fmt: skip
    )
    assert r.status_code == 201, r.text
    return str(r.headers["Location"])


def offset_of(client: httpx.Client, url: str) -> int:
    r = client.head(url, headers=TUS)
    assert r.status_code == 200, r.text
    return int(r.headers["Upload-Offset"])


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def resume(client: httpx.Client, url: str, nblocks: int) -> str:
    """Finish an upload the tus way: HEAD for the offset, PATCH the rest; the file code."""
    offset = offset_of(client, url)
    assert offset % BLOCK == 0  # checkpoints fall between the client's chunks here
    first = offset // BLOCK
    r = client.patch(
        url,
        content=(block(i) for i in range(first, nblocks)),
        headers={**TUS, **OFFSET_STREAM, "Upload-Offset": str(offset)},
        timeout=120,
    )
    assert r.status_code == 204, r.text
    return str(r.headers["Partage-File-Code"])


def downloaded_sha256(client: httpx.Client, code: str) -> str:
    """SHA-256 of the file as its owner downloads it (its direct link)."""
    info = client.get(f"/api/v1/files/{code}")
    assert info.status_code == 200, info.text
    h = hashlib.sha256()
    with client.stream("GET", info.json()["download_url"]) as r:
        assert r.status_code == 200
        for chunk in r.iter_bytes(MiB):
            h.update(chunk)
    return h.hexdigest()


# -- what a dead server leaves -----------------------------------------------------------


def listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    found.add(inode)
    return found


def owners(inodes: set[str]) -> list[int]:
    """Processes holding any of these sockets."""
    wanted = {f"socket:[{i}]" for i in inodes}
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in wanted for fd in fds):
                pids.append(int(pid))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return pids


def accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def crash(srv: Server, how: str) -> None:
    """SIGKILL the whole process group, or the main process alone (its children must
    follow it by themselves); then nothing of it may run or listen."""
    proc = srv.proc
    assert proc is not None
    if how == "group":
        srv.kill()
    else:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        srv.proc = None
    try:
        wait_for("the killed server's processes to end", lambda: not group_alive(proc.pid), 15)
    finally:
        if group_alive(proc.pid):  # leave nothing behind for the next test
            os.killpg(proc.pid, signal.SIGKILL)
    assert not accepts(srv.port), "something still accepts connections on the port"
    inodes = listening_inodes(srv.port)
    assert not inodes, f"processes {owners(inodes)} still listen on port {srv.port}"


def admin_verify(srv: Server) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "partage.cli.main", "admin", "verify", "--all", "--json",
         "--data-dir", str(srv.data_dir)],
        env=srv.full_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return dict(json.loads(out.stdout))


# -- the tests ---------------------------------------------------------------------------


def test_a_long_patch_resumes_from_its_last_checkpoint(fresh_server: Server) -> None:
    """One 128 MiB PATCH, killed at 80 MiB: HEAD answers a checkpoint near there (not 0),
    and the upload resumes from it to the right SHA-256."""
    nblocks, stall = 128, 80
    srv = fresh_server
    srv.env.update(ENV)
    srv.start()
    acc = make_account(srv)
    url = tus_create(acc, nblocks, "long.bin")
    patch = StalledPatch(acc.client, url, 0, stall, nblocks).start()
    try:
        # Durable progress is visible while the PATCH is still streaming.
        floor = (stall * BLOCK - 2 * CHECKPOINT) // BLOCK * BLOCK
        wait_for(f"a checkpoint past {floor}", lambda: offset_of(acc.client, url) >= floor)
        srv.kill()
    finally:
        patch.join()
    srv.start()
    acc.client = httpx.Client(base_url=srv.url, headers=acc.client.headers, timeout=60)
    offset = offset_of(acc.client, url)
    assert floor <= offset <= stall * BLOCK
    code = resume(acc.client, url, nblocks)
    info = acc.client.get(url).json()["file"]
    assert info["code"] == code and info["size"] == nblocks * BLOCK
    assert info["sha256"] == blocks_sha256(nblocks)
    assert downloaded_sha256(acc.client, code) == info["sha256"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of 640x360: a media job long enough to be killed while it runs."""
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error",
         "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=550:sample_rate=48000", "-t", "8",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-movflags", "+faststart", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path


def media_state(acc: Account, code: str) -> dict:
    r = acc.client.get(f"/api/v1/files/{code}/media")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_kill_during_uploads_and_a_media_job(fresh_server: Server, clip: Path) -> None:
    """Two crashes in a row: the process group first, then the main process alone (its
    web worker and ffmpeg must die with it). Uploads resume each time from where the
    last one left them, the media job is picked up again, and everything ends right."""
    srv = fresh_server
    srv.env.update(ENV)
    srv.start()
    acc = make_account(srv)
    r = acc.client.put(
        "/api/v1/files/clip.mp4", content=clip.read_bytes(), headers={"Accept": "application/json"}
    )
    assert r.status_code == 201, r.text
    video = r.json()["code"]
    # Three uploads, killed mid-PATCH at different points; the last one before its first
    # checkpoint (it starts again from 0).
    sizes, stalls = [48, 40, 24], [[20, 40], [17, 33], [3, 6]]
    urls = [tus_create(acc, n, f"up{i}.bin") for i, n in enumerate(sizes)]
    floors = [0, 0, 0]
    for round_, how in enumerate(("group", "main")):
        patches = [
            StalledPatch(acc.client, u, floors[k] // BLOCK, stalls[k][round_], sizes[k]).start()
            for k, u in enumerate(urls)
        ]
        try:
            want = [(st[round_] * BLOCK - 2 * CHECKPOINT) for st in stalls]
            wait_for(
                "checkpoints",
                lambda want=want: all(
                    offset_of(acc.client, u) >= w for u, w in zip(urls, want, strict=True)
                ),
            )
            wait_for("the media job to run", lambda: media_state(acc, video)["state"] == "running")
            crash(srv, how)
        finally:
            for p in patches:
                p.join()
        srv.start()
        acc.client = httpx.Client(base_url=srv.url, headers=acc.client.headers, timeout=60)
        offsets = [offset_of(acc.client, u) for u in urls]
        assert all(o >= max(w, 0) for o, w in zip(offsets, want, strict=True)), offsets
        kept = all(o > f for o, f in zip(offsets[:2], floors[:2], strict=True))
        assert kept, (how, floors, offsets)  # progress kept in each round
        floors = offsets

    for url, n in zip(urls, sizes, strict=True):
        code = resume(acc.client, url, n)
        assert downloaded_sha256(acc.client, code) == blocks_sha256(n)
    deadline = time.monotonic() + 120
    while (v := media_state(acc, video))["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, v
        time.sleep(0.3)
    assert v["state"] == "done", v
    srv.stop()
    report = admin_verify(srv)
    assert report["ok"] and not report["orphan_count"], report
