"""IDOR on every object kind, swept over every route the application has.

alice owns one of each kind of object (a private file, a folder, a tus upload, an API
token, a web session, a subtitle, a statement of reasons after a moderator's decision on
her file, a shared folder) and the moderator owns a bank with an entry. bob (his token
on the API, his web session with its CSRF token on the pages) and an anonymous visitor
then send every method of every route that takes an id, with alice's ids in the path: an
owner's object answers 404 to anyone else (the same as a thing that does not exist), a
moderator's or administrator's route 403 to bob and 401 (API) or the login page (pages)
to a visitor. Nothing of alice's shows in any answer, and nothing changed afterwards.

`test_every_route_with_an_id_is_classified` walks the application's routes, so a new
route with an id fails here until it is given an expectation. tests/files/test_idor.py
keeps the files-and-folders specifics (bulk actions, moves into another's folder)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.security.conftest import JSON
from tests.uploads.conftest import TUS, meta

SECRET_NAME = "alice-secret-name.txt"
# How each route answers someone who does not own what its ids name.
OWNER = "owner"  # bob: 404; visitor: 401 (API), 404 or the login page (pages)
ROLE = "role"  # a moderator's or administrator's: bob 403 (or 404); visitor 401 / login
CAPABILITY = "capability"  # the unguessable secret in the path is the permission itself

CLASSES = {
    # files, folders, uploads, media, subtitles
    "/api/v1/files/{code}": OWNER,
    "/api/v1/folders/{folder_id}": OWNER,
    "/api/v1/uploads/{upload_id}": OWNER,
    "/api/v1/files/{code}/media": OWNER,
    "/api/v1/files/{code}/subtitles": OWNER,
    "/api/v1/files/{code}/subtitles/{subtitle_id}": OWNER,
    "/api/v1/files/{filename:anyname}": CAPABILITY,  # an upload under a name: bob's own
    "/{code}": OWNER,  # alice's file is private: no page for anyone else
    "/v/{code}": OWNER,
    "/embed/{code}": OWNER,
    # tokens and sessions
    "/api/v1/tokens/{token_id}": OWNER,
    "/api/v1/sessions/{session_id}": OWNER,
    "/account/tokens/{token_id}/revoke": OWNER,
    # statements of reasons, complaints and counter-notices of the uploader
    "/api/v1/statements/{ref}": OWNER,
    "/api/v1/statements/{ref}/complaints": OWNER,
    "/api/v1/statements/{ref}/counter-notices": OWNER,
    "/account/statements/{ref}": OWNER,
    "/account/statements/{ref}/complaint": OWNER,
    "/account/statements/{ref}/counter-notice": OWNER,
    # a notifier's receipt: its reference (80 random bits) is what the notifier holds
    "/api/v1/notices/{ref}": CAPABILITY,
    "/api/v1/notices/{ref}/complaints": CAPABILITY,
    "/api/v1/notices/{ref}/court-action": CAPABILITY,
    "/report/{ref}": CAPABILITY,
    "/report/{ref}/complaint": CAPABILITY,
    "/report/{ref}/court-action": CAPABILITY,
    "/password/reset/{secret}": CAPABILITY,
    "/account/email/confirm/{secret}": CAPABILITY,
    "/s/{share_hash}": CAPABILITY,
    "/s/{share_hash}/{sub_path:path}": CAPABILITY,
    "/m/{token}/{path:path}": CAPABILITY,
    # moderators
    "/api/v1/moderation/notices/{ref}": ROLE,
    "/api/v1/moderation/notices/{ref}/decide": ROLE,
    "/api/v1/moderation/decisions/{ref}": ROLE,
    "/api/v1/moderation/decisions/{ref}/reverse": ROLE,
    "/api/v1/moderation/complaints/{ref}": ROLE,
    "/api/v1/moderation/complaints/{ref}/decide": ROLE,
    "/api/v1/moderation/matches/{match_id}/decide": ROLE,
    "/moderation/notices/{ref}": ROLE,
    "/moderation/notices/{ref}/decide": ROLE,
    "/moderation/complaints/{ref}": ROLE,
    "/moderation/complaints/{ref}/decide": ROLE,
    "/moderation/matches/{match_id}/decide": ROLE,
    "/api/v1/banks/{bank_id}": ROLE,
    "/api/v1/banks/{bank_id}/entries": ROLE,
    "/api/v1/banks/{bank_id}/entries/{entry_id}": ROLE,
    "/api/v1/banks/{bank_id}/import": ROLE,
    "/api/v1/banks/{bank_id}/export": ROLE,
    "/api/v1/banks/{bank_id}/references": ROLE,
    "/moderation/banks/{bank_id}": ROLE,
    "/moderation/banks/{bank_id}/import": ROLE,
    "/moderation/banks/{bank_id}/entries/{entry_id}/delete": ROLE,
    # administrators
    "/api/v1/admin/media/{code}/retry": ROLE,
    "/api/v1/admin/media/{code}/cancel": ROLE,
    "/api/v1/admin/users/{user_id}": ROLE,
    "/api/v1/admin/users/{user_id}/suspend": ROLE,
    "/api/v1/admin/users/{user_id}/unsuspend": ROLE,
    "/api/v1/admin/plans/{plan_id}": ROLE,
    "/api/v1/admin/settings/{key}": ROLE,
    "/admin/users/{user_id}": ROLE,
    "/admin/users/{user_id}/plan": ROLE,
    "/admin/users/{user_id}/roles": ROLE,
    "/admin/users/{user_id}/suspend": ROLE,
    "/admin/users/{user_id}/unsuspend": ROLE,
    "/admin/users/{user_id}/delete": ROLE,
    "/admin/plans/{plan_id}": ROLE,
    "/admin/plans/{plan_id}/delete": ROLE,
    "/admin/jobs/{code}/{action}": ROLE,
}
# Routes without an id that only moderators or administrators may use (lists, the
# audit log, exports): bob gets 403, a visitor 401 or the login page.
ROLE_PREFIXES = ("/api/v1/admin", "/api/v1/moderation", "/admin", "/moderation")


def test_every_route_with_an_id_is_classified(routes):
    with_ids = {p for _, p in routes if "{" in p}
    assert with_ids - set(CLASSES) == set(), "give these routes an expectation in CLASSES"
    assert set(CLASSES) - with_ids == set(), "these routes are gone: drop them"


@pytest.fixture(scope="module")
def alices(server, cast) -> dict[str, Any]:
    """One of each of alice's objects (and the moderator's bank), by path parameter."""
    api, mod = cast["alice"].api, cast["mod"].api
    f = api.put(f"/api/v1/files/{SECRET_NAME}", content=b"private", headers=JSON).json()
    assert api.patch(f"/api/v1/files/{f['code']}", json={"public": False}).status_code == 200
    judged = api.put("/api/v1/files/judged.txt", content=b"judged", headers=JSON).json()
    r = mod.post("/api/v1/moderation/decisions", json={
        "action": "disable", "ground": "terms", "legal_ground": "Terms 4", "facts": "Spam.",
        "files": [judged["code"]]})  # fmt: skip
    assert r.status_code == 201, r.text
    statements = api.get("/api/v1/statements").json()
    items = statements["items"] if isinstance(statements, dict) else statements
    folder = api.post("/api/v1/folders", json={"name": "Alice folder"}).json()
    token = api.post("/api/v1/tokens", json={"name": "second"}).json()
    upload = api.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "10",
                      "Upload-Metadata": meta(filename="u.bin")}).headers["Location"]  # fmt: skip
    bank = mod.post("/api/v1/banks", json={"name": "mod bank", "on_match": "review"})
    assert bank.status_code == 201, bank.text
    bank_id = bank.json()["id"]
    return {
        "code": f["code"], "folder_id": folder["id"], "token_id": token["id"],
        "upload_id": upload.rsplit("/", 1)[1],
        "session_id": api.get("/api/v1/sessions").json()[0]["id"],
        "ref": items[0]["ref"], "subtitle_id": 1, "bank_id": bank_id, "entry_id": 1,
        "match_id": 1, "user_id": api.get("/api/v1/me").json()["id"], "plan_id": 1,
        "key": "site_notice", "action": "retry", "filename:anyname": "bob.txt",
    }  # fmt: skip


def _fill(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: str(ids[m.group(1)]), path)


BODIES = {
    "/api/v1/banks/": {"entries": [{"kind": "sha256", "value": "b" * 64, "label": "bob"}]},
    "/api/v1/files/": {"name": "pwned.txt", "public": True},
    "/api/v1/folders/": {"name": "pwned", "shared": True},
    "/api/v1/statements/": {"text": "This is mine, I contest."},
    "/api/v1/moderation/": {"action": "disable", "ground": "terms", "legal_ground": "x",
                            "facts": "x", "outcome": "reverse", "answer": "x"},
    "/api/v1/admin/users/": {"plan": "premium"},
    "/api/v1/admin/plans/": {"max_file_size": 1},
    "/api/v1/admin/settings/": {"value": "pwned"},
}  # fmt: skip


def _body(path: str) -> dict[str, Any]:
    if path.endswith("/media"):
        return {"password": "guess"}
    return next((b for prefix, b in BODIES.items() if path.startswith(prefix)), {})


def _send(client: httpx.Client, method: str, path: str, csrf: str | None) -> httpx.Response:
    headers = {**TUS, "Accept": "application/json"}
    if path.startswith("/api/"):
        if method in ("GET", "HEAD", "DELETE"):
            return client.request(method, path, headers=headers)
        headers["Upload-Offset"] = "0"
        if "/subtitles" in path:
            return client.post(path, files={"file": ("s.srt", b"1\n00:00:01,000 --> "
                               b"00:00:02,000\nhi\n")}, headers=headers)  # fmt: skip
        if method == "PATCH" and "/uploads/" in path:
            headers["Content-Type"] = "application/offset+octet-stream"
            return client.patch(path, content=b"bob", headers=headers)
        return client.request(method, path, json=_body(path), headers=headers)
    form = {"csrf_token": csrf or "", "name": "pwned", "confirm": "yes", "text": "mine",
            "plan": "premium", "password": "x"}  # fmt: skip
    headers["Accept"] = "text/html"
    if method == "POST":
        return client.post(path, data=form, headers=headers)
    return client.request(method, path, headers=headers)


def _sweep(routes: list[tuple[str, str]], cast, alices, anon) -> list[tuple]:
    """(class, who, method, path, response) for every route worth a try."""
    out = []
    for method, path in routes:
        cls = CLASSES.get(path)
        if cls is None:
            if not path.startswith(ROLE_PREFIXES):
                continue
            cls = ROLE
        if cls == CAPABILITY:
            continue
        url = _fill(path, alices)
        bob = cast["bob"]
        for who, client, csrf in (("bob", bob.api if url.startswith("/api/") else bob.web,
                                   bob.csrf), ("anon", anon, None)):  # fmt: skip
            r = _send(client, method, url, csrf)
            out.append((cls, who, method, path, r))
    return out


def _expected(cls: str, who: str, path: str, r: httpx.Response) -> bool:
    page = not path.startswith("/api/")
    to_login = r.status_code == 303 and r.headers.get("location", "").startswith("/login")
    if who == "anon":
        return r.status_code in (401, 404) or (page and (to_login or r.status_code == 403))
    if cls == OWNER:
        return r.status_code == 404
    return r.status_code in (403, 404)


def _snapshot(cast, alices) -> dict[str, Any]:
    alice, admin = cast["alice"].api, cast["admin"].api
    return {
        "file": {
            k: v
            for k, v in alice.get(f"/api/v1/files/{alices['code']}").json().items()
            if k != "download_url"
        },  # fmt: skip
        "folder": alice.get(f"/api/v1/folders/{alices['folder_id']}").json(),
        "tokens": sorted(t["id"] for t in alice.get("/api/v1/tokens").json()),
        "sessions": sorted(s["id"] for s in alice.get("/api/v1/sessions").json()),
        "upload": alice.get(f"/api/v1/uploads/{alices['upload_id']}").json()["offset"],
        "statement": alice.get(f"/api/v1/statements/{alices['ref']}").json(),
        "me": admin.get(f"/api/v1/admin/users/{alices['user_id']}").json(),
        "bank": cast["mod"].api.get(f"/api/v1/banks/{alices['bank_id']}").json(),
        "plans": admin.get("/api/v1/admin/plans").json(),
    }


def test_nobody_else_reaches_alices_objects(routes, cast, alices, anon):
    routes = sorted({(m, p) for m, p in routes if m not in ("OPTIONS", "HEAD")})
    before = _snapshot(cast, alices)
    wrong, leaks = [], []
    for cls, who, method, path, r in _sweep(routes, cast, alices, anon):
        if not _expected(cls, who, path, r):
            wrong.append((who, method, path, r.status_code, r.text[:120]))
        if SECRET_NAME in r.text or cast["alice"].email in r.text:
            leaks.append((who, method, path))
    assert wrong == [], "\n".join(map(str, wrong))
    assert leaks == []
    assert _snapshot(cast, alices) == before
    # and the objects are still alice's to use
    assert cast["alice"].api.get(f"/api/v1/files/{alices['code']}").json()["name"] == SECRET_NAME


GUESSES = {
    "ref": "N-AAAAAAAAAAAAAAAA", "secret": "s" * 43, "share_hash": "a" * 22,
    "sub_path:path": "x", "token": "a.b", "path:path": "master.m3u8", "filename:anyname": "x",
}  # fmt: skip


def test_a_guessed_capability_opens_nothing(routes, cast, anon):
    """The routes whose secret is the permission: a guess of the right shape is 404 (or
    the form's refusal), never another's object and never a 500."""
    for method, path in sorted(set(routes)):
        if CLASSES.get(path) != CAPABILITY or method not in ("GET", "POST"):
            continue
        if path.startswith("/api/v1/files/"):
            continue  # an upload under a name of one's own choosing: nothing to guess
        url = _fill(path, GUESSES)
        for client in (anon, cast["bob"].api):
            r = client.request(method, url, headers=JSON)
            assert r.status_code in (400, 403, 404, 410, 422), (method, path, r.status_code)
