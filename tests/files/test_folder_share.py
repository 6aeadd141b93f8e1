"""Public folder links: `PATCH /api/v1/folders/{id}` with `shared`, `share_url` in the
folder JSON, and the shared folder's page `/s/<hash>` as visitors meet it (HTML, JSON)."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

from partage.files.models import FileStatus
from tests.files.conftest import set_fields

HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


def _folder(acc, name, parent_id=None):
    r = acc.client.post("/api/v1/folders", json={"name": name, "parent_id": parent_id})
    assert r.status_code == 201, r.text
    return r.json()


def _share(acc, folder_id, shared=True):
    r = acc.client.patch(f"/api/v1/folders/{folder_id}", json={"shared": shared})
    assert r.status_code == 200, r.text
    return r.json()


def test_share_and_unshare(account_factory, server, anon):
    alice, bob = account_factory(), account_factory()
    folder = _folder(alice, "Holiday")
    assert folder["shared"] is False and folder["share_url"] is None

    shared = _share(alice, folder["id"])
    url = shared["share_url"]
    assert shared["shared"] is True
    assert re.fullmatch(re.escape(server.url) + r"/s/[A-Za-z0-9_-]{22}", url), url
    # Every folder JSON carries it: the listing, the folder, a rename.
    items = alice.client.get("/api/v1/folders").json()["items"]
    assert [f["share_url"] for f in items if f["id"] == folder["id"]] == [url]
    assert alice.client.get(f"/api/v1/folders/{folder['id']}").json()["share_url"] == url
    renamed = alice.client.patch(f"/api/v1/folders/{folder['id']}", json={"name": "Trip"})
    assert renamed.json()["share_url"] == url and renamed.json()["name"] == "Trip"
    # Sharing again keeps the address.
    assert _share(alice, folder["id"])["share_url"] == url

    page = anon.get(url, headers=HTML)
    assert page.status_code == 200 and "Trip" in page.text

    # Someone else's folder is not found, whatever the call.
    r = bob.client.patch(f"/api/v1/folders/{folder['id']}", json={"shared": False})
    assert r.status_code == 404
    r = alice.client.patch(f"/api/v1/folders/{folder['id']}", json={"shared": None})
    assert r.status_code == 400

    unshared = _share(alice, folder["id"], False)
    assert unshared["shared"] is False and unshared["share_url"] is None
    r = anon.get(url, headers=HTML)
    assert r.status_code == 404
    assert "Folder not found" in r.text and "stopped sharing" in r.text
    assert "Trip" not in r.text
    r = anon.get(url, headers=JSON)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert anon.get(url + "?format=zip").status_code == 404

    again = _share(alice, folder["id"])["share_url"]
    assert again != url
    assert anon.get(url, headers=HTML).status_code == 404
    assert anon.get(again, headers=HTML).status_code == 200


def test_unknown_hash_is_404(anon):
    for path in ("/s/nothing-here", "/s/" + "x" * 40, "/s/abc/def"):
        r = anon.get(path, headers=HTML)
        assert r.status_code == 404, path
        assert 'data-error="not_found"' in r.text


def test_listing_rules(account_factory, maker, anon):
    alice = account_factory()
    top = _folder(alice, "Shared <i>stuff<i>")
    sub = _folder(alice, "Sub folder", top["id"])
    _folder(alice, "Déjà vu", sub["id"])
    outside = _folder(alice, "Secret outside")
    public = maker.file(alice, b"public bytes", "public.txt", folder_id=top["id"])
    private = maker.file(alice, b"private bytes", "private.txt", folder_id=top["id"], public=False)
    protected = maker.file(alice, b"pw bytes", "protected.txt", folder_id=top["id"], password="pw")
    expired = maker.file(alice, b"x", "expired.txt", folder_id=top["id"], expires="1h")
    set_fields(maker, expired.code, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    disabled = maker.file(alice, b"x", "disabled.txt", folder_id=top["id"])
    set_fields(maker, disabled.code, status=FileStatus.disabled)
    deleted = maker.file(alice, b"x", "deleted.txt", folder_id=top["id"])
    assert alice.client.delete(f"/api/v1/files/{deleted.code}").status_code == 204
    exhausted = maker.file(alice, b"x", "exhausted.txt", folder_id=top["id"], max_downloads=1)
    set_fields(maker, exhausted.code, downloads=1)
    in_sub = maker.file(alice, b"in sub", "in-sub.txt", folder_id=sub["id"])
    maker.file(alice, b"secret", "secret.txt", folder_id=outside["id"])

    url = _share(alice, top["id"])["share_url"]
    data = anon.get(url, headers=JSON).json()
    assert data["name"] == "Shared <i>stuff<i>"
    assert [f["name"] for f in data["folders"]] == ["Sub folder"]
    files = {f["name"]: f for f in data["files"]}
    assert sorted(files) == ["private.txt", "protected.txt", "public.txt"]
    assert files["public.txt"]["page_url"].endswith(f"/{public.code}")
    assert files["private.txt"]["page_url"] is None  # its own page stays private
    assert files["protected.txt"]["download_url"] is None
    assert files["protected.txt"]["page_url"].endswith(f"/{protected.code}")
    # A private file downloads through the folder's signed link, and only that way.
    assert anon.get(files["private.txt"]["download_url"]).content == b"private bytes"
    assert anon.get(f"/{private.code}", headers=JSON).status_code == 404
    assert anon.get(files["public.txt"]["download_url"]).content == b"public bytes"

    page = anon.get(url, headers=HTML)
    assert page.status_code == 200
    assert "Shared &lt;i&gt;stuff&lt;i&gt;" in page.text and "<i>stuff" not in page.text
    assert "Password protected" in page.text
    for gone in ("expired.txt", "disabled.txt", "deleted.txt", "exhausted.txt", "secret.txt"):
        assert gone not in page.text

    # A subfolder, by name: breadcrumbs start at the shared folder, never above it.
    sub_url = data["folders"][0]["url"]
    assert sub_url == url + "/Sub%20folder"
    sub_data = anon.get(sub_url, headers=JSON).json()
    assert [p["name"] for p in sub_data["path"]] == ["Shared <i>stuff<i>", "Sub folder"]
    assert sub_data["path"][0]["url"] == url
    assert [f["name"] for f in sub_data["files"]] == ["in-sub.txt"]
    assert anon.get(sub_data["files"][0]["download_url"]).content == in_sub.content
    deep_page = anon.get(sub_data["folders"][0]["url"], headers=HTML)
    assert deep_page.status_code == 200 and "Déjà vu" in deep_page.text
    assert anon.get(url + "/sub%20FOLDER", headers=JSON).status_code == 200  # any case
    # Nothing outside the shared folder is reachable through it.
    for path in ("/Secret%20outside", "/..", "/Sub%20folder/../../Secret%20outside", "/nope"):
        r = anon.get(url + path, headers=HTML)
        assert r.status_code == 404, path
        assert "secret.txt" not in r.text
    crumbs = page.text.split('class="crumbs"')[1].split("</nav>")[0]
    assert "Secret" not in crumbs and html_lib.escape("Shared <i>stuff<i>") in crumbs


def test_unsharing_a_parent_closes_subfolders(account_factory, anon):
    alice = account_factory()
    top = _folder(alice, "Top")
    _folder(alice, "Child", top["id"])
    url = _share(alice, top["id"])["share_url"]
    assert anon.get(url + "/Child", headers=HTML).status_code == 200
    _share(alice, top["id"], False)
    assert anon.get(url + "/Child", headers=HTML).status_code == 404
