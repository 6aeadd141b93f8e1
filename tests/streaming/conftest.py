"""A real server (and, in `redis` mode, a separate `partage worker`) with media made by
ffmpeg, shared by the streaming tests.

The `stream` fixture runs each test twice: embedded (SQLite queue, jobs in serve's
threads) and scaled-out jobs (Redis queue on the machine's Redis server, consumed by
a `partage worker` process).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest
import redis

from tests.conftest import Account, make_account
from tests.serverproc import Server, Worker

REDIS_URL = os.environ.get("PARTAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def make_admin(stream: Stream) -> httpx.Client:
    """An admin account's API client on the stream's server."""
    from partage.accounts import service as accounts
    from tests.conftest import db_context

    ctx = db_context(stream.server)
    try:
        with ctx.db.session() as s:
            email = f"admin-{secrets.token_hex(4)}@example.org"
            user = accounts.create_user(s, email, "Admin-pw-" + secrets.token_hex(8), admin=True)
            _, token = accounts.create_token(s, user, "tests")
    finally:
        ctx.close()
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=stream.url, headers=headers, timeout=30)


def _run(*args: str | Path) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error",
         *map(str, args)],
        check=True, timeout=120,
    )  # fmt: skip


SRT = (
    "1\n00:00:00,500 --> 00:00:03,000\nHello from the MKV\n\n"
    "2\n00:00:03,000 --> 00:00:05,500\nSecond line\n"
)


@dataclass(frozen=True)
class Clips:
    """Test media, made once per session with imageio-ffmpeg's ffmpeg 9."""

    faststart: Path  # 854x480 30 fps H.264/AAC, 6 s, moov first: plays as it is
    plain: Path  # the same encode with moov at the end: remuxed for direct play
    phone: Path  # 480x270 source with a 90° display matrix: portrait
    vfr: Path  # variable frame rate (30 then 15 fps), no audio, Matroska
    interlaced: Path  # 720x576 25i, top field first
    multi: Path  # MKV: video, two audio tracks (eng, fra), an English SRT stream
    mp3: Path  # audio only, browsers play it
    ac3: Path  # audio only in AC-3: browsers do not play it
    png: Path  # an image
    corrupt: Path  # starts like an MP4, then noise
    text: Path  # not media


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    d = tmp_path_factory.mktemp("clips")
    src = ["-f", "lavfi", "-i", "testsrc2=size=854x480:rate=30",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]  # fmt: skip
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30"]
    c = Clips(
        faststart=d / "faststart.mp4", plain=d / "plain.mp4", phone=d / "phone.mp4",
        vfr=d / "vfr.mkv", interlaced=d / "interlaced.mp4", multi=d / "multi.mkv",
        mp3=d / "tone.mp3", ac3=d / "tone.ac3", png=d / "still.png", corrupt=d / "corrupt.mp4",
        text=d / "notes.txt",
    )  # fmt: skip
    _run(*src, "-t", "6", *x264, "-c:a", "aac", "-movflags", "+faststart", c.faststart)
    _run(*src, "-t", "6", *x264, "-c:a", "aac", "-metadata", "title=plain", c.plain)
    small = d / "small.mp4"
    _run("-f", "lavfi", "-i", "testsrc2=size=480x270:rate=30", "-t", "3", *x264, small)
    _run("-display_rotation", "90", "-i", small, "-c", "copy", c.phone)
    _run("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "5",
         "-vf", "select='if(lt(t,2),1,not(mod(n,2)))'", "-fps_mode", "vfr",
         *x264, c.vfr)  # fmt: skip
    _run("-f", "lavfi", "-i", "testsrc2=size=720x576:rate=50", "-t", "3",
         "-vf", "tinterlace=interleave_top,fieldorder=tff",
         "-c:v", "libx264", "-preset", "ultrafast", "-flags", "+ildct+ilme", "-pix_fmt",
         "yuv420p", c.interlaced)  # fmt: skip
    srt = d / "subs.srt"
    srt.write_text(SRT)
    _run("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
         "-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000", "-i", srt, "-t", "6",
         "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s", *x264, "-c:a", "aac",
         "-c:s", "srt",
         "-metadata:s:a:0", "language=eng", "-metadata:s:a:0", "title=English",
         "-metadata:s:a:1", "language=fra", "-metadata:s:a:1", "title=Français",
         "-metadata:s:s:0", "language=eng", c.multi)  # fmt: skip
    _run("-f", "lavfi", "-i", "sine=frequency=440", "-t", "3", "-c:a", "libmp3lame", c.mp3)
    _run("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3", "-c:a",
         "ac3", c.ac3)  # fmt: skip
    _run("-f", "lavfi", "-i", "testsrc2=size=800x600", "-frames:v", "1", c.png)
    c.corrupt.write_bytes(c.faststart.read_bytes()[:3000] + os.urandom(200_000))
    c.text.write_text("Not a video, just notes.\n" * 100)
    return c


@dataclass
class Stream:
    """The server under test, and how its jobs run."""

    mode: str
    server: Server
    worker: Worker | None
    accounts: list[Account] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def account(self) -> Account:
        acc = make_account(self.server)
        self.accounts.append(acc)
        return acc

    def upload(self, acc: Account, path: Path, name: str | None = None) -> str:
        r = acc.client.put(
            f"/api/v1/files/{name or path.name}", content=path.read_bytes(),
            headers={"Accept": "application/json"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        return str(r.json()["code"])

    def media(self, acc: Account, code: str) -> dict[str, Any]:
        r = acc.client.get(f"/api/v1/files/{code}/media")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wait(
        self, acc: Account, code: str, until: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 120,
    ) -> dict[str, Any]:  # fmt: skip
        """Poll the media API until `until(view)` (default: done, failed or not media)."""
        done = until or (lambda v: v["state"] in ("done", "failed", "not_media"))
        deadline = time.monotonic() + timeout
        while True:
            view = self.media(acc, code)
            if done(view):
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"media of {code} still {view['state']}: {view}")
            time.sleep(0.2)


JOB_ENV = {
    "PARTAGE_MEDIA_SWEEP_INTERVAL": "0.5",
    "PARTAGE_MEDIA_STALE_AFTER": "6",
    "PARTAGE_MEDIA_RETRY_DELAY": "0",
}


def start_stream(mode: str, data_dir: Path, **env: str) -> Stream:
    full = {**JOB_ENV, **env}
    worker = None
    if mode == "redis":
        # A queue of this server's own: test runs sharing the Redis server never
        # take each other's jobs.
        full["PARTAGE_QUEUE_URL"] = REDIS_URL
        full["PARTAGE_QUEUE_NAME"] = f"partage-test-{secrets.token_hex(6)}"
        redis.Redis.from_url(REDIS_URL).ping()
    server = Server(data_dir, env=full).start()
    if mode == "redis":
        worker = Worker(server).start()
    return Stream(mode, server, worker)


# The job modes to run; CI's scaled pass keeps only `redis` (its embedded mode ran in the
# first pass, on the same code).
MODES = os.environ.get("PARTAGE_TEST_STREAM_MODES", "embedded,redis").split(",")


@pytest.fixture(scope="session", params=MODES)
def stream(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stream]:
    """One server per job mode for the session; tests isolate with their own accounts."""
    st = start_stream(request.param, tmp_path_factory.mktemp(request.param) / "data")
    yield st
    if st.worker:
        st.worker.stop()
    st.server.stop()


def ffprobe(target: str | Path, *args: str) -> dict[str, Any]:
    """Real ffprobe (Debian's) on a file or URL; JSON out."""
    import json

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(target)],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def get(url: str, **kw: Any) -> httpx.Response:
    return httpx.get(url, timeout=30, **kw)
