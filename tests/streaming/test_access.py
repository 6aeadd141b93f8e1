"""Who may watch what: the media API, stream tokens (`/m/<token>/…`), view counting,
playlists, subtitles, the player pages and the admin API, on a real server in both job
modes. Identical uploads share one blob: after a clip's first upload, the next are ready."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from sqlalchemy import update

from partage.files.models import File, FileStatus
from partage.media.service import stream_signer
from tests.conftest import Account, db_context
from tests.streaming.conftest import Clips, Stream, make_admin

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}
IMMUTABLE = "public, max-age=31536000, immutable"
_URI_ATTR = re.compile(r'URI="([^"]+)"')
_PLAYER = re.compile(r'<script type="application/json" id="player-data">(.*?)</script>', re.S)


@pytest.fixture
def anon(stream: Stream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stream.url, timeout=30) as client:
        yield client


def upload(acc: Account, path: Path) -> dict[str, Any]:
    name = f"{secrets.token_hex(3)}-{path.name}"
    r = acc.client.put(f"/api/v1/files/{name}", content=path.read_bytes(), headers=JSON)
    assert r.status_code == 201, r.text
    return dict(r.json())


def patch(acc: Account, code: str, **fields: Any) -> dict[str, Any]:
    r = acc.client.patch(f"/api/v1/files/{code}", json=fields)
    assert r.status_code == 200, r.text
    return dict(r.json())


def video(stream: Stream, acc: Account, path: Path, **link: Any) -> tuple[str, dict[str, Any]]:
    """Upload, wait for processing, then set link options; the owner's fresh view."""
    code = upload(acc, path)["code"]
    assert stream.wait(acc, code)["state"] == "done"
    if link:
        patch(acc, code, **link)
    return code, stream.media(acc, code)


def err(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"]
    return dict(body)


def claims(url: str) -> dict[str, Any]:
    body = url.split("/m/", 1)[1].split("/", 1)[0].split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def uris(playlist: str) -> list[str]:
    found: list[str] = []
    for line in map(str.strip, playlist.splitlines()):
        if line.startswith("#"):
            found += _URI_ATTR.findall(line)
        elif line:
            found.append(line)
    return found


def segment(hls_url: str) -> str:
    """The URL of the first segment of the first variant."""
    variant = urljoin(hls_url, uris(httpx.get(hls_url).text)[-1])
    return urljoin(variant, [u for u in uris(httpx.get(variant).text) if u.endswith(".m4s")][0])


def downloads(acc: Account, code: str) -> int:
    return int(acc.client.get(f"/api/v1/files/{code}").json()["downloads"])


def sign(stream: Stream, payload: dict[str, Any]) -> str:
    """A stream token signed with the server's own key."""
    ctx = db_context(stream.server)
    try:
        return stream_signer(ctx).sign(payload)
    finally:
        ctx.close()


def player_data(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    found = _PLAYER.search(r.text)
    assert found, "no player-data block"
    return dict(json.loads(found.group(1)))


# -- the media API --------------------------------------------------------------------------


def test_media_api_by_link_rules(stream: Stream, clips: Clips, anon: httpx.Client) -> None:
    alice, bob = stream.account(), stream.account()
    code, view = video(stream, alice, clips.faststart)
    assert (view["kind"], view["state"], view["playable"], view["complete"]) == (
        "video", "done", True, True)  # fmt: skip
    assert [(r["name"], r["width"], r["height"]) for r in view["rungs"]] == [
        ("360p", 640, 360), ("480p", 854, 480)]  # fmt: skip
    assert all(isinstance(r["bitrate"], int) and r["bitrate"] > 100_000 for r in view["rungs"])
    assert view["rungs"][0]["bitrate"] < view["rungs"][1]["bitrate"]
    for key in ("poster", "storyboard", "hls_url", "direct_url", "status_url"):
        assert view[key] and view[key].startswith(stream.url), key
    poster = httpx.get(view["poster"])
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert poster.content[:3] == b"\xff\xd8\xff"
    assert httpx.get(view["hls_url"]).text.startswith("#EXTM3U")
    assert httpx.get(view["direct_url"]).content == clips.faststart.read_bytes()
    status = httpx.get(view["status_url"])
    assert status.status_code == 200 and status.json()["state"] == "done"

    public = anon.get(f"/api/v1/files/{code}/media")
    assert public.status_code == 200 and public.json()["hls_url"]
    assert public.json()["rungs"] == view["rungs"]

    private, _ = video(stream, alice, clips.faststart, public=False)
    err(bob.client.get(f"/api/v1/files/{private}/media"), 404, "not_found")
    err(anon.get(f"/api/v1/files/{private}/media"), 404, "not_found")
    err(anon.post(f"/api/v1/files/{private}/media", json={"password": "x"}), 404, "not_found")

    locked, _ = video(stream, alice, clips.faststart, password="open-sesame-1")
    err(anon.get(f"/api/v1/files/{locked}/media"), 401, "password_required")
    err(anon.post(f"/api/v1/files/{locked}/media", json={"password": "nope"}), 403,
        "wrong_password")  # fmt: skip
    unlocked = anon.post(f"/api/v1/files/{locked}/media", json={"password": "open-sesame-1"})
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["state"] == "done" and unlocked.json()["hls_url"]
    assert httpx.get(unlocked.json()["hls_url"]).status_code == 200
    assert stream.media(alice, locked)["hls_url"]  # the owner needs no password

    text = upload(alice, clips.text)["code"]
    notes = stream.wait(alice, text)
    assert (notes["state"], notes["hls_url"], notes["rungs"]) == ("not_media", None, [])
    assert anon.get(f"/api/v1/files/{text}/media").json()["state"] == "not_media"
    err(anon.get("/api/v1/files/zzzzzzzzzzzz/media"), 404, "not_found")


# -- stream tokens, view counting, playlists ------------------------------------------------


def test_tokens_cacheable_only_when_public(
    stream: Stream, clips: Clips, anon: httpx.Client
) -> None:
    alice = stream.account()
    code, owner_view = video(stream, alice, clips.faststart)
    first = anon.get(f"/api/v1/files/{code}/media").json()
    again = anon.get(f"/api/v1/files/{code}/media").json()
    assert first["hls_url"] == again["hls_url"] and first["poster"] == again["poster"]
    assert "e" not in claims(first["hls_url"]) and "o" not in claims(first["hls_url"])
    seg = httpx.get(segment(first["hls_url"]))
    assert seg.status_code == 200 and seg.headers["cache-control"] == IMMUTABLE
    assert httpx.get(first["poster"]).headers["cache-control"] == IMMUTABLE

    assert claims(owner_view["hls_url"])["e"] > time.time() + 60
    owned = httpx.get(segment(owner_view["hls_url"]))
    assert owned.status_code == 200 and owned.headers["cache-control"].startswith("private,")

    locked, _ = video(stream, alice, clips.faststart, password="pw-for-tokens")
    unlocked = anon.post(f"/api/v1/files/{locked}/media", json={"password": "pw-for-tokens"})
    assert claims(unlocked.json()["hls_url"])["e"] > time.time() + 60
    seg = httpx.get(segment(unlocked.json()["hls_url"]))
    assert seg.status_code == 200 and seg.headers["cache-control"].startswith("private,")

    url = first["hls_url"]
    token = url.split("/m/")[1].split("/")[0]
    body, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    forged = base64.urlsafe_b64encode(
        json.dumps({"c": code, "v": claims(url)["v"], "o": 1}).encode()
    ).decode().rstrip("=")  # fmt: skip
    for bad in (f"{body}.{flipped}", f"{forged}.{mac}", body, "x.y", token[:-1]):
        err(httpx.get(url.replace(token, bad)), 404, "not_found")
    expired = sign(stream, {"c": code, "v": claims(url)["v"], "e": 1000})
    err(httpx.get(url.replace(token, expired)), 410, "link_expired")


def test_status_does_not_extend_an_expiring_token(stream: Stream, clips: Clips) -> None:
    alice = stream.account()
    code, view = video(stream, alice, clips.faststart)
    expires = int(time.time()) + 120
    short = sign(stream, {"c": code, "v": claims(view["hls_url"])["v"], "o": 1, "e": expires})
    status = httpx.get(f"{stream.url}/m/{short}/status")
    assert status.status_code == 200, status.text
    assert claims(status.json()["hls_url"])["e"] <= expires


def test_link_changes_revoke_streams(stream: Stream, clips: Clips, anon: httpx.Client) -> None:
    alice = stream.account()
    code, old_owner = video(stream, alice, clips.faststart)
    old_anon = anon.get(f"/api/v1/files/{code}/media").json()
    old_seg = segment(old_anon["hls_url"])
    for url in (old_owner["hls_url"], old_anon["hls_url"], old_seg):
        assert httpx.get(url).status_code == 200

    patch(alice, code, password="new-password-1")
    for url in (old_owner["hls_url"], old_anon["hls_url"], old_seg, old_anon["poster"]):
        err(httpx.get(url), 403, "link_revoked")
    assert httpx.get(stream.media(alice, code)["hls_url"]).status_code == 200
    unlocked = anon.post(f"/api/v1/files/{code}/media", json={"password": "new-password-1"})
    unlocked_url = unlocked.json()["hls_url"]
    assert httpx.get(unlocked_url).status_code == 200

    patch(alice, code, password=None, public=False)
    err(httpx.get(unlocked_url), 403, "link_revoked")
    err(anon.get(f"/api/v1/files/{code}/media"), 404, "not_found")
    fresh = stream.media(alice, code)
    fresh_seg = segment(fresh["hls_url"])
    assert httpx.get(fresh_seg).status_code == 200

    assert alice.client.delete(f"/api/v1/files/{code}").status_code == 204
    for url in (fresh["hls_url"], fresh_seg, fresh["poster"], fresh["status_url"]):
        err(httpx.get(url), 410, "file_deleted")


def test_disabled_file_is_451(stream: Stream, clips: Clips, anon: httpx.Client) -> None:
    alice = stream.account()
    code, owner_view = video(stream, alice, clips.faststart)
    public = anon.get(f"/api/v1/files/{code}/media").json()
    urls = [owner_view["hls_url"], public["hls_url"], segment(public["hls_url"]),
            segment(owner_view["hls_url"]), public["poster"], owner_view["poster"]]  # fmt: skip
    assert all(httpx.get(u).status_code == 200 for u in urls)
    ctx = db_context(stream.server)
    try:
        with ctx.db.session() as s:
            s.execute(update(File).where(File.code == code).values(status=FileStatus.disabled))
    finally:
        ctx.close()
    for url in urls:
        err(httpx.get(url), 451, "unavailable_for_legal_reasons")
    err(alice.client.get(f"/api/v1/files/{code}/media"), 451, "unavailable_for_legal_reasons")
    err(anon.get(f"/api/v1/files/{code}/media"), 451, "unavailable_for_legal_reasons")
    assert anon.get(f"/v/{code}", headers=HTML).status_code == 451


def test_paths_outside_the_outputs_are_404(stream: Stream, clips: Clips) -> None:
    alice = stream.account()
    _, view = video(stream, alice, clips.faststart)
    other = upload(alice, clips.plain)
    assert stream.wait(alice, other["code"])["state"] == "done"
    sha = other["sha256"]
    neighbour = stream.server.data_dir / "media" / sha[:2] / sha / "poster.jpg"
    # What a traversal would reach (on local disk; in an object store there is no path).
    assert neighbour.is_file() or stream.server.storage_env
    root = view["hls_url"].removesuffix("hls/master.m3u8")
    target = root.split(stream.url, 1)[1]
    attempts = [
        f"../../{sha[:2]}/{sha}/poster.jpg", f"hls/../../../{sha[:2]}/{sha}/poster.jpg",
        f"%2e%2e/%2e%2e/{sha[:2]}/{sha}/poster.jpg", f"..%2f..%2f{sha[:2]}%2f{sha}%2fposter.jpg",
        f"/{neighbour}", f"%2F{str(neighbour)[1:]}", "../../../../../../etc/passwd",
        "hls/360p/../../../secret.key", "hls/360p/seg_000.m4s/../../../../../secret.key",
        "source", "hls/360p/", "hls/", "subs/999999999.vtt",
    ]  # fmt: skip
    with httpx.Client(timeout=30) as client:
        for path in attempts:
            req = client.build_request("GET", root)
            req.extensions["target"] = (target + path).encode()
            r = client.send(req)
            assert r.status_code == 404, (path, r.status_code, r.content[:200])


def test_master_starts_count_against_the_cap(
    stream: Stream, clips: Clips, anon: httpx.Client
) -> None:
    alice = stream.account()
    code, owner_view = video(stream, alice, clips.faststart, max_downloads=2)
    for _ in range(3):
        assert httpx.get(owner_view["hls_url"]).status_code == 200
    assert downloads(alice, code) == 0
    hls = anon.get(f"/api/v1/files/{code}/media").json()["hls_url"]
    assert httpx.get(hls).status_code == 200
    seg = segment(hls)  # fetches the master again: the second start
    assert downloads(alice, code) == 2
    err(httpx.get(hls), 410, "download_limit_reached")
    assert httpx.get(seg).status_code == 200  # a view already started goes on
    err(anon.get(f"/api/v1/files/{code}/media"), 410, "download_limit_reached")
    assert httpx.get(stream.media(alice, code)["hls_url"]).status_code == 200
    assert downloads(alice, code) == 2


def test_remuxed_direct_file_counts_and_ranges(
    stream: Stream, clips: Clips, anon: httpx.Client
) -> None:
    alice = stream.account()
    code, owner_view = video(stream, alice, clips.plain, max_downloads=2)
    assert "/m/" in owner_view["direct_url"] and owner_view["direct_url"].endswith("/direct.mp4")
    whole = httpx.get(owner_view["direct_url"])
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    data, size = whole.content, len(whole.content)
    assert data[4:8] == b"ftyp" and data.index(b"moov") < data.index(b"mdat")  # faststart
    assert downloads(alice, code) == 0

    direct = anon.get(f"/api/v1/files/{code}/media").json()["direct_url"]
    assert "/m/" in direct and direct.endswith("/direct.mp4")
    r = httpx.get(direct, headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and r.headers["content-range"] == f"bytes 0-99/{size}"
    assert r.content == data[:100]
    r = httpx.get(direct, headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.headers["content-range"] == f"bytes 100-199/{size}"
    assert r.content == data[100:200]
    assert downloads(alice, code) == 1
    assert httpx.get(direct).content == data
    assert downloads(alice, code) == 2
    err(httpx.get(direct, headers={"Range": "bytes=0-"}), 410, "download_limit_reached")
    err(httpx.get(direct), 410, "download_limit_reached")
    r = httpx.get(direct, headers={"Range": f"bytes={size - 10}-"})  # not a start
    assert r.status_code == 206 and r.content == data[-10:]
    assert downloads(alice, code) == 2


def test_suffix_range_from_the_first_byte_counts(
    stream: Stream, clips: Clips, anon: httpx.Client
) -> None:
    alice = stream.account()
    code, _ = video(stream, alice, clips.plain, max_downloads=1)
    direct = anon.get(f"/api/v1/files/{code}/media").json()["direct_url"]
    r = httpx.get(direct, headers={"Range": "bytes=-1000000000"})
    assert r.status_code == 206 and r.headers["content-range"].startswith("bytes 0-")
    assert downloads(alice, code) == 1


def test_every_playlist_uri_resolves(stream: Stream, clips: Clips, anon: httpx.Client) -> None:
    alice = stream.account()
    code, _ = video(stream, alice, clips.faststart)
    view = anon.get(f"/api/v1/files/{code}/media").json()
    assert view["complete"] is True
    master = httpx.get(view["hls_url"])
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    checked: list[httpx.Response] = [master]
    children = uris(master.text)
    assert sum(u.endswith(".m3u8") for u in children) == 3  # two rungs and the audio
    for child in children:
        url = urljoin(view["hls_url"], child)
        playlist = httpx.get(url)
        assert playlist.status_code == 200, url
        assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert playlist.headers["cache-control"] == "public, max-age=3600"
        assert playlist.text.rstrip().endswith("#EXT-X-ENDLIST"), url
        parts = uris(playlist.text)
        assert any(p.endswith(".mp4") for p in parts) and any(p.endswith(".m4s") for p in parts)
        for part in parts:
            r = httpx.get(urljoin(url, part))
            assert r.status_code == 200 and r.content, (url, part)
            assert r.headers["cache-control"] == IMMUTABLE
            checked.append(r)
        checked.append(playlist)
    board = httpx.get(view["storyboard"])
    images = {line.split("#")[0] for line in board.text.splitlines() if "storyboard.jpg" in line}
    assert images, board.text
    for image in images:
        r = httpx.get(urljoin(view["storyboard"], image))
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        checked.append(r)
    checked += [board, httpx.get(view["poster"]), httpx.get(view["poster_small"])]
    for r in checked:
        assert r.status_code == 200, r.url
        assert r.headers["access-control-allow-origin"] == "*", r.url
        assert r.headers["x-content-type-options"] == "nosniff", r.url


# -- subtitles ------------------------------------------------------------------------------

FRENCH_SRT = (
    "1\r\n00:00:00,500 --> 00:00:02,500\r\nDéjà vu\r\n\r\n"
    "2\r\n00:00:03,000 --> 00:00:05,000\r\nÇa s'est très bien passé, garçon.\r\n"
).encode("cp1252")


def add_subtitle(acc: Account, code: str, data: bytes, name: str = "deja.srt") -> httpx.Response:
    return acc.client.post(
        f"/api/v1/files/{code}/subtitles", files={"file": (name, data, "application/x-subrip")},
        data={"language": "fr", "label": "Français"},
    )  # fmt: skip


def test_subtitles_api(stream: Stream, clips: Clips) -> None:
    alice, bob = stream.account(), stream.account()
    code, _ = video(stream, alice, clips.faststart)
    with pytest.raises(UnicodeDecodeError):
        FRENCH_SRT.decode("utf-8")
    r = add_subtitle(alice, code, FRENCH_SRT)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert (sub["label"], sub["language"]) == ("Français", "fr") and isinstance(sub["id"], int)
    vtt = httpx.get(sub["url"])
    assert vtt.status_code == 200 and vtt.headers["content-type"] == "text/vtt; charset=utf-8"
    text = vtt.content.decode("utf-8")
    assert text.startswith("WEBVTT") and "Déjà vu" in text and "garçon" in text

    view = stream.media(alice, code)
    assert [s["id"] for s in view["subtitles"]] == [sub["id"]]
    master = httpx.get(view["hls_url"]).text
    rendition = next(line for line in master.splitlines() if "TYPE=SUBTITLES" in line)
    assert 'LANGUAGE="fr"' in rendition and 'NAME="Français"' in rendition
    playlist_url = urljoin(view["hls_url"], _URI_ATTR.findall(rendition)[0])
    playlist = httpx.get(playlist_url)
    assert playlist.status_code == 200 and playlist.text.rstrip().endswith("#EXT-X-ENDLIST")
    cue = httpx.get(urljoin(playlist_url, uris(playlist.text)[-1]))
    assert cue.status_code == 200 and "Déjà vu" in cue.content.decode("utf-8")

    # Bob owns the same content (one shared blob), not Alice's track.
    twin, twin_view = video(stream, bob, clips.faststart)
    assert twin_view["subtitles"] == [] and "SUBTITLES" not in httpx.get(twin_view["hls_url"]).text
    twin_root = twin_view["hls_url"].removesuffix("hls/master.m3u8")
    for path in (f"subs/{sub['id']}.vtt", f"hls/subs/{sub['id']}.m3u8"):
        err(httpx.get(twin_root + path), 404, "not_found")
    err(add_subtitle(bob, code, FRENCH_SRT), 404, "not_found")
    err(bob.client.delete(f"/api/v1/files/{code}/subtitles/{sub['id']}"), 404, "not_found")
    err(bob.client.delete(f"/api/v1/files/{twin}/subtitles/{sub['id']}"), 404, "not_found")
    assert httpx.get(sub["url"]).status_code == 200

    for data, name, words in (
        (bytes(range(256)) * 16, "x.srt", "binary"), (b"", "empty.srt", "empty"),
        (b"   \n\n", "blank.srt", "empty"), (b"hello, just some words\n" * 20, "x.srt", "cues"),
    ):  # fmt: skip
        body = err(add_subtitle(alice, code, data, name), 422, "invalid_subtitle")
        assert words in body["message"] and "Traceback" not in body["message"], body
    big = b"1\n00:00:00,000 --> 00:00:01,000\nx\n\n" + b"y" * (5 * 1024 * 1024)
    err(add_subtitle(alice, code, big), 413, "file_too_large")
    assert len(stream.media(alice, code)["subtitles"]) == 1

    assert alice.client.delete(f"/api/v1/files/{code}/subtitles/{sub['id']}").status_code == 204
    err(httpx.get(sub["url"]), 404, "not_found")
    fresh = stream.media(alice, code)
    assert fresh["subtitles"] == [] and "SUBTITLES" not in httpx.get(fresh["hls_url"]).text
    err(alice.client.delete(f"/api/v1/files/{code}/subtitles/{sub['id']}"), 404, "not_found")

    text = upload(alice, clips.text)["code"]
    assert stream.wait(alice, text)["state"] == "not_media"
    err(add_subtitle(alice, text, FRENCH_SRT), 409, "not_a_video")


# -- pages ----------------------------------------------------------------------------------


def test_watch_and_embed_pages(stream: Stream, clips: Clips, anon: httpx.Client) -> None:
    alice, bob = stream.account(), stream.account()
    code, _ = video(stream, alice, clips.faststart)
    watch = anon.get(f"/v/{code}", headers=HTML)
    data = player_data(watch)
    assert data["code"] == code and data["state"] == "done"
    assert httpx.get(data["hls_url"]).status_code == 200
    assert watch.headers["content-security-policy"].endswith("; frame-ancestors 'self'")
    embed = anon.get(f"/embed/{code}", headers=HTML)
    assert player_data(embed)["hls_url"] == data["hls_url"]
    # The download page of a video leads to its watch page.
    assert f'href="/v/{code}"' in anon.get(f"/{code}", headers=HTML).text
    assert embed.headers["content-security-policy"].endswith("; frame-ancestors *")

    private, _ = video(stream, alice, clips.faststart, public=False)
    for client in (anon, bob.client):
        for page in ("v", "embed"):
            r = client.get(f"/{page}/{private}", headers=HTML)
            assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
            assert "player-data" not in r.text
    assert player_data(alice.client.get(f"/v/{private}", headers=HTML))["hls_url"]

    locked, _ = video(stream, alice, clips.faststart, password="page-password-1")
    for page in ("v", "embed"):
        form = anon.get(f"/{page}/{locked}", headers=HTML)
        assert form.status_code == 401 and 'name="password"' in form.text
        assert "player-data" not in form.text
        wrong = anon.post(f"/{page}/{locked}", data={"password": "not-it"}, headers=HTML)
        assert wrong.status_code == 403 and 'name="password"' in wrong.text
        right = anon.post(f"/{page}/{locked}", data={"password": "page-password-1"}, headers=HTML)
        assert httpx.get(player_data(right)["hls_url"]).status_code == 200

    text = upload(alice, clips.text)["code"]
    assert stream.wait(alice, text)["state"] == "not_media"
    r = anon.get(f"/v/{text}", headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == f"/{text}"
    assert "/v/" not in anon.get(f"/{text}", headers=HTML).text
    for path in ("/v/nope", "/v/zzzzzzzzzzzz", "/embed/ZZZZZZZZZZZZ", "/embed/zzzzzzzzzzzz"):
        assert anon.get(path, headers=HTML).status_code == 404, path


# -- administration -------------------------------------------------------------------------


def test_admin_media_api(stream: Stream, clips: Clips) -> None:
    alice = stream.account()
    code, view = video(stream, alice, clips.phone)
    for path in (f"/admin/media/{code}/retry", f"/admin/media/{code}/cancel"):
        err(alice.client.post("/api/v1" + path), 403, "forbidden")
    err(alice.client.get("/api/v1/admin/media"), 403, "forbidden")
    with make_admin(stream) as admin:
        err(admin.post(f"/api/v1/admin/media/{code}/cancel"), 409, "conflict")
        done = admin.get("/api/v1/admin/media", params={"state": "done"}).json()["items"]
        assert all(item["state"] == "done" for item in done)
        err(admin.post("/api/v1/admin/media/zzzzzzzzzzzz/retry"), 404, "not_found")

        r = admin.post(f"/api/v1/admin/media/{code}/retry")
        assert r.status_code == 200, r.text
        assert r.json()["attempts"] == 0 and r.json()["state"] in ("queued", "running")
        sha = alice.client.get(f"/api/v1/files/{code}").json()["sha256"]
        listed = admin.get("/api/v1/admin/media").json()["items"]
        assert any(item["sha256"] == sha for item in listed)
        again = stream.wait(alice, code)
        assert (again["state"], again["attempts"]) == ("done", 1), again
        assert [r["name"] for r in again["rungs"]] == [r["name"] for r in view["rungs"]]
        assert httpx.get(segment(again["hls_url"])).status_code == 200
        err(admin.post(f"/api/v1/admin/media/{code}/cancel"), 409, "conflict")
        done = admin.get("/api/v1/admin/media", params={"state": "done"}).json()["items"]
        assert all(item["state"] == "done" for item in done)
