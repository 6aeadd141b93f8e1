"""partage.delivery's helpers on their own: internal URIs, redirect targets and TTLs, the
start-up rule. (What they do behind a real nginx is in test_accel.py.)"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from partage.delivery import (
    DeliveryConfigError,
    accel_headers,
    accel_uri,
    blob_relpath,
    check_settings,
    media_relpath,
    nginx_agrees,
    redirect_location,
    redirect_ttl,
)
from partage.media.outputs import LocalOutputs
from partage.settings import Settings
from partage.storage.local import LocalBlobStore

SHA = hashlib.sha256(b"x").hexdigest()


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_relpaths_match_the_stores_layout(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    assert store.root / blob_relpath(SHA) == store.path_for(SHA)
    outputs = LocalOutputs(tmp_path / "media")
    rel = "hls/720p/seg_00001.m4s"
    assert outputs.root / media_relpath(SHA, rel) == outputs.workdir(SHA) / rel


def test_accel_uri(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    assert accel_uri(s, "blobs", blob_relpath(SHA)) == f"/_partage/blobs/{SHA[:2]}/{SHA[2:4]}/{SHA}"
    rel = media_relpath(SHA, "hls/720p/seg_00001.m4s")
    assert accel_uri(s, "media", rel) == f"/_partage/media/{SHA[:2]}/{SHA}/hls/720p/seg_00001.m4s"
    # Percent-encoded (nginx decodes X-Accel-Redirect before mapping it on the alias).
    assert (
        accel_uri(s, "media", "ab/c d/é?#%.vtt") == "/_partage/media/ab/c%20d/%C3%A9%3F%23%25.vtt"
    )
    # The location, with or without its trailing slash.
    for location in ("/internal", "/internal/", "/internal//"):
        s = _settings(tmp_path, x_accel_location=location)
        assert accel_uri(s, "blobs", "ab/cd/ef") == "/internal/blobs/ab/cd/ef"


@pytest.mark.parametrize(
    "relpath", ["", "/etc/passwd", "ab/../../etc/passwd", "..", "ab//cd", "./ab", "ab/", "a\\b",
                "a\x00b"],
)  # fmt: skip
def test_accel_uri_refuses_paths_that_leave_the_root(tmp_path: Path, relpath: str) -> None:
    with pytest.raises(ValueError):
        accel_uri(_settings(tmp_path), "media", relpath)


def test_accel_uri_refuses_other_kinds(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        accel_uri(_settings(tmp_path), "staging", "ab")  # type: ignore[arg-type]


def test_accel_headers() -> None:
    out = accel_headers(
        "/_partage/blobs/a/b/c",
        [(b"etag", b'"x"'), (b"content-length", b"10"), (b"accept-ranges", b"bytes"),
         (b"content-type", b"text/plain")],
    )  # fmt: skip
    assert out == [
        (b"etag", b'"x"'),
        (b"content-type", b"text/plain"),
        (b"x-accel-redirect", b"/_partage/blobs/a/b/c"),
        (b"content-length", b"0"),
    ]


def test_nginx_agrees() -> None:
    assert nginx_agrees({}, range_ignored=False)
    assert nginx_agrees({"range": "bytes=0-1", "if-range": '"x"'}, range_ignored=False)
    assert not nginx_agrees({"range": "bytes=abc"}, range_ignored=True)
    assert not nginx_agrees({"if-match": '"x"'}, range_ignored=False)
    assert not nginx_agrees({"if-unmodified-since": "Mon, 01 Jan 2001 00:00:00 GMT"},
                            range_ignored=False)  # fmt: skip


def test_redirect_ttl() -> None:
    assert redirect_ttl(1000 + 300, 600, now=1000) == 300  # until the link expires
    assert redirect_ttl(1000 + 9000, 600, now=1000) == 600  # capped
    assert redirect_ttl(1000, 600, now=1000) == 1  # never 0 or negative
    assert redirect_ttl(1000 + 300.9, 600, now=1000) == 300  # rounded down, never longer


def test_redirect_location(tmp_path: Path) -> None:
    presigned = "https://s3.example.org/bucket/data/blobs/ab/cd/ef?X-Amz-Signature=s%2Fg&a=1"
    assert redirect_location(_settings(tmp_path), presigned) == presigned
    for cdn in ("https://cdn.example.net", "https://cdn.example.net/"):
        s = _settings(tmp_path, delivery_url=cdn)
        assert redirect_location(s, presigned) == (
            "https://cdn.example.net/bucket/data/blobs/ab/cd/ef?X-Amz-Signature=s%2Fg&a=1"
        )
    s = _settings(tmp_path, delivery_url="http://cdn.example.net:8080/mirror/")
    assert redirect_location(s, presigned) == (
        "http://cdn.example.net:8080/mirror/bucket/data/blobs/ab/cd/ef?X-Amz-Signature=s%2Fg&a=1"
    )


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"delivery": "redirect"}, "PARTAGE_DELIVERY=redirect: needs object storage"),
        ({"delivery": "redirect", "storage_url": "file:///srv/blobs"},
         "PARTAGE_DELIVERY=redirect: needs object storage"),
        ({"delivery": "x-accel", "storage_url": "s3://bucket/p"},
         "PARTAGE_DELIVERY=x-accel: needs blobs on a local disk"),
        ({"delivery": "x-accel", "x_accel_location": "_partage/"},
         "PARTAGE_X_ACCEL_LOCATION=_partage/: must be an absolute path"),
        ({"delivery": "redirect", "storage_url": "s3://b", "delivery_url": "cdn.example.org"},
         "PARTAGE_DELIVERY_URL=cdn.example.org: not an http(s) origin"),
        ({"delivery_url": "ftp://cdn.example.org"}, "PARTAGE_DELIVERY_URL=ftp://"),
    ],
)  # fmt: skip
def test_start_up_rule_refuses(tmp_path: Path, settings: dict[str, str], says: str) -> None:
    with pytest.raises(DeliveryConfigError) as err:
        check_settings(_settings(tmp_path, **settings))
    assert str(err.value).startswith(says)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"delivery": "x-accel"},
        {"delivery": "x-accel", "storage_url": "file:///srv/blobs"},
        {"delivery": "redirect", "storage_url": "s3://bucket/prefix"},
        {"delivery": "redirect", "storage_url": "s3://b", "delivery_url": "https://cdn.example.org/x"},
        {"delivery": "app", "storage_url": "s3://bucket"},
    ],
)  # fmt: skip
def test_start_up_rule_accepts(tmp_path: Path, settings: dict[str, str]) -> None:
    check_settings(_settings(tmp_path, **settings))
