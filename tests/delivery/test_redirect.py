"""`PARTAGE_DELIVERY=redirect`: partage checks the link and answers 302 to a presigned URL
on the object store (moto's S3 server here), or to the same path on a CDN origin."""

from __future__ import annotations

import hashlib
import os
import pwd
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from tests.conftest import make_account
from tests.delivery.conftest import START_TIMEOUT, Nginx, upload, visitor_link
from tests.files.conftest import Maker, set_fields
from tests.s3server import S3Server, s3_server
from tests.serverproc import Server, free_port

TTL = 600


def _start(data_dir: Path, s3: S3Server, **env: str) -> Server:
    env = {"PARTAGE_DELIVERY": "redirect", "PARTAGE_DIRECT_LINK_TTL": str(TTL), **env}
    return Server(data_dir, env=env, storage_env=s3.env(s3.new_bucket())).start(START_TIMEOUT)


@pytest.fixture(scope="module")
def s3() -> S3Server:
    return s3_server()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, s3: S3Server) -> Iterator[Server]:
    server = _start(tmp_path_factory.mktemp("redirect") / "data", s3)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(srv: Server) -> Iterator[httpx.Client]:
    acc = make_account(srv)
    yield acc.client
    acc.client.close()


def _expires(location: str) -> int:
    """Seconds the presigned URL stays valid: SigV4's X-Amz-Expires, or SigV2's Expires
    (a date, which boto3 makes for this endpoint unless told otherwise)."""
    query = parse_qs(urlsplit(location).query)
    if "X-Amz-Expires" in query:
        return int(query["X-Amz-Expires"][0])
    return int(query["Expires"][0]) - int(time.time())


def test_download_is_a_302_to_the_object_store(srv: Server, s3: S3Server, client) -> None:
    body = os.urandom(300_000)
    name = "rapport final é.pdf"
    made = upload(client, name, body)
    link = visitor_link(srv.url, made["code"])

    r = httpx.get(link)
    assert r.status_code == 302
    assert r.headers["cache-control"] == "no-store"
    assert r.content == b""
    location = r.headers["location"]
    assert location.startswith(s3.endpoint + "/")
    # Valid until the signed link expires (it was issued just now for TTL s), no longer.
    assert TTL - 30 <= _expires(location) <= TTL

    got = httpx.get(location)
    assert got.status_code == 200
    assert hashlib.sha256(got.content).hexdigest() == made["sha256"]
    assert got.headers["content-type"] == made["mime"]
    star = got.headers["content-disposition"].split("filename*=")[1]
    assert unquote(star.removeprefix("UTF-8''"), encoding="utf-8") == name

    part = httpx.get(location, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == body[1000:2000]
    assert part.headers["content-range"] == "bytes 1000-1999/300000"
    followed = httpx.get(link, headers={"Range": "bytes=-10"}, follow_redirects=True)
    assert followed.status_code == 206 and followed.content == body[-10:]

    # HEAD is answered by partage itself (a presigned GET URL does not allow HEAD).
    head = httpx.head(link)
    assert head.status_code == 200 and head.headers["content-length"] == "300000"
    assert head.headers["etag"] == f'"{made["sha256"]}"'


def test_presigned_url_never_outlives_the_link(srv: Server, client) -> None:
    made = upload(client, "soon.bin", b"expires soon", expires="2m")
    location = httpx.get(visitor_link(srv.url, made["code"])).headers["location"]
    assert 60 <= _expires(location) <= 120  # the file's own expiry, not the link TTL
    # The owner's link ignores the file's expiry: the link TTL caps it.
    owner = httpx.get(made["download_url"]).headers["location"]
    assert TTL - 30 <= _expires(owner) <= TTL


def test_partage_checks_and_counts_before_redirecting(srv: Server, client) -> None:
    maker = Maker(srv)
    try:
        made = upload(client, "capped.bin", b"counted once", max_downloads=2)
        link = visitor_link(srv.url, made["code"])
        etag = f'"{made["sha256"]}"'
        assert httpx.get(link, headers={"If-None-Match": etag}).status_code == 304
        assert httpx.head(link).status_code == 200
        r = httpx.get(link, follow_redirects=True)
        assert r.content == b"counted once" and len(r.history) == 1
        (row,) = maker.sql("SELECT downloads FROM files WHERE code = :c", c=made["code"])
        assert row[0] == 1
        assert httpx.get(link).status_code == 302
        r = httpx.get(link)
        assert (r.status_code, r.json()["error"]) == (410, "download_limit_reached")

        for state, expected in (("deleted", (410, "file_deleted")),
                                ("disabled", (451, "unavailable_for_legal_reasons"))):  # fmt: skip
            made = upload(client, f"{state}.bin", os.urandom(1000))
            link = visitor_link(srv.url, made["code"])
            assert httpx.get(link).status_code == 302
            if state == "deleted":
                assert client.delete(f"/api/v1/files/{made['code']}").status_code == 204
            else:
                set_fields(maker, made["code"], status="disabled")
            r = httpx.get(link)
            assert (r.status_code, r.json()["error"]) == expected
            assert "location" not in r.headers
    finally:
        maker.close()


@pytest.fixture
def cdn(tmp_path: Path, s3: S3Server) -> Iterator[Nginx]:
    """A stand-in CDN: nginx forwarding /cdn/… to the S3 server as its own host, so the
    presigned signature still holds."""
    origin = urlsplit(s3.endpoint).netloc
    port = free_port()
    root = tmp_path / "cdn"
    temp = "".join(f"    {k}_temp_path {root / k};\n"
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    conf = (
        f"user {pwd.getpwuid(os.geteuid()).pw_name};\nerror_log {root / 'error.log'};\n"
        "events {}\nhttp {\n"
        f"    access_log {root / 'access.log'};\n{temp}"
        f"    server {{\n        listen 127.0.0.1:{port};\n"
        f"        location /cdn/ {{\n            proxy_pass {s3.endpoint}/;\n"
        f"            proxy_set_header Host {origin};\n        }}\n    }}\n}}\n"
    )
    ng = Nginx(root, conf, port).start()
    yield ng
    ng.stop()


def test_delivery_url_puts_the_cdn_in_front(tmp_path: Path, s3: S3Server, cdn: Nginx) -> None:
    server = _start(tmp_path / "data", s3, PARTAGE_DELIVERY_URL=cdn.url + "/cdn")
    try:
        acc = make_account(server)
        body = os.urandom(70_000)
        made = upload(acc.client, "via cdn.bin", body)
        r = httpx.get(visitor_link(server.url, made["code"]))
        assert r.status_code == 302
        location = urlsplit(r.headers["location"])
        assert f"{location.scheme}://{location.netloc}" == cdn.url
        # The presigned path (path-style: /bucket/prefix/blobs/ab/cd/<sha>) and its query.
        sha = made["sha256"]
        assert location.path.startswith("/cdn/partage-")
        assert location.path.endswith(f"/data/blobs/{sha[:2]}/{sha[2:4]}/{sha}")
        query = parse_qs(location.query)
        assert "X-Amz-Signature" in query or "Signature" in query
        got = httpx.get(r.headers["location"])
        assert got.status_code == 200 and got.content == body
        assert cdn.log_lines(location.path + "?")  # fetched through the CDN
        acc.client.close()
    finally:
        server.stop()
