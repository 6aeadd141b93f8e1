"""Hostile input on a real server: oversize and deeply nested bodies, integers past 64
bits, names with bidirectional controls, addresses that are not UTF-8, and what an
unexpected error looks like from outside.

Routes are enumerated from the app itself, so a new endpoint is covered without a
change here."""

from __future__ import annotations

import base64
import json
import os
import re
import select
import socket
import time
import typing
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import text

from partage.app import create_app
from partage.files.names import BIDI_CONTROLS
from partage.settings import Settings
from partage.web.bodylimit import limit_of
from tests.admin.conftest import make_admin
from tests.conftest import Account, db_context, make_account
from tests.serverproc import Server

DEFAULT_LIMIT = Settings.model_fields["max_request_body"].default
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
HTML = {"Accept": "text/html"}


def _routes(tmp: Path) -> list[tuple[str, str, object]]:
    """(method, path template, route) of every route of the app, API and pages."""
    app = create_app(Settings(data_dir=tmp))
    out = []
    for rc in iter_route_contexts(app.routes):
        route = rc.route
        for method in sorted(getattr(route, "methods", None) or ()):
            out.append((method, route.path, route))
    return out


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, object]]:
    return _routes(tmp_path_factory.mktemp("routes"))


def _fill(path: str, value: str = "1") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _body_routes(routes: list[tuple[str, str, object]]) -> list[tuple[str, str]]:
    """Routes that take a body under the default limit (JSON and forms)."""
    out = []
    for method, path, route in routes:
        endpoint = getattr(route, "endpoint", None)
        if method in BODY_METHODS and limit_of(endpoint, DEFAULT_LIMIT) == DEFAULT_LIMIT:
            out.append((method, _fill(path)))
    return out


# -- oversize bodies ---------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants (granian's workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(m.group(1)) if m else 0
    return total


def _stream(srv: Server, path: str, total: int, chunk: int = 1 << 20) -> tuple[bytes, int]:
    """POST `total` bytes, chunked, made on the fly; stop as soon as the server answers.
    Returns (the answer as far as read, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    data = b"[" + b"0," * (chunk // 2 - 1)
    sent = 0
    try:
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered
            sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
            sent += len(data)
        else:
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server closed after answering: read what it said
    answer = b""
    deadline = time.monotonic() + 30
    while b"\r\n\r\n" not in answer and time.monotonic() < deadline:
        try:
            part = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not part:
            break
        answer += part
    sock.close()
    return answer, sent


def test_300_mb_to_notices_refused_while_reading_with_flat_memory(server: Server) -> None:
    assert server.proc is not None
    before = _rss_kib(server.proc.pid)
    started = time.monotonic()
    answer, sent = _stream(server, "/api/v1/notices", 300 * 1024 * 1024)
    elapsed = time.monotonic() - started
    after = _rss_kib(server.proc.pid)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b'"error":"request_too_large"' in answer
    assert sent < 300 * 1024 * 1024  # answered before the body ended
    assert elapsed < 20
    assert after - before < 40 * 1024, f"RSS grew by {(after - before) // 1024} MiB"
    # The server is still there for everyone else.
    assert httpx.get(server.url + "/api/v1/openapi.json", timeout=30).status_code == 200


def test_declared_length_refused_before_reading(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/notices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 314572800\r\n\r\n"
        )
        answer = sock.recv(65536)  # nothing of the body was sent: the answer comes anyway
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]


def test_every_json_and_form_endpoint_refuses_an_oversize_body(
    server: Server, routes: list[tuple[str, str, object]], alice: Account
) -> None:
    body = b"x" * (DEFAULT_LIMIT + 1)
    checked = 0
    for method, path in _body_routes(routes):
        for headers in ({"Content-Type": "application/json"}, {**HTML, "Content-Type":
                        "application/x-www-form-urlencoded"}):  # fmt: skip
            r = alice.client.request(method, path, content=body, headers=headers)
            assert r.status_code == 413, (method, path, r.status_code, r.text[:200])
            if headers.get("Accept") == "text/html" and not path.startswith("/api/"):
                assert "text/html" in r.headers["content-type"], (method, path)
                assert 'data-error="request_too_large"' in r.text
            else:
                assert r.json()["error"] == "request_too_large", (method, path)
            checked += 1
    assert checked > 60  # the enumeration found the routes


def test_uploads_keep_their_own_limits(alice: Account) -> None:
    """The routes made for large bodies take more than the JSON limit."""
    big = os.urandom(DEFAULT_LIMIT + 4096)
    r = alice.client.put("/api/v1/files/big.bin", content=big)
    assert r.status_code == 201, r.text
    r = alice.client.post("/api/v1/files", files={"file": ("big2.bin", big)})
    assert r.status_code == 201, r.text


# -- deeply nested JSON -----------------------------------------------------------------


def test_deeply_nested_json_is_refused_clearly_everywhere(
    server: Server, routes: list[tuple[str, str, object]], alice: Account
) -> None:
    anonymous = httpx.Client(base_url=server.url, timeout=60)
    r = anonymous.post(
        "/api/v1/notices", content=b"[" * 1000, headers={"Content-Type": "application/json"}
    )
    assert r.status_code in (400, 422), r.text
    assert "nested" in r.json()["message"] or "JSON" in r.json()["message"]
    deep = b"[" * 100_000 + b"]" * 100_000
    for method, path in _body_routes(routes):
        for client in (anonymous, alice.client):
            r = client.request(method, path, content=deep,
                               headers={"Content-Type": "application/json"})  # fmt: skip
            assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
    anonymous.close()


# -- integers past 64 bits ----------------------------------------------------------------


def _int_params(route: object) -> Iterator[tuple[str, str]]:
    """(where, name) of each integer path or query parameter of a route."""
    dependant = getattr(route, "dependant", None)
    todo = [dependant] if dependant is not None else []
    while todo:
        dep = todo.pop()
        todo.extend(dep.dependencies)
        for where, params in (("path", dep.path_params), ("query", dep.query_params)):
            for p in params:
                ann = p.field_info.annotation
                if ann is int or int in typing.get_args(ann):
                    yield where, p.name


# One past the bound (the first id PostgreSQL's integer cannot store), one past what
# SQLite stores, and far below zero.
@pytest.mark.parametrize("value", [2**31, 2**63, -(2**64)])
def test_every_integer_parameter_refuses_overflow(
    server: Server, routes: list[tuple[str, str, object]], value: int
) -> None:
    admin = make_admin(server)  # past every role check, to the parameters themselves
    checked = 0
    for method, path, route in routes:
        for where, name in _int_params(route):
            if where == "path":
                url = _fill(path.replace("{" + name + "}", str(value)))
                params = {}
            else:
                url, params = _fill(path), {name: str(value)}
            r = admin.api.request(method, url, params=params)
            assert r.status_code == 422, (method, url, params, r.status_code, r.text[:300])
            assert name in r.json()["message"], r.text
            checked += 1
    admin.api.close()
    assert checked > 50  # the enumeration found them


def test_the_reported_overflows(alice: Account) -> None:
    c = alice.client
    for r in (
        c.get("/api/v1/files", params={"folder_id": -18446744073709551616}),
        c.get("/api/v1/folders/99999999999999999999"),
        c.delete("/api/v1/sessions/1428321658950646742377657054265344"),
    ):
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid_request"
    r = c.put("/api/v1/files/e.txt", params={"expires": "99999999999d"}, content=b"x",
              headers={"Accept": "application/json"})  # fmt: skip
    assert r.status_code == 400, r.text
    assert "expires" in r.json()["message"]


# -- names ------------------------------------------------------------------------------


def _tus_create(c: httpx.Client, name: str) -> httpx.Response:
    meta = "filename " + base64.b64encode(name.encode()).decode()
    return c.post("/api/v1/uploads", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "1",
                                              "Upload-Metadata": meta})  # fmt: skip


def test_bidi_controls_are_refused_in_every_way_of_naming(alice: Account) -> None:
    c = alice.client
    c.headers["Accept"] = "application/json"  # PUT answers curl in plain text otherwise
    r = c.put("/api/v1/files/plain.txt", content=b"x")
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    folder = c.post("/api/v1/folders", json={"name": "plain"}).json()
    ways = {
        "PUT": lambda n: c.put(f"/api/v1/files/{n}", content=b"x"),
        "PUT folder": lambda n: c.put("/api/v1/files/a.txt", params={"folder": n}, content=b"x"),
        "multipart": lambda n: c.post("/api/v1/files", files={"file": (n, b"x")}),
        "tus": lambda n: _tus_create(c, n),
        "rename": lambda n: c.patch(f"/api/v1/files/{code}", json={"name": n}),
        "folder": lambda n: c.post("/api/v1/folders", json={"name": n}),
        "folder path": lambda n: c.post("/api/v1/folders", json={"path": f"a/{n}"}),
        "folder rename": lambda n: c.patch(f"/api/v1/folders/{folder['id']}", json={"name": n}),
    }
    for way, send in ways.items():
        for ch in sorted(BIDI_CONTROLS):
            r = send(f"invoice{ch}txt.exe")
            assert r.status_code == 400, (way, hex(ord(ch)), r.status_code, r.text)
            assert r.json()["error"] == "invalid_name"
            assert f"U+{ord(ch):04X}" in r.json()["message"]
    names = [f["name"] for f in c.get("/api/v1/files", params={"all": "true"}).json()["items"]]
    assert not any(set(n) & BIDI_CONTROLS for n in names)


def test_invalid_utf8_in_path_or_query_is_refused(server: Server, alice: Account) -> None:
    c = alice.client
    c.headers["Accept"] = "application/json"
    for r in (
        c.put(httpx.URL(server.url + "/api/v1/files/a%ffb"), content=b"x"),
        c.get(httpx.URL(server.url + "/api/v1/files?search=a%ffb")),
        c.get(httpx.URL(server.url + "/d/x/a%ffb")),
    ):
        assert r.status_code == 400, (r.request.url, r.text)
        assert r.json()["error"] == "invalid_encoding"
        assert "a%ffb" in r.json()["message"]
    r = c.get(httpx.URL(server.url + "/files?q=a%ffb"), headers=HTML)
    assert r.status_code == 400 and "text/html" in r.headers["content-type"]
    names = [f["name"] for f in c.get("/api/v1/files", params={"all": "true"}).json()["items"]]
    assert not any("\ufffd" in n for n in names)
    # Valid UTF-8, percent-encoded, still works.
    assert (
        c.put(httpx.URL(server.url + "/api/v1/files/caf%C3%A9.txt"), content=b"x").json()["name"]
        == "café.txt"
    )


# -- unexpected errors ------------------------------------------------------------------


def test_an_unexpected_error_is_a_json_500_with_a_request_id_logged_once(
    fresh_server: Server, tmp_path: Path
) -> None:
    """A real fault, not a mock: a table renamed under the running server."""
    srv = fresh_server.start()
    account = make_account(srv)
    account.client.headers["Accept"] = "application/json"
    f = account.client.put("/api/v1/files/a.txt", content=b"abc").json()
    ctx = db_context(srv)
    with ctx.db.session() as s:
        s.execute(text("ALTER TABLE notices RENAME TO notices_gone"))
        s.execute(text("ALTER TABLE files RENAME TO files_gone"))
    ctx.close()
    anon = httpx.Client(base_url=srv.url, timeout=60)
    answers = [
        anon.get("/api/v1/notices/NTC-0000-0000"),  # a FastAPI route
        anon.get(f["download_url"]),  # the pure-ASGI direct download path
    ]
    for r in answers:
        assert r.status_code == 500, r.text
        body = r.json()
        assert body["error"] == "internal_error"
        assert body["request_id"] == r.headers["x-request-id"]
        assert body["request_id"] in body["message"]
        assert "Traceback" not in r.text and "sqlalchemy" not in r.text.lower()
    page = anon.get("/report/NTC-0000-0000", headers=HTML)
    assert page.status_code == 500 and "text/html" in page.headers["content-type"]
    assert page.headers["x-request-id"] in page.text and "Traceback" not in page.text
    answers.append(page)
    anon.close()
    log = (srv.data_dir.parent / f"server-{srv.data_dir.name}.log").read_text()
    for r in answers:
        rid = r.headers["x-request-id"]
        assert log.count(f"(request id {rid})") == 1, rid
    # Nothing else logged them (granian would log an exception that reached it).
    assert log.count(" failed (request id ") == len(answers)
    assert "Application callable raised an exception" not in log


def test_openapi_integer_parameters_are_all_bounded(server: Server) -> None:
    doc = httpx.get(server.url + "/api/v1/openapi.json", timeout=30).json()
    unbounded = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                schemas = [p["schema"], *p["schema"].get("anyOf", [])]
                for s in schemas:
                    if s.get("type") == "integer" and "maximum" not in s:
                        unbounded.append(f"{method.upper()} {path} {p['name']}")
    assert not unbounded
    assert json.dumps(doc).count("#/components/schemas/Error") > 100
