"""HLS streams (`/m/…`) behind deploy/nginx.conf.

- `x-accel`: partage checks every segment request and nginx sends the file from
  `/_partage/media/`; the master playlist (rendered per request) comes from partage.
- `app`: nginx's cache keeps what partage's Cache-Control allows (segments, init
  segments, posters of public videos) and never playlists nor anything private.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import imageio_ffmpeg
import pytest

from tests.delivery.conftest import Edge, start_edge, stop_edge, upload


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error",
         "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
         "-c:a", "aac", "-movflags", "+faststart", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path.read_bytes()


@pytest.fixture(scope="module")
def app_edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """The same nginx config in front of one node that sends the bytes itself."""
    e = start_edge(tmp_path_factory.mktemp("app-edge"), "app", nodes=1)
    yield e
    stop_edge(e)


def _uris(playlist: str) -> list[str]:
    return [ln for ln in playlist.splitlines() if ln and not ln.startswith("#")]


def _map_uri(playlist: str) -> str:
    (line,) = [ln for ln in playlist.splitlines() if ln.startswith("#EXT-X-MAP:")]
    return line.split('URI="', 1)[1].split('"', 1)[0]


@pytest.fixture
def video(request: pytest.FixtureRequest, clip: bytes) -> Iterator[tuple[Edge, dict, dict]]:
    """A processed public video uploaded through nginx: (edge, the owner's media view,
    a visitor's media view)."""
    edge: Edge = request.getfixturevalue(request.param)
    _, client = edge.account()
    made = upload(client, "clip.mp4", clip)
    deadline = time.monotonic() + 240
    while True:
        owner_view = client.get(f"/api/v1/files/{made['code']}/media").json()
        if owner_view["state"] in ("done", "failed", "not_media"):
            break
        assert time.monotonic() < deadline, owner_view
        time.sleep(0.3)
    assert owner_view["state"] == "done", owner_view
    view = httpx.get(f"{edge.url}/api/v1/files/{made['code']}/media").json()
    assert view["hls_url"].startswith(edge.url + "/m/")
    yield edge, owner_view, view


def _files(master_url: str) -> tuple[str, str, str]:
    """(variant playlist, its init segment, its first segment) URLs."""
    variant_url = urljoin(master_url, _uris(httpx.get(master_url).text)[0])
    variant = httpx.get(variant_url).text
    return (
        variant_url,
        urljoin(variant_url, _map_uri(variant)),
        urljoin(variant_url, _uris(variant)[0]),
    )


def _served(edge: Edge, url: str) -> list[str]:
    """What nginx logged as served for each request of `url` (path and query)."""
    parts = urlsplit(url)
    lines = edge.nginx.log_lines(f" {parts.path} ")
    return [ln.split(" served=", 1)[1].split(" ", 1)[0] for ln in lines]


@pytest.mark.parametrize("video", ["edge"], indirect=True)
def test_x_accel_streams_come_from_nginx(video: tuple[Edge, dict, Any]) -> None:
    edge, _, view = video
    master_url = view["hls_url"]
    variant_url, init_url, segment_url = _files(master_url)
    # The master playlist is rendered per request: partage (variant playlists are files
    # and may be handed to nginx like segments).
    served = _served(edge, master_url)
    assert served and all(s.startswith("/m/") for s in served), served
    assert httpx.get(variant_url).text.startswith("#EXTM3U")
    bodies = {}
    for url in (init_url, segment_url, view["poster"]):
        r = httpx.get(url)
        bodies[url] = r.content
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable", url
        assert r.headers["access-control-allow-origin"] == "*"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "x-accel-redirect" not in r.headers
        served = _served(edge, url)[-1]
        rel = urlsplit(url).path.split("/", 3)[3]  # after /m/<token>/
        assert served.startswith("/_partage/media/") and served.endswith("/" + rel), served
        blob_dir = served.removeprefix("/_partage/media/").removesuffix("/" + rel)
        on_disk = edge.nodes[0].data_dir / "media" / blob_dir / rel
        assert r.content == on_disk.read_bytes()
    part = httpx.get(segment_url, headers={"Range": "bytes=10-19"})  # nginx's Range
    assert part.status_code == 206 and part.content == bodies[segment_url][10:20]
    assert _served(edge, segment_url)[-1].startswith("/_partage/media/")


@pytest.mark.parametrize("video", ["app_edge"], indirect=True)
def test_app_mode_segments_are_cached_playlists_are_not(video: tuple[Edge, dict, dict]) -> None:
    edge, owner_view, view = video
    master_url = view["hls_url"]
    for _ in range(2):  # playlists always come from partage
        master = httpx.get(master_url)
        assert master.status_code == 200 and "x-cache-status" not in master.headers
    variant_url, init_url, segment_url = _files(master_url)
    assert "x-cache-status" not in httpx.get(variant_url).headers

    bodies = {}
    for url in (init_url, segment_url, view["poster"]):
        first, again = httpx.get(url), httpx.get(url)
        bodies[url] = first.content
        assert first.status_code == again.status_code == 200, url
        assert first.headers["cache-control"].startswith("public"), url
        assert (first.headers["x-cache-status"], again.headers["x-cache-status"]) == (
            "MISS", "HIT"), url  # fmt: skip
        assert again.content == first.content
    part = httpx.get(segment_url, headers={"Range": "bytes=0-99"})
    assert (part.status_code, part.headers["x-cache-status"]) == (206, "HIT")
    assert part.content == bodies[segment_url][:100]

    # The owner's stream URLs carry a token of their own and are `private`: nginx never
    # keeps them.
    owner_master = owner_view["hls_url"]
    assert owner_master != master_url
    _, _, segment = _files(owner_master)
    for _ in range(2):
        r = httpx.get(segment)
        assert r.status_code == 200 and r.headers["cache-control"].startswith("private")
        assert r.headers["x-cache-status"] == "MISS"
        assert r.content == bodies[segment_url]
