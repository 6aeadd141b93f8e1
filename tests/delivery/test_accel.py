"""`PARTAGE_DELIVERY=x-accel` through a real nginx running deploy/nginx.conf: partage
checks every request, nginx sends the bytes, and the client sees partage's headers."""

from __future__ import annotations

import email.parser
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from sqlalchemy import select

from partage.files.links import direct_path
from partage.files.models import File
from tests.conftest import Account
from tests.delivery.conftest import Edge, upload, visitor_link
from tests.files.conftest import set_fields

SIZE = 300_000  # several of nginx's output buffers, not a multiple of anything


@dataclass
class Dl:
    code: str
    sha256: str
    body: bytes
    link: str  # a visitor's signed link, through nginx

    @property
    def token(self) -> str:
        return urlsplit(self.link).path.split("/")[2]


@pytest.fixture(scope="module")
def owner(edge: Edge) -> Iterator[tuple[Account, httpx.Client]]:
    yield edge.account()


@pytest.fixture(scope="module")
def dl(edge: Edge, owner: tuple[Account, httpx.Client]) -> Dl:
    body = os.urandom(SIZE)
    made = upload(owner[1], "data.bin", body)
    assert made["sha256"] == hashlib.sha256(body).hexdigest()
    return Dl(made["code"], made["sha256"], body, visitor_link(edge.url, made["code"]))


def _node_path(link: str) -> str:
    return urlsplit(link).path


def test_nginx_sends_the_file_with_partages_headers(edge: Edge, dl: Dl) -> None:
    r = httpx.get(dl.link)
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == dl.sha256
    h = r.headers
    assert h["content-length"] == str(SIZE)
    assert h["etag"] == f'"{dl.sha256}"'  # partage's, not nginx's "<mtime>-<size>"
    assert h["content-type"] == "application/octet-stream"
    assert (
        h["content-disposition"] == "attachment; filename=\"data.bin\"; filename*=UTF-8''data.bin"
    )
    assert h["cache-control"] == "private"
    assert h["accept-ranges"] == "bytes"
    assert h["x-content-type-options"] == "nosniff"
    assert h["content-security-policy"] == "default-src 'none'; sandbox"
    assert h["referrer-policy"] == "no-referrer"
    assert "x-accel-redirect" not in h
    assert len(h.get_list("etag")) == 1 and len(h.get_list("last-modified")) == 1

    # What partage itself answered nginx: an empty body naming the blob, and the same
    # validators (Last-Modified is the file's creation, not the blob file's mtime).
    node = httpx.get(edge.nodes[0].url + _node_path(dl.link))
    assert node.status_code == 200 and node.content == b""
    sha = dl.sha256
    assert node.headers["x-accel-redirect"] == f"/_partage/blobs/{sha[:2]}/{sha[2:4]}/{sha}"
    for name in ("etag", "last-modified", "content-type", "content-disposition"):
        assert h[name] == node.headers[name], name

    # nginx served the bytes from the internal location, not partage.
    (line,) = edge.nginx.log_lines(dl.token)
    assert f"served=/_partage/blobs/{sha[:2]}/{sha[2:4]}/{sha} " in line, line


def test_pages_behind_nginx_keep_partages_security_headers(edge: Edge, dl: Dl) -> None:
    """nginx adds no policy of its own (a second CSP would narrow the embed page's)."""
    for path in ("/login", f"/{dl.code}"):
        r = httpx.get(edge.url + path, headers={"Accept": "text/html"})
        assert r.status_code == 200, path
        (csp,) = r.headers.get_list("content-security-policy")
        assert "frame-ancestors 'self'" in csp and "default-src 'self'" in csp
        assert r.headers["x-frame-options"] == "SAMEORIGIN"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] in ("strict-origin-when-cross-origin", "no-referrer")


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("bytes=10-19", 10, 19),
        ("bytes=-100", SIZE - 100, SIZE - 1),  # suffix
        ("bytes=299000-", 299_000, SIZE - 1),  # open-ended
        ("bytes=299990-999999", 299_990, SIZE - 1),  # clamped to the end
        ("bytes=-999999", 0, SIZE - 1),  # suffix longer than the file
    ],
)
def test_single_range(edge: Edge, dl: Dl, spec: str, start: int, end: int) -> None:
    r = httpx.get(dl.link, headers={"Range": spec})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert r.headers["content-length"] == str(end - start + 1)
    assert r.content == dl.body[start : end + 1]
    assert r.headers["etag"] == f'"{dl.sha256}"'
    assert r.headers["content-disposition"].startswith('attachment; filename="data.bin"')


def _parts(response: httpx.Response) -> list[tuple[str, bytes]]:
    raw = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode() + response.content
    msg = email.parser.BytesParser().parsebytes(raw)
    assert msg.is_multipart()
    return [(p["Content-Range"], p.get_payload(decode=True)) for p in msg.get_payload()]


def test_multiple_ranges_are_multipart_from_nginx(dl: Dl) -> None:
    r = httpx.get(dl.link, headers={"Range": "bytes=0-4, 100-109, -3"})
    assert r.status_code == 206
    assert r.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert int(r.headers["content-length"]) == len(r.content)
    assert _parts(r) == [
        ("bytes 0-4/300000", dl.body[0:5]),
        ("bytes 100-109/300000", dl.body[100:110]),
        (f"bytes {SIZE - 3}-{SIZE - 1}/300000", dl.body[-3:]),
    ]
    # Unlike partage's own path, nginx does not merge overlapping ranges: two parts.
    r = httpx.get(dl.link, headers={"Range": "bytes=0-9,5-14"})
    assert r.status_code == 206
    assert _parts(r) == [("bytes 0-9/300000", dl.body[0:10]), ("bytes 5-14/300000", dl.body[5:15])]


def test_unsatisfiable_range_is_partages_416(dl: Dl) -> None:
    r = httpx.get(dl.link, headers={"Range": f"bytes={SIZE}-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{SIZE}"
    assert r.json()["error"] == "range_not_satisfiable"


def test_if_range(dl: Dl) -> None:
    etag = f'"{dl.sha256}"'
    last_modified = httpx.head(dl.link).headers["last-modified"]
    for validator in (etag, last_modified):
        r = httpx.get(dl.link, headers={"Range": "bytes=0-9", "If-Range": validator})
        assert r.status_code == 206, validator
        assert r.content == dl.body[:10]
    # A validator the file does not have: the client's copy is stale, the whole file comes.
    for stale in ('"0000"', f"W/{etag}", "Mon, 01 Jan 2001 00:00:00 GMT"):
        r = httpx.get(dl.link, headers={"Range": "bytes=0-9", "If-Range": stale})
        assert r.status_code == 200, stale
        assert r.content == dl.body


def test_head(edge: Edge, dl: Dl) -> None:
    r = httpx.head(dl.link)
    assert r.status_code == 200
    assert r.headers["content-length"] == str(SIZE) and r.content == b""
    assert r.headers["etag"] == f'"{dl.sha256}"'
    assert r.headers["content-disposition"].startswith("attachment;")
    r = httpx.head(dl.link, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 0-9/{SIZE}" and r.content == b""
    assert any(" \"HEAD /d/" in ln and "served=/_partage/" in ln
               for ln in edge.nginx.log_lines(dl.token))  # fmt: skip


def test_conditional_requests(edge: Edge, dl: Dl) -> None:
    etag = f'"{dl.sha256}"'
    last_modified = httpx.head(dl.link).headers["last-modified"]
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": last_modified}):
        r = httpx.get(dl.link, headers=headers)
        assert r.status_code == 304, headers
        assert r.headers["etag"] == etag and r.content == b""
    assert httpx.get(dl.link, headers={"If-None-Match": '"other"'}).content == dl.body
    # nginx would compare If-Match / If-Unmodified-Since with the blob file's own ETag
    # and mtime (a matching If-Match would get 412): partage answers those itself.
    for headers, status in (
        ({"If-Match": etag}, 200),
        ({"If-Match": '"other"'}, 412),
        ({"If-Unmodified-Since": last_modified}, 200),
        ({"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, 412),
        ({"If-Match": etag, "Range": "bytes=5-9"}, 206),
        # A Range partage ignores (malformed): the whole file, where nginx would say 416.
        ({"Range": "bytes=5-1"}, 200),
        ({"Range": "bytes=abc"}, 200),
    ):
        r = httpx.get(dl.link, headers=headers)
        assert r.status_code == status, headers
        if status == 200:
            assert r.content == dl.body
        if status == 206:
            assert r.content == dl.body[5:10]


def _downloads(edge: Edge, code: str) -> int:
    (row,) = edge.maker.sql("SELECT downloads FROM files WHERE code = :c", c=code)
    return int(row[0])


def test_a_download_counts_once(edge: Edge, owner: tuple[Account, httpx.Client]) -> None:
    body = os.urandom(50_000)
    made = upload(owner[1], "capped.bin", body, max_downloads=3)
    link = visitor_link(edge.url, made["code"])
    assert httpx.get(link).content == body
    assert _downloads(edge, made["code"]) == 1  # capped: counted in the database at once
    # Not downloads: HEAD, a range after byte 0, a 304; the owner's own link.
    httpx.head(link)
    assert httpx.get(link, headers={"Range": "bytes=100-"}).status_code == 206
    assert httpx.get(link, headers={"If-None-Match": f'"{made["sha256"]}"'}).status_code == 304
    assert httpx.get(made["download_url"]).content == body
    assert _downloads(edge, made["code"]) == 1
    assert httpx.get(link, headers={"Range": "bytes=0-9"}).status_code == 206  # from byte 0
    assert httpx.get(link).status_code == 200
    assert _downloads(edge, made["code"]) == 3
    r = httpx.get(link)
    assert r.status_code == 410 and r.json()["error"] == "download_limit_reached"

    # Uncapped: counted in memory by whichever node answered, flushed every 0.2 s.
    free = upload(owner[1], "free.bin", body)
    link = visitor_link(edge.url, free["code"])
    for _ in range(4):
        assert httpx.get(link).status_code == 200
    deadline = time.monotonic() + 10
    while _downloads(edge, free["code"]) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.6)  # three more flush periods: nothing is counted twice
    assert _downloads(edge, free["code"]) == 4


def _error(r: httpx.Response) -> tuple[int, str]:
    assert r.headers["content-type"].startswith("application/json"), r.text
    return r.status_code, str(r.json()["error"])


def _same_answer(edge: Edge, link: str, expected: tuple[int, str]) -> None:
    """nginx gives the client exactly what partage answers, and serves no byte."""
    through = httpx.get(link)
    assert _error(through) == expected
    assert "x-accel-redirect" not in through.headers
    direct = httpx.get(edge.nodes[1].url + _node_path(link))
    assert _error(direct) == expected
    assert "x-accel-redirect" not in direct.headers


def test_nginx_refuses_what_partage_refuses(
    edge: Edge, owner: tuple[Account, httpx.Client]
) -> None:
    _, client = owner

    def fresh(name: str) -> tuple[dict, str]:
        made = upload(client, name, os.urandom(2000))
        return made, visitor_link(edge.url, made["code"])

    made, link = fresh("tampered.bin")
    head, token, name = link.rsplit("/", 2)
    body, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    _same_answer(edge, f"{head}/{body}.{flipped}/{name}", (404, "not_found"))
    _same_answer(edge, f"{head}/garbage/{name}", (404, "not_found"))

    with edge.maker.ctx.db.read() as s:
        f = s.scalar(select(File).where(File.code == made["code"]))
        expired = direct_path(edge.maker.ctx.link_signer, f, ttl=-5, owner=False, address=None)
    _same_answer(edge, edge.url + expired, (410, "link_expired"))

    made, link = fresh("deleted.bin")
    assert client.delete(f"/api/v1/files/{made['code']}").status_code == 204
    _same_answer(edge, link, (410, "file_deleted"))

    made, link = fresh("disabled.bin")
    set_fields(edge.maker, made["code"], status="disabled")
    _same_answer(edge, link, (451, "unavailable_for_legal_reasons"))

    # Made private after the link was handed out: the link is revoked, and the page
    # tells a visitor nothing (404) while the owner still gets the file.
    made, link = fresh("private.bin")
    r = client.patch(f"/api/v1/files/{made['code']}", json={"public": False})
    assert r.status_code == 200
    _same_answer(edge, link, (403, "link_revoked"))
    page = httpx.get(f"{edge.url}/{made['code']}", headers={"Accept": "application/json"})
    assert _error(page) == (404, "not_found")
    owners = client.get(f"/api/v1/files/{made['code']}").json()["download_url"]
    assert httpx.get(owners).status_code == 200

    # Password: no link without it, a wrong one is refused, a new password revokes links.
    made = upload(client, "protected.bin", os.urandom(2000), password="s3cret-pw")
    page = f"{edge.url}/{made['code']}"
    assert _error(httpx.get(page, headers={"Accept": "application/json"})) == (
        401, "password_required")  # fmt: skip
    assert _error(httpx.post(page, json={"password": "nope"})) == (403, "wrong_password")
    link = visitor_link(edge.url, made["code"], password="s3cret-pw")
    assert httpx.get(link).status_code == 200
    client.patch(f"/api/v1/files/{made['code']}", json={"password": "another-pw"})
    _same_answer(edge, link, (403, "link_revoked"))


def test_links_bound_to_the_client_address_behind_nginx(
    edge: Edge, owner: tuple[Account, httpx.Client]
) -> None:
    """X-Forwarded-For reaches partage (PARTAGE_TRUSTED_PROXIES): a link issued to one
    client address does not work from another."""
    made = upload(owner[1], "bound.bin", b"bound to an address")
    page = f"{edge.url}/{made['code']}"
    here = {"X-Forwarded-For": "203.0.113.9"}
    link = httpx.get(page, headers={"Accept": "application/json", **here}).json()["download_url"]
    assert httpx.get(link, headers=here).content == b"bound to an address"
    elsewhere = httpx.get(link, headers={"X-Forwarded-For": "198.51.100.7"})
    assert _error(elsewhere) == (403, "link_revoked")
    assert _error(httpx.get(link)) == (403, "link_revoked")  # from 127.0.0.1 itself


def test_internal_locations_are_not_reachable_from_outside(edge: Edge, dl: Dl) -> None:
    sha = dl.sha256
    blob = f"/_partage/blobs/{sha[:2]}/{sha[2:4]}/{sha}"
    assert (edge.nodes[0].data_dir / "blobs" / blob.removeprefix("/_partage/blobs/")).is_file()
    tail = blob.removeprefix("/_partage/")
    for path in (blob, "/_partage/", "/_partage/media/", f"/%5Fpartage/{tail}",
                 f"/d/../_partage/{tail}", f"/d/%2E%2E/_partage/{tail}"):  # fmt: skip
        with httpx.Client(base_url=edge.url) as c:
            req = c.build_request("GET", "/")
            req.url = req.url.copy_with(raw_path=path.encode())
            r = c.send(req)
        assert r.status_code == 404, path
        assert dl.body[:64] not in r.content


def test_unicode_name_survives_nginx(edge: Edge, owner: tuple[Account, httpx.Client]) -> None:
    name = 'résumé "final" 📄.txt'
    made = upload(owner[1], name, b"unicode name\n")
    r = httpx.get(visitor_link(edge.url, made["code"]))
    assert r.content == b"unicode name\n"
    assert r.headers["content-type"].startswith("text/plain")
    star = r.headers["content-disposition"].split("filename*=")[1]
    assert unquote(star.removeprefix("UTF-8''"), encoding="utf-8") == name
