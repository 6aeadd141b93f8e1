"""The direct-download path `/d/<token>/<name>` through a real server, with httpx and curl."""

from __future__ import annotations

import email.parser
import hashlib
import os
import subprocess
import threading
import time
from urllib.parse import unquote

import httpx
import pytest

from tests.files.conftest import server_rss

BODY = bytes(range(256)) * 4  # 1024 bytes, every byte value, position-dependent


@pytest.fixture
def dl(owner, maker):
    """A 1024-byte file and a visitor's signed link to it."""
    made = maker.file(owner, BODY, "data.bin")
    return made, maker.visitor_link(made.code)


def test_whole_file_and_headers(dl, anon):
    made, link = dl
    r = anon.get(link)
    assert r.status_code == 200
    assert r.content == BODY
    h = r.headers
    assert h["content-length"] == "1024"
    assert h["etag"] == f'"{made.sha256}"'
    assert h["accept-ranges"] == "bytes"
    assert h["x-content-type-options"] == "nosniff"
    assert h["content-security-policy"] == "default-src 'none'; sandbox"
    assert h["cache-control"] == "private"
    assert h["last-modified"].endswith(" GMT")
    assert h["content-disposition"].startswith('attachment; filename="data.bin"')


def test_head(dl, anon):
    _, link = dl
    r = anon.head(link)
    assert r.status_code == 200
    assert r.headers["content-length"] == "1024"
    assert r.content == b""
    r = anon.head(link, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206
    assert r.headers["content-range"] == "bytes 0-9/1024"
    assert r.content == b""


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("bytes=10-19", 10, 19),
        ("bytes=-10", 1014, 1023),  # suffix
        ("bytes=1000-", 1000, 1023),  # open-ended
        ("bytes=1020-5000", 1020, 1023),  # clamped to the end
        ("bytes=0-0", 0, 0),
        ("bytes=-5000", 0, 1023),  # suffix longer than the file
        ("bytes=0-9,5-14", 0, 14),  # overlapping ranges are merged
        ("bytes=5000-,0-1", 0, 1),  # the unsatisfiable part is dropped
    ],
)
def test_single_range(dl, anon, spec, start, end):
    _, link = dl
    r = anon.get(link, headers={"Range": spec})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {start}-{end}/1024"
    assert r.headers["content-length"] == str(end - start + 1)
    assert r.content == BODY[start : end + 1]


def _parts(response: httpx.Response) -> list[tuple[str, bytes]]:
    ctype = response.headers["content-type"]
    raw = f"Content-Type: {ctype}\r\n\r\n".encode() + response.content
    msg = email.parser.BytesParser().parsebytes(raw)
    assert msg.is_multipart()
    return [(p["Content-Range"], p.get_payload(decode=True)) for p in msg.get_payload()]


def test_multiple_ranges(dl, anon):
    _, link = dl
    r = anon.get(link, headers={"Range": "bytes=0-4, 100-109, -3"})
    assert r.status_code == 206
    assert r.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert int(r.headers["content-length"]) == len(r.content)
    assert _parts(r) == [
        ("bytes 0-4/1024", BODY[0:5]),
        ("bytes 100-109/1024", BODY[100:110]),
        ("bytes 1021-1023/1024", BODY[1021:]),
    ]


def test_unsatisfiable_range_is_416(dl, anon):
    _, link = dl
    r = anon.get(link, headers={"Range": "bytes=1024-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == "bytes */1024"
    assert r.json()["error"] == "range_not_satisfiable"
    r = anon.get(link, headers={"Range": "bytes=2000-3000, 5000-"})
    assert r.status_code == 416


@pytest.mark.parametrize("spec", ["bytes=abc", "items=0-1", "bytes=5-1", "bytes=", "bytes=1-2-3"])
def test_malformed_range_is_ignored(dl, anon, spec):
    _, link = dl
    r = anon.get(link, headers={"Range": spec})
    assert r.status_code == 200
    assert r.content == BODY


def test_if_range(dl, anon):
    made, link = dl
    etag = f'"{made.sha256}"'
    last_modified = anon.head(link).headers["last-modified"]
    r = anon.get(link, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert r.status_code == 206 and r.content == BODY[:10]
    r = anon.get(link, headers={"Range": "bytes=0-9", "If-Range": last_modified})
    assert r.status_code == 206
    # A different validator: the client's copy is stale, so the whole file comes back.
    for stale in ['"0000"', f"W/{etag}", "Mon, 01 Jan 2001 00:00:00 GMT"]:
        r = anon.get(link, headers={"Range": "bytes=0-9", "If-Range": stale})
        assert r.status_code == 200, stale
        assert r.content == BODY


def test_etag_and_conditional_get(dl, anon):
    made, link = dl
    etag = f'"{made.sha256}"'
    last_modified = anon.head(link).headers["last-modified"]
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"nope", W/{etag}'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": last_modified},
        {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
    ):
        r = anon.get(link, headers=headers)
        assert r.status_code == 304, headers
        assert r.content == b""
        assert r.headers["etag"] == etag
    for headers in (
        {"If-None-Match": '"other"'},
        {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
        # If-None-Match wins over If-Modified-Since
        {"If-None-Match": '"other"', "If-Modified-Since": last_modified},
    ):
        r = anon.get(link, headers=headers)
        assert r.status_code == 200, headers
        assert r.content == BODY
    assert anon.get(link, headers={"If-Match": '"other"'}).status_code == 412
    assert anon.get(link, headers={"If-Match": etag}).status_code == 200


def test_content_disposition_unicode(owner, maker, anon, tmp_path):
    name = 'résumé "final" 📄.txt'
    made = maker.file(owner, b"unicode name\n", name)
    link = maker.visitor_link(made.code)
    cd = anon.get(link).headers["content-disposition"]
    assert cd.startswith('attachment; filename="')
    ascii_part = cd.split('filename="')[1].split('"; ')[0]
    assert ascii_part.isascii() and '"' not in ascii_part and ascii_part.endswith(".txt")
    star = cd.split("filename*=")[1]
    assert star.startswith("UTF-8''")
    assert unquote(star[len("UTF-8''") :], encoding="utf-8") == name

    out = tmp_path / "curl"
    out.mkdir()
    p = subprocess.run(["curl", "-sS", "-f", "-O", "-J", link], cwd=out, capture_output=True)
    assert p.returncode == 0, p.stderr
    saved = list(out.iterdir())
    assert len(saved) == 1
    # curl's -J uses the plain filename parameter: the ASCII fallback.
    assert saved[0].name in (name, ascii_part)
    assert saved[0].read_bytes() == b"unicode name\n"


def test_html_upload_is_sandboxed(owner, maker, anon):
    made = maker.file(owner, b"<!doctype html><html><script>alert(1)</script></html>", "x.html")
    r = anon.get(maker.visitor_link(made.code))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert r.headers["content-disposition"].startswith("attachment")


def test_empty_file(owner, maker, anon):
    made = maker.file(owner, b"", "empty.txt")
    link = maker.visitor_link(made.code)
    r = anon.get(link)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == "0"
    assert anon.get(link, headers={"Range": "bytes=0-"}).status_code == 416


def test_other_methods_are_405(dl, anon):
    _, link = dl
    r = anon.post(link)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"
    assert r.json()["error"] == "method_not_allowed"


def test_tampered_link_is_404(dl, anon, maker):
    made, link = dl
    prefix, rest = link.split("/d/")
    token, name = rest.split("/", 1)
    body, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    for bad in (f"{body}.{flipped}", f"{body[:-2]}xx.{mac}", "garbage", f"{body}."):
        r = anon.get(f"{prefix}/d/{bad}/{name}")
        assert r.status_code == 404, bad
        assert r.json()["error"] == "not_found"
    r = anon.get(f"{prefix}/d/{body}.{flipped}/{name}", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
    assert "This download link is not valid." in r.text
    assert anon.get(f"{prefix}/d/").status_code == 404


def test_expired_signed_link_is_410(dl, anon, maker, server):
    from sqlalchemy import select

    from partage.files.links import direct_path
    from partage.files.models import File

    made, _ = dl
    with maker.ctx.db.read() as s:
        f = s.scalar(select(File).where(File.code == made.code))
        path = direct_path(maker.ctx.link_signer, f, ttl=-5, owner=False, address=None)
    r = anon.get(server.url + path)
    assert r.status_code == 410
    assert r.json()["error"] == "link_expired"
    r = anon.get(server.url + path, headers={"Accept": "text/html"})
    assert r.status_code == 410 and "has expired" in r.text


def test_link_version_bump_revokes_old_links(owner, maker, anon):
    made = maker.file(owner, b"versioned", "v.txt")
    visitor = maker.visitor_link(made.code)
    own_link = maker.owner_link(owner, made.code)
    assert anon.get(visitor).status_code == 200
    r = owner.client.patch(f"/api/v1/files/{made.code}", json={"max_downloads": 100})
    assert r.status_code == 200
    for old in (visitor, own_link):
        r = anon.get(old)
        assert r.status_code == 403
        assert r.json()["error"] == "link_revoked"
    new_owner = owner.client.get(f"/api/v1/files/{made.code}").json()["download_url"]
    assert anon.get(new_owner).content == b"versioned"
    assert anon.get(maker.visitor_link(made.code)).content == b"versioned"
    # a rename is not a link option: links stay valid
    owner.client.patch(f"/api/v1/files/{made.code}", json={"name": "w.txt"})
    assert anon.get(new_owner).status_code == 200


def test_memory_stays_flat_on_a_large_download(owner, maker, anon, server):
    size = 200 * 1024 * 1024
    block = os.urandom(1 << 20)
    made = maker.file(owner, (i.to_bytes(8, "big") + block[8:] for i in range(200)), "big.bin")
    link = maker.visitor_link(made.code)
    assert server.proc is not None
    pid = server.proc.pid
    # The session's server runs media jobs in-process: let earlier tests' videos finish
    # encoding (and publishing), so what is measured is the download alone.
    deadline = time.monotonic() + 300
    while maker.sql("SELECT count(*) FROM media WHERE state IN ('queued', 'running')")[0][0]:
        assert time.monotonic() < deadline, "earlier media jobs did not finish"
        time.sleep(0.5)
    anon.get(link, headers={"Range": "bytes=0-1000"})  # warm up both paths
    anon.get(maker.visitor_link(maker.file(owner, b"w" * 5000, "w.bin").code))

    for headers in ({}, {"Range": "bytes=1-"}):
        base = server_rss(pid)
        peak = base
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, server_rss(pid))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        digest = hashlib.sha256(b"\x00" if headers else b"")
        got = 1 if headers else 0
        try:
            with anon.stream("GET", link, headers=headers) as r:
                assert r.status_code == (206 if headers else 200)
                for chunk in r.iter_bytes(1 << 16):
                    digest.update(chunk)
                    got += len(chunk)
                    if got < 40 << 20:
                        time.sleep(0.0005)  # a slower reader for the first part
        finally:
            stop.set()
            sampler.join()
        assert got == size
        if not headers:
            assert digest.hexdigest() == made.sha256
        growth = peak - base
        assert growth < 50 * 1024 * 1024, f"server RSS grew by {growth / 1e6:.1f} MB ({headers})"
