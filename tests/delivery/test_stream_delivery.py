"""HLS streams follow PARTAGE_DELIVERY like downloads: with `x-accel` nginx sends the
segments and posters the app authorised; with `redirect` the object store does. The
playlists always come from the app, so every segment request is checked there."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Account, make_account
from tests.delivery.conftest import START_TIMEOUT, Edge, upload
from tests.s3server import s3_server
from tests.serverproc import Server
from tests.streaming.conftest import _run


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    _run("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=5",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=5",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path)  # fmt: skip
    return path


def _ready(client: httpx.Client, code: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while True:
        view = dict(client.get(f"/api/v1/files/{code}/media").json())
        if view["state"] in ("done", "failed") or time.monotonic() > deadline:
            assert view["state"] == "done", view
            return view
        time.sleep(0.5)


def _segment_paths(client: httpx.Client, master_path: str) -> tuple[str, str]:
    """(variant playlist path, first segment path) under `master_path`'s directory."""
    master = client.get(master_path)
    assert master.status_code == 200, master.text
    base = master_path.rsplit("/", 1)[0]
    variant = next(ln for ln in master.text.splitlines() if ln and not ln.startswith("#"))
    listing = client.get(f"{base}/{variant}")
    assert listing.status_code == 200 and "#EXTINF" in listing.text
    segment = next(ln for ln in listing.text.splitlines() if ln.endswith(".m4s"))
    return f"{base}/{variant}", f"{base}/{variant.rsplit('/', 1)[0]}/{segment}"


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_x_accel_streams_segments_through_nginx(edge: Edge, clip: Path) -> None:
    acc, client = edge.account()
    made = upload(client, "clip.mp4", clip.read_bytes())
    view = _ready(client, made["code"])
    master = _path(view["hls_url"])
    playlist, segment = _segment_paths(client, master)

    # Through nginx: the segment's bytes, as the app labels them.
    got = client.get(segment)
    assert got.status_code == 200 and len(got.content) > 1000
    assert got.headers["content-type"] == "video/iso.segment"
    sha = made["sha256"]
    rel = segment.split("/hls/", 1)[1]
    on_disk = edge.nodes[0].data_dir / "media" / sha[:2] / sha / "hls" / rel
    assert got.content == on_disk.read_bytes()

    # Straight to a node: the app authorised it and named the file; it sent no byte.
    with httpx.Client(base_url=edge.nodes[1].url, timeout=30) as node:
        handed = node.get(segment)
        assert handed.status_code == 200 and handed.content == b""
        assert handed.headers["x-accel-redirect"] == f"/_partage/media/{sha[:2]}/{sha}/hls/{rel}"
        listing = node.get(playlist)  # playlists are the app's own answer
        assert "x-accel-redirect" not in listing.headers and "#EXTINF" in listing.text

    # Nobody reaches the internal location from outside.
    assert client.get(f"/_partage/media/{sha[:2]}/{sha}/hls/{rel}").status_code == 404

    # A file made private stops its stream at once, before any hand-off.
    assert client.patch(f"/api/v1/files/{made['code']}", json={"public": False}).status_code == 200
    with httpx.Client(base_url=edge.url, timeout=30) as visitor:
        assert visitor.get(segment).status_code in (403, 404)


@pytest.fixture(scope="module")
def redirect_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s3 = s3_server()
    srv = Server(tmp_path_factory.mktemp("stream-redirect") / "data",
                 env={"PARTAGE_DELIVERY": "redirect"},
                 storage_env=s3.env(s3.new_bucket())).start(START_TIMEOUT)  # fmt: skip
    yield srv
    srv.stop()


def test_redirect_sends_segments_to_the_object_store(redirect_node: Server, clip: Path) -> None:
    acc: Account = make_account(redirect_node)
    made = upload(acc.client, "clip.mp4", clip.read_bytes())
    view = _ready(acc.client, made["code"])
    with httpx.Client(base_url=redirect_node.url, timeout=30) as visitor:
        playlist, segment = _segment_paths(visitor, _path(view["hls_url"]))
        r = visitor.get(segment)
        assert r.status_code == 302 and r.headers["cache-control"] == "no-store"
        location = r.headers["location"]
        assert location.startswith(s3_server().endpoint) and "Signature" in location
        body = httpx.get(location, timeout=30)
        assert body.status_code == 200 and len(body.content) > 1000
        assert visitor.get(playlist).status_code == 200  # not redirected
        poster = visitor.get(_path(view["poster_url"])) if view.get("poster_url") else None
        assert poster is None or poster.status_code == 302
        # A deleted file is refused by the app; nothing is redirected.
        assert acc.client.delete(f"/api/v1/files/{made['code']}").status_code == 204
        assert visitor.get(segment).status_code == 410
