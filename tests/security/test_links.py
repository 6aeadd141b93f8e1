"""Signed direct links that were tampered with, Range headers built to hurt, and redirect
targets taken from the request. Already covered elsewhere, not repeated here: a flipped
MAC byte (tests/files/test_download.py::test_tampered_link_is_404), a link after its
options changed (::test_link_version_bump_revokes_old_links), a link bound to another
address (tests/files/test_own_server.py::test_link_bound_to_address)."""

from __future__ import annotations

import base64
import json
import re
import time

import httpx
import pytest

from tests.conftest import make_account
from tests.security.conftest import HTML, JSON, csrf_of, user_id

SIZE = 10_240
CONTENT = bytes(range(256)) * (SIZE // 256)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def files(cast):
    """Two of alice's files and their owner links: (code, name, link) each."""
    out = []
    for name, data in (("first.bin", CONTENT), ("second.html", b"<script>alert(1)</script>")):
        r = cast["alice"].api.put(f"/api/v1/files/{name}", content=data, headers=JSON)
        assert r.status_code == 201, r.text
        f = r.json()
        out.append((f["code"], name, f["download_url"], data))
    return out


def _split(link: str) -> tuple[str, str, str, str]:
    prefix, rest = link.split("/d/")
    token, name = rest.split("/", 1)
    body, mac = token.split(".")
    return prefix, body, mac, name


def test_forged_payloads_are_not_links(files, anon):
    (code, _, link, data), (other_code, _, other_link, _) = files
    prefix, body, mac, name = _split(link)
    payload = json.loads(_unb64(body))
    assert payload["c"] == code
    forged = [
        {**payload, "e": payload["e"] + 10 * 365 * 86400},  # expiry extended
        {**payload, "c": other_code},  # this MAC on another file
        {**payload, "v": payload["v"] + 1},
        {k: v for k, v in payload.items() if k != "e"},
    ]
    bad = [f"{_b64(json.dumps(p, separators=(',', ':')).encode())}.{mac}" for p in forged]
    raw = _unb64(body)
    for i in (0, len(raw) // 2, len(raw) - 1):  # a byte of the payload flipped
        bad.append(f"{_b64(raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1 :])}.{mac}")
    bad += [
        f"{body}.{_split(other_link)[2]}",  # another file's MAC
        f"{body}.{mac}{mac}", f"{body}", f".{mac}", "..", f"{body}.{mac[:-1]}",
        "A" * 8000 + "." + mac, f"{body}.{mac}%00",
    ]  # fmt: skip
    started = time.monotonic()
    for token in bad:
        r = anon.get(f"{prefix}/d/{token}/{name}")
        assert r.status_code == 404, (token[:60], r.status_code, r.text[:200])
        assert r.json()["error"] == "not_found"
    # Bytes that are not UTF-8 never reach the link check: the guard refuses the address.
    r = anon.get(f"{prefix}/d/{body}.%ff%fe/{name}")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_encoding"), r.text
    assert time.monotonic() - started < 10
    # the real link still works, for the real file only
    assert anon.get(link).content == data


def test_another_files_name_does_not_change_what_is_served(files, anon):
    """The name in the path is decoration: a token for the binary file with the HTML
    file's name still serves the binary, under its own name."""
    (_, name, link, data), (_, other_name, _, _) = files
    prefix, body, mac, _ = _split(link)
    r = anon.get(f"{prefix}/d/{body}.{mac}/{other_name}")
    assert r.status_code == 200
    assert r.content == data
    assert name in r.headers["content-disposition"]
    assert other_name not in r.headers["content-disposition"]
    assert r.headers["content-type"] == "application/octet-stream"


# (Range header, expected status, expected body bytes or None for "whole file")
RANGES = [
    ("bytes=" + ",".join(["0-0"] * 1000), 200, CONTENT),  # more than 64 parts: ignored
    ("bytes=" + ",".join(f"{i}-{i + 999}" for i in range(60)), 206, CONTENT[:1059]),  # merged
    ("bytes=0-0,0-0,0-0", 206, CONTENT[:1]),
    ("bytes=0-99999999999999999999999", 206, CONTENT),
    ("bytes=0-" + "9" * 5000, 206, CONTENT),  # Python refuses int() of 4301+ digits: was a 500
    ("bytes=" + "9" * 5000 + "-", 416, None),
    ("bytes=-" + "9" * 5000, 206, CONTENT),
    ("bytes=" + "9" * 30 + "-" + "9" * 31, 416, None),
    ("bytes=-0", 416, None),
    ("bytes=-5-10", 200, CONTENT),
    ("bytes=5-2", 200, CONTENT),
    ("bytes=--1", 200, CONTENT),
    ("bytes=0x10-", 200, CONTENT),
    ("bytes=\u00b2-", 200, CONTENT),  # "²" (latin-1): str.isdigit() says yes, int() raises
    ("bytes=0-\u00b9", 200, CONTENT),
    ("bytes=1 - 2", 206, CONTENT[1:3]),
    ("bytes=", 200, CONTENT),
    ("bytes=,,,,", 200, CONTENT),
    ("items=0-5", 200, CONTENT),
]


@pytest.mark.parametrize(("spec", "status", "body"), RANGES, ids=[r[0][:24] for r in RANGES])
def test_range_abuse_is_answered_correctly_and_cheaply(files, anon, spec, status, body):
    _, _, link, _ = files[0]
    started = time.monotonic()
    r = anon.get(link, headers={"Range": spec.encode("latin-1")})
    assert time.monotonic() - started < 2
    assert r.status_code == status, r.text[:200]
    if status == 416:
        assert r.headers["content-range"] == f"bytes */{SIZE}"
        assert r.json()["error"] == "range_not_satisfiable"
    else:
        assert r.content == body
        assert int(r.headers["content-length"]) == len(body)


def test_many_disjoint_ranges_stay_bounded(files, anon):
    """64 one-byte parts (the most honoured): a multipart answer of bounded size."""
    _, _, link, _ = files[0]
    spec = "bytes=" + ",".join(f"{i * 100}-{i * 100}" for i in range(64))
    r = anon.get(link, headers={"Range": spec})
    assert r.status_code == 206
    assert r.headers["content-type"].startswith("multipart/byteranges")
    assert r.content.count(b"Content-Range: bytes ") == 64
    assert len(r.content) < 64 * 200
    spec = "bytes=" + ",".join(f"{i * 100}-{i * 100}" for i in range(65))
    assert anon.get(link, headers={"Range": spec}).status_code == 200


@pytest.mark.parametrize(
    "validator",
    ['"wrong"', 'W/"weak"', "Mon, 01 Jan 1990 00:00:00 GMT", "garbage", "", '"a", "b"'],
)
def test_if_range_with_a_wrong_validator_sends_the_whole_file(files, anon, validator):
    _, _, link, _ = files[0]
    r = anon.get(link, headers={"Range": "bytes=0-9", "If-Range": validator})
    assert r.status_code == 200 and r.content == CONTENT


def test_if_range_with_the_right_validator_sends_the_range(files, anon):
    _, _, link, _ = files[0]
    etag = anon.head(link).headers["etag"]
    r = anon.get(link, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert r.status_code == 206 and r.content == CONTENT[:10]


# -- open redirects ----------------------------------------------------------------------

TARGETS = [
    "//evil.example", "//evil.example/files", "https://evil.example", "http://evil.example/",
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "javascript:alert(1)",
    "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>", "/\t/evil.example",
    "/\r\n/evil.example", "///evil.example", "https:evil.example", "%2F%2Fevil.example",
    "evil.example", " //evil.example", "/%09/evil.example",
]  # fmt: skip


def _local(location: str) -> bool:
    """A path on this site, as a browser would resolve it against our origin."""
    resolved = httpx.URL("http://partage.test/files").join(location)
    return resolved.host == "partage.test" and resolved.scheme == "http"


@pytest.fixture(scope="module")
def someone(server) -> int:
    """An account the administrator suspends and restores (not one of the cast)."""
    acc = make_account(server)
    acc.client.close()
    return user_id(server, acc.email)


@pytest.mark.parametrize("target", TARGETS)
def test_redirect_targets_never_leave_the_site(server, cast, someone, target):
    alice = cast["alice"]
    with httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.post("/login", data={"email": alice.email, "password": alice.account.password,
                                   "next": target})  # fmt: skip
        assert r.status_code == 303 and _local(r.headers["location"]), r.headers["location"]
        r = c.post("/language", data={"lang": "en", "next": target, "csrf_token": csrf_of(
            c.get("/account", headers=HTML).text)})  # fmt: skip
        assert r.status_code == 303 and _local(r.headers["location"]), r.headers["location"]
    with httpx.Client(base_url=server.url, timeout=30) as visitor:
        r = visitor.post("/language", data={"lang": "fr", "next": target})
        assert r.status_code == 303 and _local(r.headers["location"]), r.headers["location"]
    admin = cast["admin"]
    for action in ("suspend", "unsuspend"):
        form = {"csrf_token": admin.csrf, "reason": "t", "back": target}
        r = admin.web.post(f"/admin/users/{someone}/{action}", data=form)
        assert r.status_code == 303, r.text[:300]
        assert _local(r.headers["location"]), r.headers["location"]


def test_login_page_never_offers_a_foreign_next(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for target in TARGETS:
            page = c.get("/login", params={"next": target}, headers=HTML)
            assert page.status_code == 200
            assert 'value="//evil' not in page.text and 'value="https://evil' not in page.text
            assert "javascript:" not in page.text.lower()


def _reset_link_logged(server, email: str, host: str) -> str:
    """Ask a reset for `email` with this Host header; the link the server logs for it."""
    log = server.data_dir.parent / f"server-{server.data_dir.name}.log"
    before = log.stat().st_size
    r = httpx.post(server.url + "/api/v1/password/forgot", json={"email": email},
                   headers={"Host": host}, timeout=30)  # fmt: skip
    assert r.status_code == 202
    pattern = re.compile(rf"mail to {re.escape(email)} not sent .*pass on this link: (\S+)")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with log.open("rb") as f:
            f.seek(before)
            if m := pattern.search(f.read().decode(errors="replace")):
                return m.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no reset link for {email} logged")


def test_account_mail_links_never_take_the_requests_host(fresh_server):
    """Whoever asks a reset for alice's address chooses the Host: the link mailed to
    alice (logged here: the server has neither SMTP nor PARTAGE_BASE_URL) must not
    point elsewhere. It is a path for the operator to complete; the server's own
    loopback address, which only this machine reaches it by, still gives a whole link
    (with SMTP, PARTAGE_BASE_URL is required: tests/accounts/test_mail_setup.py)."""
    server = fresh_server
    server.env["PARTAGE_PASSWORD_RESET_RATE_PER_EMAIL"] = "100/hour"  # one address, 4 asks
    server.start()
    email = make_account(server).email
    for host in ("evil.example", "evil.example:" + str(server.port), "203.0.113.9"):
        link = _reset_link_logged(server, email, host)
        assert link.startswith("/password/reset/"), (host, link)
    own = _reset_link_logged(server, email, f"127.0.0.1:{server.port}")
    assert own.startswith(server.url + "/password/reset/"), own
    page = httpx.get(own, headers=HTML, timeout=30)
    assert page.status_code == 200 and "password" in page.text.lower()
