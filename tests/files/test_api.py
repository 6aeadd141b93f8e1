"""The files and folders JSON API, including bad inputs, through the real server."""

from __future__ import annotations

import httpx
import pytest

FILE_KEYS = {
    "code", "name", "size", "sha256", "mime", "description", "folder_id", "created",
    "downloads", "last_download", "status", "url", "download_url", "public", "has_password",
    "expires", "max_downloads", "unavailable",
}  # fmt: skip


def _err(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "message"}
    if code:
        assert body["error"] == code, body
    return body


def _folder(acc, name: str, parent_id: int | None = None) -> dict:
    r = acc.client.post("/api/v1/folders", json={"name": name, "parent_id": parent_id})
    assert r.status_code == 201, r.text
    return r.json()


# -- files -----------------------------------------------------------------------------------


def test_file_json_and_owner_link(alice, maker, anon):
    made = maker.file(alice, b"some bytes", "notes.txt")
    r = alice.client.get(f"/api/v1/files/{made.code}")
    assert r.status_code == 200
    f = r.json()
    assert set(f) == FILE_KEYS
    assert f["code"] == made.code and f["name"] == "notes.txt" and f["size"] == 10
    assert f["sha256"] == made.sha256 and f["mime"] == "text/plain"
    assert f["created"].endswith("Z") and f["downloads"] == 0 and f["status"] == "active"
    assert f["url"].endswith(f"/{made.code}") and f["url"].startswith("http://127.0.0.1:")
    assert f["download_url"].startswith("http://127.0.0.1:") and "/d/" in f["download_url"]
    assert f["public"] is True and f["has_password"] is False
    assert f["expires"] is None and f["max_downloads"] is None
    assert anon.get(f["download_url"]).content == b"some bytes"


def test_get_unknown_or_malformed_code_is_404(alice):
    for code in ("zzzzzzzzzzzz", "short", "UPPERCASEXXX", "../../etc"):
        _err(alice.client.get(f"/api/v1/files/{code}"), 404, "not_found")


def test_api_needs_a_token(server, alice, maker):
    made = maker.file(alice, b"x", "x.txt")
    with httpx.Client(base_url=server.url) as c:
        for method, path in [("GET", "/api/v1/files"), ("GET", f"/api/v1/files/{made.code}"),
                             ("PATCH", f"/api/v1/files/{made.code}"), ("GET", "/api/v1/folders"),
                             ("DELETE", f"/api/v1/files/{made.code}")]:  # fmt: skip
            _err(c.request(method, path, json={}), 401, "not_authenticated")
    r = httpx.get(server.url + "/api/v1/files", headers={"Authorization": "Bearer nope"})
    _err(r, 401, "not_authenticated")


def test_list_order_paging_search(alice, maker):
    maker.file(alice, b"a" * 30, "Banana.txt")
    maker.file(alice, b"b" * 10, "apple.txt")
    maker.file(alice, b"c" * 20, "cherry pie.txt")
    c = alice.client
    r = c.get("/api/v1/files")
    assert r.status_code == 200
    data = r.json()
    assert set(data) == {"items", "total", "page", "per_page"}
    assert data["total"] == 3 and data["page"] == 1 and data["per_page"] == 50
    names = lambda resp: [f["name"] for f in resp.json()["items"]]  # noqa: E731
    assert names(r) == ["cherry pie.txt", "apple.txt", "Banana.txt"]  # newest first
    assert names(c.get("/api/v1/files", params={"order": "name"})) == [
        "apple.txt", "Banana.txt", "cherry pie.txt"
    ]  # fmt: skip
    assert names(c.get("/api/v1/files", params={"order": "-size"}))[0] == "Banana.txt"
    assert names(c.get("/api/v1/files", params={"order": "size"}))[0] == "apple.txt"
    p2 = c.get("/api/v1/files", params={"order": "name", "per_page": 2, "page": 2}).json()
    assert [f["name"] for f in p2["items"]] == ["cherry pie.txt"] and p2["total"] == 3
    assert names(c.get("/api/v1/files", params={"search": "PIE"})) == ["cherry pie.txt"]
    assert names(c.get("/api/v1/files", params={"search": "%"})) == []
    assert names(c.get("/api/v1/files", params={"search": "_"})) == []


def test_list_bad_inputs(alice):
    c = alice.client
    body = _err(c.get("/api/v1/files", params={"order": "colour"}), 400, "bad_request")
    assert "order must be one of" in body["message"]
    _err(c.get("/api/v1/files", params={"order": "-"}), 400)
    _err(c.get("/api/v1/files", params={"per_page": 0}), 422)
    _err(c.get("/api/v1/files", params={"per_page": 5000}), 422)
    _err(c.get("/api/v1/files", params={"page": 0}), 422)
    _err(c.get("/api/v1/files", params={"page": "two"}), 422, "invalid_request")
    _err(c.get("/api/v1/files", params={"folder": 999999}), 404, "not_found")
    _err(c.get("/api/v1/files", params={"folder": "x"}), 422)
    _err(c.get("/api/v1/files", params={"path": "no/such/folder"}), 404)
    _err(c.get("/api/v1/files", params={"path": "a", "folder": 1}), 400)


def test_list_by_folder_and_path(alice, maker):
    docs = _folder(alice, "Docs")
    sub = _folder(alice, "2024", docs["id"])
    maker.file(alice, b"1", "root.txt")
    maker.file(alice, b"2", "in-docs.txt", folder_id=docs["id"])
    maker.file(alice, b"3", "in-sub.txt", folder_id=sub["id"])
    c = alice.client

    def names(**params):
        r = c.get("/api/v1/files", params=params)
        assert r.status_code == 200, r.text
        return sorted(f["name"] for f in r.json()["items"])

    assert names() == ["root.txt"]
    assert names(folder=docs["id"]) == ["in-docs.txt"]
    assert names(folder_id=docs["id"]) == ["in-docs.txt"]
    assert names(path="docs/2024") == ["in-sub.txt"]
    assert names(path="/") == ["root.txt"]
    assert names(all="true") == ["in-docs.txt", "in-sub.txt", "root.txt"]


def test_patch_file(alice, maker, anon):
    made = maker.file(alice, b"patch me", "before.txt")
    folder = _folder(alice, "Target")
    c = alice.client
    url = f"/api/v1/files/{made.code}"
    r = c.patch(url, json={"name": "after ✓.txt", "description": "hello"})
    assert r.status_code == 200
    assert r.json()["name"] == "after ✓.txt" and r.json()["description"] == "hello"
    assert c.patch(url, json={"folder_id": folder["id"]}).json()["folder_id"] == folder["id"]
    assert c.patch(url, json={"folder_id": None}).json()["folder_id"] is None
    assert c.patch(url, json={"description": None}).json()["description"] == ""

    f = c.patch(url, json={"public": False, "password": "pw", "expires": "2099-01-31T12:00:00Z",
                           "max_downloads": 5}).json()  # fmt: skip
    assert f["public"] is False and f["has_password"] is True
    assert f["expires"] == "2099-01-31T12:00:00Z" and f["max_downloads"] == 5
    assert anon.get(f"/{made.code}", headers={"Accept": "application/json"}).status_code == 404
    assert c.patch(url, json={"expires": "7d"}).json()["expires"].startswith("20")
    f = c.patch(url, json={"public": True, "password": None, "expires": None,
                           "max_downloads": None}).json()  # fmt: skip
    assert f["public"] is True and f["has_password"] is False
    assert f["expires"] is None and f["max_downloads"] is None
    assert anon.get(f["download_url"]).content == b"patch me"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "a/b.txt"}, 400, "invalid_name"),
        ({"name": "a\\b.txt"}, 400, "invalid_name"),
        ({"name": "bad\x00name"}, 400, "invalid_name"),
        ({"name": "   "}, 400, "invalid_name"),
        ({"name": ".."}, 400, "invalid_name"),
        ({"name": "é" * 200}, 400, "invalid_name"),
        ({"name": None}, 400, "bad_request"),
        ({"folder_id": 999999}, 404, "not_found"),
        ({"folder_id": "x"}, 422, "invalid_request"),
        ({"expires": "yesterday"}, 400, "bad_request"),
        ({"expires": "2001-01-01T00:00:00Z"}, 400, "bad_request"),
        ({"expires": 12}, 400, "bad_request"),
        ({"max_downloads": 0}, 400, "bad_request"),
        ({"max_downloads": -3}, 400, "bad_request"),
        ({"max_downloads": "many"}, 400, "bad_request"),
        ({"max_downloads": True}, 400, "bad_request"),
        ({"public": "perhaps"}, 400, "bad_request"),
        ({"public": None}, 400, "bad_request"),
        ({"password": 1234}, 422, "invalid_request"),
        ({"colour": "red"}, 422, "invalid_request"),
        ({"description": "x" * 10_001}, 400, "bad_request"),
    ],
)
def test_patch_bad_inputs(owner, maker, body, status, code):
    made = maker.file(owner, b"stay the same", "same.txt")
    _err(owner.client.patch(f"/api/v1/files/{made.code}", json=body), status, code)
    assert owner.client.get(f"/api/v1/files/{made.code}").json()["name"] == "same.txt"


def test_patch_not_json(owner, maker):
    made = maker.file(owner, b"x", "x.txt")
    r = owner.client.patch(
        f"/api/v1/files/{made.code}", content=b"name=y", headers={"Content-Type": "text/plain"}
    )
    _err(r, 422, "invalid_request")


def test_delete_file_purges_bytes(alice, maker, anon):
    made = maker.file(alice, b"unique bytes to purge " + made_marker(), "purge.txt")
    link = maker.owner_link(alice, made.code)
    assert maker.ctx.store.exists(made.sha256)
    assert alice.client.delete(f"/api/v1/files/{made.code}").status_code == 204
    assert not maker.ctx.store.exists(made.sha256)
    _err(alice.client.get(f"/api/v1/files/{made.code}"), 404)
    _err(alice.client.delete(f"/api/v1/files/{made.code}"), 404)
    assert anon.get(link).status_code == 410
    assert made.code not in [f["code"] for f in alice.client.get("/api/v1/files").json()["items"]]


def made_marker() -> bytes:
    import os

    return os.urandom(16)


def test_deduplicated_bytes_stay_while_used(alice, maker):
    content = b"shared " + made_marker()
    a = maker.file(alice, content, "a.txt")
    b = maker.file(alice, content, "b.txt")
    assert a.sha256 == b.sha256
    assert alice.client.delete(f"/api/v1/files/{a.code}").status_code == 204
    assert maker.ctx.store.exists(a.sha256)
    assert alice.client.delete(f"/api/v1/files/{b.code}").status_code == 204
    assert not maker.ctx.store.exists(a.sha256)


def test_bulk_move_copy_delete(alice, maker, anon):
    one = maker.file(alice, b"one " + made_marker(), "one.txt")
    two = maker.file(alice, b"two", "two.txt")
    box = _folder(alice, "Box")
    c = alice.client
    r = c.post("/api/v1/files/bulk", json={"action": "move", "codes": [one.code, two.code],
                                           "folder_id": box["id"]})  # fmt: skip
    assert r.status_code == 200
    assert r.json()["action"] == "move"
    assert {f["folder_id"] for f in r.json()["files"]} == {box["id"]}
    r = c.post("/api/v1/files/bulk", json={"action": "copy", "codes": [one.code]})
    assert r.status_code == 200
    (copy,) = r.json()["files"]
    assert copy["code"] != one.code and copy["sha256"] == one.sha256 and copy["folder_id"] is None
    assert anon.get(copy["download_url"]).content.startswith(b"one ")
    r = c.post("/api/v1/files/bulk", json={"action": "delete", "codes": [one.code, two.code]})
    assert r.status_code == 200
    assert r.json() == {"action": "delete", "deleted": [one.code, two.code]}
    assert maker.ctx.store.exists(one.sha256)  # the copy still uses the bytes
    assert anon.get(copy["download_url"]).status_code == 200
    c.post("/api/v1/files/bulk", json={"action": "move", "codes": [copy["code"]],
                                       "folder_id": None})  # fmt: skip
    assert c.get(f"/api/v1/files/{copy['code']}").json()["folder_id"] is None


def test_bulk_bad_inputs(alice, maker):
    made = maker.file(alice, b"bulk", "bulk.txt")
    c = alice.client
    _err(c.post("/api/v1/files/bulk", json={"action": "shred", "codes": [made.code]}), 422)
    _err(c.post("/api/v1/files/bulk", json={"action": "delete", "codes": []}), 400)
    _err(c.post("/api/v1/files/bulk", json={"action": "delete"}), 422)
    _err(c.post("/api/v1/files/bulk", json={"action": "move", "codes": [made.code],
                                            "folder_id": 999999}), 404)  # fmt: skip
    # all or nothing: one unknown code and nothing is deleted
    r = c.post("/api/v1/files/bulk", json={"action": "delete",
                                           "codes": [made.code, "zzzzzzzzzzzz"]})  # fmt: skip
    _err(r, 404, "not_found")
    assert c.get(f"/api/v1/files/{made.code}").status_code == 200
    _err(c.post("/api/v1/files/bulk", json={"action": "copy", "codes": ["x"] * 1001}), 422)


# -- folders ---------------------------------------------------------------------------------


def test_folders_crud(alice, maker):
    c = alice.client
    assert c.get("/api/v1/folders").json() == {"parent_id": None, "items": []}
    docs = _folder(alice, "Docs")
    assert set(docs) == {"id", "name", "parent_id", "created", "shared", "share_url"}
    assert docs["name"] == "Docs" and docs["parent_id"] is None
    photos = _folder(alice, "Photos")
    y2024 = _folder(alice, "2024", photos["id"])
    assert [f["name"] for f in c.get("/api/v1/folders").json()["items"]] == ["Docs", "Photos"]
    children = c.get("/api/v1/folders", params={"parent_id": photos["id"]}).json()
    assert [f["id"] for f in children["items"]] == [y2024["id"]]

    made = maker.file(alice, b"pic", "pic.jpg", folder_id=y2024["id"])
    r = c.get(f"/api/v1/folders/{y2024['id']}")
    assert r.status_code == 200
    data = r.json()
    assert data["id"] == y2024["id"] and data["name"] == "2024"
    assert data["path"] == [{"id": photos["id"], "name": "Photos"}, {"id": y2024["id"],
                                                                      "name": "2024"}]  # fmt: skip
    assert data["folders"] == []
    assert [f["code"] for f in data["files"]["items"]] == [made.code]
    assert data["files"]["total"] == 1 and "download_url" in data["files"]["items"][0]

    # rename, move to the root, move under another folder
    r = c.patch(f"/api/v1/folders/{y2024['id']}", json={"name": "Year 2024"})
    assert r.status_code == 200 and r.json()["name"] == "Year 2024"
    assert (
        c.patch(f"/api/v1/folders/{y2024['id']}", json={"parent_id": None}).json()["parent_id"]
        is None
    )
    r = c.patch(f"/api/v1/folders/{y2024['id']}", json={"parent_id": docs["id"]})
    assert r.json()["parent_id"] == docs["id"]

    # mkdir -p
    r = c.post("/api/v1/folders", json={"path": "Docs/Year 2024/Jan/Week 1"})
    assert r.status_code == 201
    week = r.json()
    assert week["name"] == "Week 1"
    path = [p["name"] for p in c.get(f"/api/v1/folders/{week['id']}").json()["path"]]
    assert path == ["Docs", "Year 2024", "Jan", "Week 1"]


def test_folder_bad_inputs(alice):
    c = alice.client
    a = _folder(alice, "A")
    b = _folder(alice, "B", a["id"])
    cc = _folder(alice, "C", b["id"])
    _err(c.post("/api/v1/folders", json={"name": "a"}), 409, "conflict")  # case-insensitive
    _err(c.post("/api/v1/folders", json={"name": "x/y"}), 400, "invalid_name")
    _err(c.post("/api/v1/folders", json={"name": ""}), 400, "invalid_name")
    _err(c.post("/api/v1/folders", json={"name": "."}), 400, "invalid_name")
    _err(c.post("/api/v1/folders", json={}), 400, "bad_request")
    _err(c.post("/api/v1/folders", json={"name": "Z", "parent_id": 999999}), 404, "not_found")
    _err(c.post("/api/v1/folders", json={"name": "Z", "path": "Z"}), 400)
    _err(c.post("/api/v1/folders", json={"name": "Z", "extra": 1}), 422)
    _err(c.get("/api/v1/folders", params={"parent_id": 999999}), 404)
    _err(c.get("/api/v1/folders/999999"), 404)
    _err(c.get("/api/v1/folders/abc"), 422)
    # a folder cannot go into itself or below itself
    for target in (a["id"], b["id"], cc["id"]):
        body = _err(c.patch(f"/api/v1/folders/{a['id']}", json={"parent_id": target}), 400)
        assert "into itself" in body["message"]
    _err(c.patch(f"/api/v1/folders/{b['id']}", json={"name": "bad/name"}), 400, "invalid_name")
    _err(c.patch(f"/api/v1/folders/{b['id']}", json={"name": None}), 400)
    _err(c.patch(f"/api/v1/folders/{b['id']}", json={"parent_id": 999999}), 404)
    _folder(alice, "Taken", a["id"])
    _err(c.patch(f"/api/v1/folders/{b['id']}", json={"name": "taken"}), 409, "conflict")
    # nothing changed
    assert c.get(f"/api/v1/folders/{cc['id']}").json()["path"] == [
        {"id": a["id"], "name": "A"}, {"id": b["id"], "name": "B"}, {"id": cc["id"], "name": "C"}
    ]  # fmt: skip


def test_delete_folders(alice, maker, anon):
    c = alice.client
    top = _folder(alice, "Top")
    inner = _folder(alice, "Inner", top["id"])
    made = maker.file(alice, b"deep " + made_marker(), "deep.txt", folder_id=inner["id"])
    link = maker.owner_link(alice, made.code)
    empty = _folder(alice, "Empty")

    body = _err(c.delete(f"/api/v1/folders/{top['id']}"), 409, "conflict")
    assert "force" in body["message"]
    _err(c.delete(f"/api/v1/folders/{top['id']}", params={"force": "false"}), 409)
    _err(c.delete(f"/api/v1/folders/{top['id']}", params={"force": "maybe"}), 422)
    r = c.delete(f"/api/v1/folders/{empty['id']}")
    assert r.status_code == 200 and r.json() == {"id": empty["id"], "deleted_files": []}

    r = c.delete(f"/api/v1/folders/{top['id']}", params={"force": "true"})
    assert r.status_code == 200
    assert r.json() == {"id": top["id"], "deleted_files": [made.code]}
    _err(c.get(f"/api/v1/folders/{inner['id']}"), 404)
    _err(c.get(f"/api/v1/files/{made.code}"), 404)
    assert anon.get(link).status_code == 410
    assert not maker.ctx.store.exists(made.sha256)
    assert c.get("/api/v1/folders").json()["items"] == []
    _err(c.delete(f"/api/v1/folders/{top['id']}"), 404)
