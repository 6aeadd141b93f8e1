"""Link rules as visitors meet them: the public page `/{code}` (HTML and JSON), the
password form, the direct link, download caps and counters, and `/api/v1/links/info`."""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from partage.files.models import FileStatus
from partage.ratelimit import HOT_TRIES
from tests.files.conftest import set_fields

HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


def _unused_code() -> str:
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))


def _page(client: httpx.Client, code: str, html: bool) -> httpx.Response:
    return client.get(f"/{code}", headers=HTML if html else JSON)


def test_public_page_html_and_json(owner, maker, anon):
    made = maker.file(owner, b"page content", "report 2024.txt")
    r = _page(anon, made.code, html=True)
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert "report 2024.txt" in r.text
    assert "12 bytes" in r.text
    assert "text/plain" in r.text
    assert 'class="button public-file-download" href="http' in r.text
    link = r.text.split('public-file-download" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "/d/" in link
    assert anon.get(link).content == b"page content"

    data = _page(anon, made.code, html=False).json()
    assert data["code"] == made.code
    assert data["name"] == "report 2024.txt"
    assert data["size"] == 12
    assert data["sha256"] == made.sha256
    assert data["mime"] == "text/plain"
    assert data["owner"] is False
    assert data["url"].endswith(f"/{made.code}")
    assert anon.get(data["download_url"]).content == b"page content"


def test_page_paths_that_are_not_codes_are_404(anon):
    for path in ("/ABCDEFGHIJKL", "/abc", "/abcdefghijklm", "/abcdefghij-k", "/abcdefghijk%21"):
        r = anon.get(path, headers=JSON)
        assert r.status_code == 404, path
        assert r.json()["error"] == "not_found"
    assert anon.get("/abcdefghijk_", headers=HTML).status_code == 404


# -- each reason a link cannot be used, in JSON and in HTML ------------------------------------


def _expect(anon, code, status, error, message_part, title_part):
    r = _page(anon, code, html=False)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error
    assert message_part in body["message"]
    r = _page(anon, code, html=True)
    assert r.status_code == status
    assert "text/html" in r.headers["content-type"]
    assert f'data-error="{error}"' in r.text
    assert title_part in r.text
    assert "Traceback" not in r.text
    return r


def test_expired_link(owner, maker, anon):
    made = maker.file(owner, b"old news", "old.txt", expires="1h")
    link = maker.visitor_link(made.code)
    set_fields(maker, made.code, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    r = _expect(anon, made.code, 410, "link_expired", "expired", "This link has expired")
    assert "old.txt" not in r.text
    r = anon.get(link)
    assert r.status_code == 410 and r.json()["error"] == "link_expired"


def test_exhausted_link(owner, maker, anon):
    made = maker.file(owner, b"once", "once.txt", max_downloads=1)
    link = maker.visitor_link(made.code)
    assert anon.get(link).content == b"once"
    _expect(anon, made.code, 410, "download_limit_reached", "maximum number of downloads",
            "Download limit reached")  # fmt: skip
    r = anon.get(link)
    assert r.status_code == 410
    assert r.json()["error"] == "download_limit_reached"
    r = anon.get(link, headers=HTML)
    assert r.status_code == 410 and "maximum number of downloads" in r.text
    # the owner still gets the file through their own link
    assert anon.get(maker.owner_link(owner, made.code)).content == b"once"


def test_deleted_file(owner, maker, anon):
    made = maker.file(owner, b"bye", "bye.txt")
    link = maker.visitor_link(made.code)
    assert owner.client.delete(f"/api/v1/files/{made.code}").status_code == 204
    _expect(anon, made.code, 410, "file_deleted", "deleted", "This file was deleted")
    r = anon.get(link)
    assert r.status_code == 410 and r.json()["error"] == "file_deleted"


def test_disabled_file_is_451(owner, maker, anon):
    made = maker.file(owner, b"noticed", "noticed.txt")
    link = maker.visitor_link(made.code)
    set_fields(maker, made.code, status=FileStatus.disabled)
    _expect(anon, made.code, 451, "unavailable_for_legal_reasons", "disabled",
            "Unavailable for legal reasons")  # fmt: skip
    assert anon.get(link).status_code == 451


def test_private_file_looks_like_nothing(owner, bob, maker, anon):
    made = maker.file(owner, b"secret", "secret-plans.txt", public=False)
    missing = _unused_code()
    for who in (anon, bob.client):
        r1, r2 = _page(who, made.code, html=False), _page(who, missing, html=False)
        assert r1.status_code == r2.status_code == 404
        assert r1.json() == r2.json()
        h1, h2 = _page(who, made.code, html=True), _page(who, missing, html=True)
        assert h1.status_code == 404
        assert h1.text.replace(made.code, "X") == h2.text.replace(missing, "X")
        assert "secret-plans" not in h1.text
    # the owner sees the page and gets a working link
    r = _page(owner.client, made.code, html=False)
    assert r.status_code == 200
    assert r.json()["owner"] is True
    assert anon.get(r.json()["download_url"]).content == b"secret"
    r = _page(owner.client, made.code, html=True)
    assert r.status_code == 200 and "Private file" in r.text


def test_password_protected(owner, maker, anon):
    made = maker.file(owner, b"locked", "locked.txt", password="open sesame")
    r = _expect(anon, made.code, 401, "password_required", "password", "Password required")
    assert 'name="password"' in r.text and 'method="post"' in r.text
    assert "locked.txt" not in r.text

    # wrong password: 403 in JSON and HTML (the form again, with the message)
    r = anon.post(f"/{made.code}", json={"password": "nope"}, headers=JSON)
    assert r.status_code == 403
    assert r.json() == {"error": "wrong_password", "message": "Wrong password."}
    r = anon.post(f"/{made.code}", data={"password": "nope"}, headers=HTML)
    assert r.status_code == 403
    assert "Wrong password." in r.text and 'name="password"' in r.text

    # right password, as a browser form: 303 to a signed direct link
    r = anon.post(f"/{made.code}", data={"password": "open sesame"}, headers=HTML)
    assert r.status_code == 303
    assert "/d/" in r.headers["location"]
    assert anon.get(r.headers["location"]).content == b"locked"
    # as JSON: the page's JSON with the link
    r = anon.post(f"/{made.code}", json={"password": "open sesame"}, headers=JSON)
    assert r.status_code == 200 and r.json()["name"] == "locked.txt"
    # the owner needs no password
    assert _page(owner.client, made.code, html=False).status_code == 200


def test_wrong_passwords_are_rate_limited(owner, maker, server):
    made = maker.file(owner, b"guess me", "guess.txt", password="right one")
    other = maker.file(owner, b"other", "other.txt", password="right one")
    transport = httpx.HTTPTransport(local_address="127.0.0.9")
    with httpx.Client(base_url=server.url, transport=transport, headers=JSON) as c:
        for i in range(10):
            r = c.post(f"/{made.code}", json={"password": f"wrong {i}"})
            assert r.status_code == 403, i
        r = c.post(f"/{made.code}", json={"password": "wrong again"})
        assert r.status_code == 429
        assert r.json()["error"] == "rate_limited"
        assert int(r.headers["retry-after"]) >= 1
        # even the right password waits: the failing address is limited, on every file
        assert c.post(f"/{made.code}", json={"password": "right one"}).status_code == 429
        assert c.post(f"/{other.code}", json={"password": "right one"}).status_code == 429
        r = c.post(f"/{made.code}", data={"password": "x"}, headers=HTML)
        assert r.status_code == 429 and 'name="password"' in r.text
        # ... and through links/info too
        info = c.get("/api/v1/links/info", params={"codes": f"{made.code}:x"}).json()
        assert info["items"][0]["error"]["code"] == "rate_limited"
    # another address is not affected
    with httpx.Client(base_url=server.url, headers=JSON) as c:
        assert c.post(f"/{made.code}", json={"password": "right one"}).status_code == 200


def test_wrong_passwords_are_rate_limited_per_file(owner, maker, server):
    made = maker.file(owner, b"popular", "popular.txt", password="right one")
    statuses = []

    def guess(n: int) -> int:
        transport = httpx.HTTPTransport(local_address=f"127.0.1.{n // 5 + 1}")
        with httpx.Client(base_url=server.url, transport=transport, headers=JSON) as c:
            return c.post(f"/{made.code}", json={"password": f"guess {n}"}).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(guess, range(30)))
    assert statuses.count(403) == 30
    # The file is under attack: a new address gets HOT_TRIES wrong guesses, not ten...
    transport = httpx.HTTPTransport(local_address="127.0.2.1")
    with httpx.Client(base_url=server.url, transport=transport, headers=JSON) as c:
        for i in range(HOT_TRIES):
            assert c.post(f"/{made.code}", json={"password": f"more {i}"}).status_code == 403
        r = c.post(f"/{made.code}", json={"password": "another guess"})
        assert r.status_code == 429
        assert "for this file" in r.json()["message"]
    # ...and the right password from an address that has not failed still opens the link.
    transport = httpx.HTTPTransport(local_address="127.0.2.2")
    with httpx.Client(base_url=server.url, transport=transport, headers=JSON) as c:
        assert c.post(f"/{made.code}", json={"password": "right one"}).status_code == 200


def test_password_form_checks_csrf_only_for_sessions(owner, maker, server):
    made = maker.file(owner, b"csrf", "csrf.txt", password="pw")
    with httpx.Client(base_url=server.url) as c:  # anonymous: no token needed
        assert c.post(f"/{made.code}", data={"password": "pw"}).status_code == 303


# -- counting downloads ------------------------------------------------------------------------


def test_max_downloads_exact_under_concurrency(owner, maker, server):
    made = maker.file(owner, b"x" * 50_000, "limited.bin", max_downloads=3)
    link = maker.visitor_link(made.code)

    def fetch(_: int) -> int:
        with httpx.Client(timeout=30) as c:
            return c.get(link).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(fetch, range(10)))
    assert statuses.count(200) == 3, statuses
    assert statuses.count(410) == 7, statuses
    row = maker.sql("SELECT downloads FROM files WHERE code = :c", c=made.code)
    assert row[0][0] == 3


def test_capped_link_counts_only_downloads_from_the_start(owner, maker, anon):
    made = maker.file(owner, b"0123456789", "digits.txt", max_downloads=2)
    link = maker.visitor_link(made.code)
    etag = anon.head(link).headers["etag"]
    for _ in range(3):  # none of these count
        assert anon.head(link).status_code == 200
        assert anon.get(link, headers={"Range": "bytes=5-"}).status_code == 206
        assert anon.get(link, headers={"If-None-Match": etag}).status_code == 304
    assert anon.get(link, headers={"Range": "bytes=0-3"}).status_code == 206  # counts
    assert anon.get(link).status_code == 200  # counts
    assert anon.get(link).status_code == 410


def test_counters_are_flushed(owner, maker, anon):
    made = maker.file(owner, b"counted " * 100, "counted.txt")
    link = maker.visitor_link(made.code)
    etag = anon.head(link).headers["etag"]
    assert anon.get(link).status_code == 200  # 1
    assert anon.get(link).status_code == 200  # 2
    assert anon.get(link, headers={"Range": "bytes=0-9"}).status_code == 206  # 3
    assert anon.get(link, headers={"Range": "bytes=10-"}).status_code == 206  # resumed: no
    assert anon.head(link).status_code == 200  # no
    assert anon.get(link, headers={"If-None-Match": etag}).status_code == 304  # no
    assert anon.get(maker.owner_link(owner, made.code)).status_code == 200  # the owner: no
    deadline = time.monotonic() + 15
    data: dict = {}
    while time.monotonic() < deadline:
        data = owner.client.get(f"/api/v1/files/{made.code}").json()
        if data["downloads"] >= 3:
            break
        time.sleep(0.2)
    assert data["downloads"] == 3
    assert data["last_download"] is not None
    time.sleep(2.5)  # one more flush interval: nothing else was counted
    assert owner.client.get(f"/api/v1/files/{made.code}").json()["downloads"] == 3


# -- links/info ----------------------------------------------------------------------------


def _info(client: httpx.Client, *entries: str) -> list[dict]:
    r = client.get("/api/v1/links/info", params={"codes": ",".join(entries)})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_links_info(owner, bob, maker, anon):
    ok = maker.file(owner, b"fine", "fine.txt")
    locked = maker.file(owner, b"locked", "locked.txt", password="pw")
    private = maker.file(owner, b"private", "private.txt", public=False)
    expired = maker.file(owner, b"expired", "expired.txt", expires="1h")
    set_fields(maker, expired.code, expires_at=datetime.now(UTC) - timedelta(seconds=5))
    missing = _unused_code()

    items = _info(anon, ok.code, locked.code, f"{locked.code}:pw", f"{locked.code}:bad",
                  private.code, missing, expired.code, "NOT-A-CODE")  # fmt: skip
    assert items[0] == {"code": ok.code, "available": True, "name": "fine.txt", "size": 4,
                        "url": items[0]["url"], "error": None}  # fmt: skip
    assert items[0]["url"].endswith(f"/{ok.code}")
    assert items[1]["available"] is False
    assert items[1]["error"]["code"] == "password_required"
    assert items[1]["name"] is None and items[1]["size"] is None
    assert items[2]["available"] is True and items[2]["name"] == "locked.txt"
    assert items[3]["error"]["code"] == "wrong_password"
    # a private file of someone else is exactly a missing one
    assert items[4]["error"] == items[5]["error"] == {
        "code": "not_found", "message": "No file at this address."
    }  # fmt: skip
    assert {k: v for k, v in items[4].items() if k != "code"} == {
        k: v for k, v in items[5].items() if k != "code"
    }
    assert items[6]["error"]["code"] == "link_expired"
    assert items[7]["error"]["code"] == "not_found"
    # bob (another account) sees the same; the owner sees their private file
    assert _info(bob.client, private.code)[0]["error"]["code"] == "not_found"
    assert _info(owner.client, private.code)[0]["available"] is True


def test_links_info_bad_inputs(anon, owner, maker):
    made = maker.file(owner, b"many", "many.txt")
    assert len(_info(anon, *[made.code] * 100)) == 100
    r = anon.get("/api/v1/links/info", params={"codes": ",".join([made.code] * 101)})
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    for bad in ("", ",,", " "):
        r = anon.get("/api/v1/links/info", params={"codes": bad})
        assert r.status_code == 400
    r = anon.get("/api/v1/links/info")
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"


@pytest.mark.parametrize("html", [False, True])
def test_nonexistent_code(anon, html):
    r = _page(anon, _unused_code(), html=html)
    assert r.status_code == 404
    if html:
        assert "File not found" in r.text
    else:
        assert r.json() == {"error": "not_found", "message": "No file at this address."}
