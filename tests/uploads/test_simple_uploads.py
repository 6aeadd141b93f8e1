"""POST /api/v1/files (multipart) and PUT /api/v1/files/{name} (curl -T)."""

from __future__ import annotations

import subprocess
from urllib.parse import quote

from tests.uploads.conftest import blob_count, file_sha256, sha256

JSON = {"Accept": "application/json"}


def test_multipart_several_files_with_options(alice):
    a, b = b"first file", b"second file \xe2\x9c\x93"
    r = alice.client.post(
        "/api/v1/files",
        files=[("file", ("a.txt", a, "text/plain")), ("file", ("b.txt", b, "text/plain"))],
        data={
            "folder": "shared/mail",
            "password": "pw",
            "expires": "2099-01-01T00:00:00Z",
            "max_downloads": "5",
            "public": "false",
            "description": "two files",
        },
        headers=JSON,
    )
    assert r.status_code == 201, r.text
    files = r.json()["files"]
    assert [f["name"] for f in files] == ["a.txt", "b.txt"]
    assert [f["sha256"] for f in files] == [sha256(a), sha256(b)]
    for f in files:
        assert f["has_password"] and f["max_downloads"] == 5 and f["public"] is False
        assert f["expires"].startswith("2099-01-01")
        assert f["description"] == "two files"
        assert f["folder_id"] is not None
        assert f["download_url"]
    assert files[0]["folder_id"] == files[1]["folder_id"]


def test_multipart_answers_links_as_text_by_default(server, alice):
    r = alice.client.post(
        "/api/v1/files", files=[("file", ("x.bin", b"x")), ("file", ("y.bin", b"y"))]
    )
    assert r.status_code == 201
    assert r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert len(lines) == 2 and all(line.startswith(server.url + "/") for line in lines)


def test_multipart_errors(alice):
    r = alice.client.post("/api/v1/files", data={"folder": "x"})
    assert r.status_code == 415  # a urlencoded form is not multipart
    r = alice.client.post("/api/v1/files", data={"folder": "x"}, files={"other": ("", b"")})
    assert r.status_code == 400 and "No file" in r.json()["message"]
    r = alice.client.post("/api/v1/files", files={"file": ("a/b", b"x")})
    assert r.status_code == 400 and r.json()["error"] == "invalid_name"
    r = alice.client.post("/api/v1/files", files={"file": ("ok", b"x")}, data={"expires": "nope"})
    assert r.status_code == 400 and "expires" in r.json()["message"]
    r = alice.client.post(
        "/api/v1/files",
        content=b'--zz\r\nContent-Disposition: form-data; name="file"; filename="t"\r\n\r\nabc',
        headers={"Content-Type": "multipart/form-data; boundary=zz"},
    )
    assert r.status_code == 400 and "ended early" in r.json()["message"]
    r = alice.client.post(
        "/api/v1/files", content=b"x", headers={"Content-Type": "multipart/form-data"}
    )
    assert r.status_code == 400 and "boundary" in r.json()["message"]


def test_put_json_and_options(alice):
    data = b"raw body" * 1000
    r = alice.client.put(
        "/api/v1/files/notes.txt?max_downloads=2&folder=put/here&password=p",
        content=data,
        headers=JSON,
    )
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["name"] == "notes.txt" and f["size"] == len(data) and f["sha256"] == sha256(data)
    assert f["max_downloads"] == 2 and f["has_password"] and f["folder_id"]
    r = alice.client.put("/api/v1/files/x.txt?max_downloads=many", content=b"x")
    assert r.status_code == 400


def test_names_kept_for_display_and_bad_names_rejected(alice):
    name = "Résumé final – été 2024 (copie).pdf"
    r = alice.client.put("/api/v1/files/" + quote(name), content=b"%PDF-1.4 x", headers=JSON)
    assert r.status_code == 201 and r.json()["name"] == name
    r = alice.client.post("/api/v1/files", files={"file": (name, b"y")}, headers=JSON)
    assert r.json()["files"][0]["name"] == name
    for bad in ["a%2Fb", "a%5Cb", "bell%07", "line%0Abreak", "%2E%2E", "%20", quote("é" * 128)]:
        r = alice.client.put("/api/v1/files/" + bad, content=b"z")
        assert r.status_code == 400, bad
        assert r.json()["error"] == "invalid_name"
    for bad in ["..", "line\nbreak", "x" * 256, "dir\\file"]:
        r = alice.client.post("/api/v1/files", files={"file": (bad, b"z")})
        assert r.status_code == 400, bad
        assert r.json()["error"] == "invalid_name"
    r = alice.client.put("/api/v1/files/" + quote("é" * 127), content=b"z")  # 254 bytes: fine
    assert r.status_code == 201


def test_curl_upload_prints_the_link(server, alice, random_file):
    path = random_file(3_000_000, "curl upload.bin")
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "--fail-with-body",
            "-H",
            f"Authorization: Bearer {alice.token}",
            "-T",
            str(path),
            server.url + "/api/v1/files/",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    link = out.stdout.strip()
    assert link.startswith(server.url + "/") and len(link.rsplit("/", 1)[1]) == 12
    files = alice.client.put("/api/v1/files/again.bin", content=path.read_bytes(), headers=JSON)
    assert files.json()["sha256"] == file_sha256(path)


def test_curl_over_limit_prints_the_error(server, account_factory, random_file):
    acc = account_factory(max_file_size=1_000_000)
    path = random_file(2_000_000, "big.bin")
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-H",
            f"Authorization: Bearer {acc.token}",
            "-w",
            "%{http_code}",
            "-T",
            str(path),
            server.url + "/api/v1/files/big.bin",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.endswith("413")
    assert "allows files up to" in out.stdout


def test_put_same_content_dedups(server, alice, bob):
    data = b"dedup me " * 5000
    assert alice.client.put("/api/v1/files/one", content=data).status_code == 201
    before = blob_count(server)
    r = bob.client.put("/api/v1/files/two", content=data, headers=JSON)
    assert r.status_code == 201 and r.json()["sha256"] == sha256(data)
    r = bob.client.post("/api/v1/files", files={"file": ("three", data)}, headers=JSON)
    assert r.status_code == 201
    assert blob_count(server) == before
    assert not [p for p in (server.data_dir / "staging").iterdir() if p.name.startswith("in-")]


def test_put_requires_auth(server):
    import httpx

    r = httpx.put(server.url + "/api/v1/files/x", content=b"x")
    assert r.status_code == 401
