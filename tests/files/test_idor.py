"""Two accounts: bob can do nothing with alice's files and folders, and cannot tell
them from things that do not exist."""

from __future__ import annotations

import pytest


@pytest.fixture
def alices(alice, maker):
    folder = alice.client.post("/api/v1/folders", json={"name": "Alice only"}).json()
    sub = alice.client.post(
        "/api/v1/folders", json={"name": "Sub", "parent_id": folder["id"]}
    ).json()
    public = maker.file(alice, b"alice public", "a-public.txt", folder_id=folder["id"])
    private = maker.file(alice, b"alice private", "a-private.txt", public=False)
    return folder, sub, public, private


def test_bob_cannot_touch_alices_files(alice, bob, alices, maker):
    folder, _, public, private = alices
    c = bob.client
    for made in (public, private):
        code = made.code
        mine = c.get(f"/api/v1/files/{code}")
        missing = c.get("/api/v1/files/zzzzzzzzzzzz")
        assert mine.status_code == missing.status_code == 404
        assert mine.json()["message"].replace(code, "?") == missing.json()["message"].replace(
            "zzzzzzzzzzzz", "?"
        )
        assert c.patch(f"/api/v1/files/{code}", json={"name": "pwned.txt"}).status_code == 404
        assert c.patch(f"/api/v1/files/{code}", json={"public": True}).status_code == 404
        assert c.delete(f"/api/v1/files/{code}").status_code == 404
        for action in ("move", "copy", "delete"):
            r = c.post("/api/v1/files/bulk", json={"action": action, "codes": [code]})
            assert r.status_code == 404, action
    # nothing happened to alice's files, and bob got no copy
    for made, name in ((public, "a-public.txt"), (private, "a-private.txt")):
        f = alice.client.get(f"/api/v1/files/{made.code}").json()
        assert f["name"] == name and f["status"] == "active"
    assert alice.client.get(f"/api/v1/files/{private.code}").json()["public"] is False
    assert c.get("/api/v1/files", params={"all": "true"}).json()["total"] == 0
    assert c.get("/api/v1/files", params={"search": "a-p"}).json()["total"] == 0


def test_bob_cannot_use_alices_folders(alice, bob, alices, maker):
    folder, sub, public, _ = alices
    c = bob.client
    fid = folder["id"]
    assert c.get("/api/v1/files", params={"folder": fid}).status_code == 404
    assert c.get("/api/v1/folders", params={"parent_id": fid}).status_code == 404
    assert c.get(f"/api/v1/folders/{fid}").status_code == 404
    assert c.patch(f"/api/v1/folders/{fid}", json={"name": "pwned"}).status_code == 404
    assert c.patch(f"/api/v1/folders/{sub['id']}", json={"parent_id": None}).status_code == 404
    assert c.delete(f"/api/v1/folders/{fid}", params={"force": "true"}).status_code == 404
    assert c.post("/api/v1/folders", json={"name": "in", "parent_id": fid}).status_code == 404
    # alice's folder as a target for bob's own things
    mine = maker.file(bob, b"bob's", "bob.txt")
    bobs_folder = c.post("/api/v1/folders", json={"name": "Bob"}).json()
    assert c.patch(f"/api/v1/files/{mine.code}", json={"folder_id": fid}).status_code == 404
    for action in ("move", "copy"):
        r = c.post("/api/v1/files/bulk", json={"action": action, "codes": [mine.code],
                                               "folder_id": fid})  # fmt: skip
        assert r.status_code == 404
    r = c.patch(f"/api/v1/folders/{bobs_folder['id']}", json={"parent_id": fid})
    assert r.status_code == 404
    # and the reverse: bob's folder as a target for alice
    r = alice.client.patch(f"/api/v1/files/{public.code}", json={"folder_id": bobs_folder["id"]})
    assert r.status_code == 404
    # alice's tree is intact
    data = alice.client.get(f"/api/v1/folders/{fid}").json()
    assert data["name"] == "Alice only"
    assert [f["name"] for f in data["folders"]] == ["Sub"]
    assert [f["code"] for f in data["files"]["items"]] == [public.code]
    assert c.get(f"/api/v1/files/{mine.code}").json()["folder_id"] is None


def test_bob_cannot_see_alices_private_files(bob, alices, anon):
    _, _, public, private = alices
    for client in (bob.client, anon):
        items = client.get(
            "/api/v1/links/info", params={"codes": f"{private.code},zzzzzzzzzzzz,{public.code}"}
        ).json()["items"]
        assert items[0]["available"] is False
        assert {k: v for k, v in items[0].items() if k != "code"} == {
            k: v for k, v in items[1].items() if k != "code"
        }
        assert items[2]["available"] is True
        r = client.get(f"/{private.code}", headers={"Accept": "application/json"})
        assert r.status_code == 404
        assert r.json() == {"error": "not_found", "message": "No file at this address."}


def test_bob_cannot_reuse_alices_owner_link_after_privacy_change(alice, alices, maker, anon):
    _, _, public, _ = alices
    visitor = maker.visitor_link(public.code)
    r = alice.client.patch(f"/api/v1/files/{public.code}", json={"public": False})
    assert r.status_code == 200
    assert anon.get(visitor).status_code == 403  # handed out before: revoked
    assert anon.get(f"/{public.code}", headers={"Accept": "application/json"}).status_code == 404
