"""Health, readiness, Prometheus metrics and JSON logs, against real server processes."""

from __future__ import annotations

import json
import subprocess
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_account
from tests.serverproc import Server

JSON = {"Accept": "application/json"}


def samples(srv: Server) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = httpx.get(srv.url + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_healthz(server: Server) -> None:
    r = httpx.get(server.url + "/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]


def test_readyz_ok(server: Server) -> None:
    r = httpx.get(server.url + "/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ready",
        "checks": {"database": "ok", "storage": "ok", "queue": "ok"},
    }


def test_readyz_names_the_unreachable_queue(
    fresh_server: Server, own_redis: tuple[int, subprocess.Popen[bytes]]
) -> None:
    # `serve` refuses to start on an unreachable queue (preflight), so the queue
    # goes away after the start: a Redis of the test's own, then stopped.
    port, proc = own_redis
    fresh_server.env["PARTAGE_QUEUE_URL"] = f"redis://127.0.0.1:{port}/0"
    fresh_server.start()
    # Ready once every check answers within its 2 s: on a loaded machine the first probe
    # right after start can time out (503), as a load balancer's would; it asks again.
    deadline = time.monotonic() + 30
    while (ready := httpx.get(fresh_server.url + "/readyz", timeout=10)).status_code != 200:
        assert time.monotonic() < deadline, ready.text
        time.sleep(0.5)
    proc.terminate()
    proc.wait(10)
    started = time.monotonic()
    r = httpx.get(fresh_server.url + "/readyz", timeout=10)
    assert time.monotonic() - started < 5
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok" and body["checks"]["storage"] == "ok"
    assert body["checks"]["queue"].startswith("unreachable: Error 111 connecting to 127.0.0.1:")
    assert httpx.get(fresh_server.url + "/healthz").status_code == 200  # still alive
    # The scrape survives a dead queue too.
    assert value(samples(fresh_server), "partage_storage_bytes") == 0


def test_metrics(fresh_server: Server) -> None:
    srv = fresh_server.start()
    acc = make_account(srv)
    content = b"metrics test body\n" * 1000
    r = acc.client.post("/api/v1/files", files={"file": ("m.txt", content)}, headers=JSON)
    assert r.status_code == 201, r.text
    made = r.json()["files"][0]
    for _ in range(3):
        assert acc.client.get("/api/v1/files", headers=JSON).status_code == 200
    assert acc.client.get("/api/v1/files/nosuchcode", headers=JSON).status_code == 404
    assert httpx.get(srv.url + "/no/such/page").status_code == 404

    before = samples(srv)
    assert value(before, "partage_http_requests_total",
                 route="/api/v1/files", method="GET", status="200") == 3  # fmt: skip
    assert value(before, "partage_http_requests_total",
                 route="/api/v1/files/{code}", method="GET", status="404") == 1  # fmt: skip
    assert value(before, "partage_http_requests_total",
                 route="unmatched", method="GET", status="404") == 1  # fmt: skip
    assert value(before, "partage_http_requests_total",
                 route="/api/v1/files", method="POST", status="201") == 1  # fmt: skip
    assert value(before, "partage_http_request_duration_seconds_count",
                 route="/api/v1/files", method="GET") == 3  # fmt: skip
    assert value(before, "partage_http_request_bytes_total") >= len(content)
    assert value(before, "partage_storage_bytes") == len(content)
    assert value(before, "partage_uploads_in_progress") == 0
    assert ("partage_job_queue_depth", frozenset()) in before
    assert ("partage_media_jobs", frozenset({("state", "queued")})) in before

    got = httpx.get(made["download_url"])
    assert got.status_code == 200 and got.content == content
    after = samples(srv)
    out = value(after, "partage_http_response_bytes_total")
    assert out - value(before, "partage_http_response_bytes_total") >= len(content)
    assert value(after, "partage_http_requests_total",
                 route="/d/{token}/{name}", method="GET", status="200") == 1  # fmt: skip
    acc.client.close()


def test_metrics_refused_outside_allowed_networks(fresh_server: Server) -> None:
    fresh_server.env["PARTAGE_METRICS_ALLOW"] = '["10.0.0.0/8"]'
    srv = fresh_server.start()
    r = httpx.get(srv.url + "/metrics", headers=JSON)
    assert r.status_code == 404
    assert "partage_" not in r.text
    assert httpx.get(srv.url + "/healthz").status_code == 200


def test_json_logs_carry_the_request_id(fresh_server: Server) -> None:
    fresh_server.env.update(PARTAGE_LOG_FORMAT="json", PARTAGE_ACCESS_LOG="true")
    srv = fresh_server.start()
    r = httpx.get(srv.url + "/healthz", headers={"X-Request-Id": "ops-test-42"})
    assert r.headers["x-request-id"] == "ops-test-42"
    bad = httpx.get(srv.url + "/healthz", headers={"X-Request-Id": "x" * 65})
    assert bad.headers["x-request-id"] != "x" * 65 and len(bad.headers["x-request-id"]) == 32
    blank = httpx.get(srv.url + "/healthz", headers={"X-Request-Id": "bad id;"})
    assert blank.headers["x-request-id"] != "bad id;"

    log = srv.data_dir.parent / f"server-{srv.data_dir.name}.log"
    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(line) for line in log.read_text().splitlines()
                 if line.startswith("{")]  # fmt: skip
        mine = [x for x in lines if x.get("request_id") == "ops-test-42"]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert mine, log.read_text()
    line = mine[0]
    assert line["level"] == "INFO" and line["logger"] == "partage.access"
    assert "/healthz" in line["message"] and " 200 " in line["message"]
    assert line["time"].endswith("Z")
    assert any(x.get("request_id") == bad.headers["x-request-id"] for x in lines)
    assert all(set(x) >= {"time", "level", "logger", "message"} for x in lines)
    assert any(x["logger"] == "_granian" for x in lines)  # the server's own lines too
    assert not any(line.startswith("[INFO]") for line in log.read_text().splitlines())
