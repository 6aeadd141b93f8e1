"""PARTAGE_CACHE_URL: rate limits shared through Redis by every process and every node.

Real `partage serve` processes and a real Redis. Each test uses a queue name of its
own, which namespaces its keys, so runs sharing the Redis server never mix counts.
Every sharing test runs once without the cache too: then each process counts alone
and the same sequence of requests gets through, which is what the cache prevents.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from partage.errors import RateLimited
from partage.ratelimit import FailureLimiter
from partage.settings import Settings
from tests.serverproc import ADMIN_EMAIL, ADMIN_PASSWORD, Server

REDIS_URL = os.environ.get("PARTAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = "4/15minutes"  # failed logins per account, across the whole deployment
START = 120  # seconds: spawned workers import everything at once, slow on a busy 2-core box


@pytest.fixture
def deployment() -> Iterator[str]:
    """A queue name of the test's own (the cache's key namespace); its keys go at the end."""
    name = f"partage-test-cache-{secrets.token_hex(6)}"
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    yield name
    for key in client.scan_iter(f"partage:{name}:*"):
        client.delete(key)
    client.close()


def env_for(name: str, cache: bool) -> dict[str, str]:
    env = {
        "PARTAGE_QUEUE_NAME": name,
        "PARTAGE_SECRET_KEY": "the-same-key-on-every-node-" + name,
        "PARTAGE_LOGIN_RATE_PER_ACCOUNT": LIMIT,
    }
    if cache:
        env["PARTAGE_CACHE_URL"] = REDIS_URL
    return env


def pinned(url: str) -> httpx.Client:
    """One keep-alive connection, so every request of this client reaches the same process."""
    return httpx.Client(base_url=url, limits=httpx.Limits(max_connections=1), timeout=30)


def login(client: httpx.Client, password: str) -> httpx.Response:
    return client.post("/login", data={"email": ADMIN_EMAIL, "password": password})


def fail_logins(client: httpx.Client, n: int) -> list[int]:
    return [login(client, f"wrong-{i}").status_code for i in range(n)]


def assert_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) > 0
    assert "Too many failed logins for this account" in r.text


def our_keys(name: str) -> list[bytes]:
    with redis.Redis.from_url(REDIS_URL) as client:
        return list(client.scan_iter(f"partage:{name}:limits:*"))


# -- two nodes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cache", [True, False], ids=["shared", "alone"])
def test_failed_logins_count_across_nodes(tmp_path: Path, deployment: str, cache: bool) -> None:
    """Two nodes of one deployment (same database, same secret key): failures made on A
    count at B, so B refuses even the right password once the limit is used up."""
    a = Server(tmp_path / "a", env=env_for(deployment, cache)).start(START)
    try:
        shared_db = a.database_url or f"sqlite:///{(a.data_dir / 'partage.db').resolve()}"
        b = Server(tmp_path / "b", env=env_for(deployment, cache), database_url=shared_db,
                   storage_env=a.storage_env).start(START)  # fmt: skip
        try:
            with pinned(a.url) as on_a, pinned(b.url) as on_b:
                assert fail_logins(on_a, 2) == [401, 401]
                assert fail_logins(on_b, 2) == [401, 401]
                if cache:
                    assert_limited(login(on_b, ADMIN_PASSWORD))
                    assert_limited(login(on_a, ADMIN_PASSWORD))
                    assert our_keys(deployment), "no key under the deployment's namespace"
                else:
                    # B saw two failures only: it lets the right password in...
                    assert login(on_b, ADMIN_PASSWORD).status_code == 303
                    # ...and still enforces the limit on what it sees itself.
                    assert fail_logins(on_b, 2) == [401, 401]
                    assert_limited(login(on_b, ADMIN_PASSWORD))
                    assert our_keys(deployment) == []
        finally:
            b.stop()
    finally:
        a.stop()


# -- two workers of one server -------------------------------------------------------------------


def healthz_served(client: httpx.Client) -> float:
    """How many /healthz the process behind this connection answered (its own metrics)."""
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            if s.name == "partage_http_requests_total" and s.labels.get("route") == "/healthz":
                return s.value
    return 0.0


def one_client_per_worker(url: str, timeout: float = 60) -> list[tuple[httpx.Client, float]]:
    """Two pinned connections that reach different worker processes.

    Each worker counts the /healthz it answered in its own memory: once every
    connection has sent one, connections that read different counts are served by
    different processes. Returns each client with the count that identifies its worker.
    """
    deadline = time.monotonic() + timeout
    while True:
        clients = [pinned(url) for _ in range(8)]
        with ThreadPoolExecutor(len(clients)) as pool:  # at once, so both workers accept
            assert all(r.status_code == 200 for r in pool.map(lambda c: c.get("/healthz"), clients))
        seen: dict[float, httpx.Client] = {}
        for c in clients:
            seen.setdefault(healthz_served(c), c)
        keep = list(seen.items())[:2]
        for c in clients:
            if all(c is not k for _, k in keep):
                c.close()
        if len(keep) == 2:
            return [(c, n) for n, c in keep]
        for _, c in keep:
            c.close()
        assert time.monotonic() < deadline, "every connection reached the same worker"
        time.sleep(0.2)


@pytest.mark.parametrize("cache", [True, False], ids=["shared", "alone"])
def test_limit_holds_across_the_workers_of_one_server(
    tmp_path: Path, deployment: str, cache: bool
) -> None:
    srv = Server(tmp_path / "data", env=env_for(deployment, cache), workers=2).start(START)
    try:
        (first, first_id), (second, second_id) = one_client_per_worker(srv.url)
        try:
            assert fail_logins(first, 2) == [401, 401]
            assert fail_logins(second, 2) == [401, 401]
            if cache:
                assert_limited(login(second, ADMIN_PASSWORD))
                assert_limited(login(first, ADMIN_PASSWORD))
            else:
                assert login(second, ADMIN_PASSWORD).status_code == 303
            # Both connections stayed on their worker all along (no /healthz since).
            assert (healthz_served(first), healthz_served(second)) == (first_id, second_id)
        finally:
            first.close()
            second.close()
    finally:
        srv.stop()


# -- namespaces, readiness, Redis lost ----------------------------------------------------------


def test_deployments_sharing_one_redis_do_not_share_counts(deployment: str) -> None:
    ours = FailureLimiter.from_settings(Settings(cache_url=REDIS_URL, queue_name=deployment))
    same = FailureLimiter.from_settings(Settings(cache_url=REDIS_URL, queue_name=deployment))
    other_name = deployment + "-other"
    other = FailureLimiter.from_settings(Settings(cache_url=REDIS_URL, queue_name=other_name))
    try:
        ours.fail("2/minute", "login:account:x")
        same.fail("2/minute", "login:account:x")
        with pytest.raises(RateLimited):
            ours.check("2/minute", "login:account:x")
        other.check("2/minute", "login:account:x")  # another deployment: nothing counted
        assert our_keys(deployment) and not our_keys(other_name)
    finally:
        other.reset()


def test_readyz_checks_the_cache_and_logins_fail_closed_without_it(
    fresh_server: Server, own_redis: tuple[int, subprocess.Popen[bytes]]
) -> None:
    port, redis_proc = own_redis
    fresh_server.env["PARTAGE_CACHE_URL"] = f"redis://127.0.0.1:{port}/0"
    fresh_server.start(START)
    with pinned(fresh_server.url) as c:
        r = c.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["checks"] == {
            "database": "ok", "storage": "ok", "queue": "ok", "cache": "ok",
        }  # fmt: skip
        assert fail_logins(c, 1) == [401]

        redis_proc.terminate()
        redis_proc.wait(10)
        started = time.monotonic()
        r = c.get("/readyz")
        assert time.monotonic() - started < 5
        assert r.status_code == 503, r.text
        checks = r.json()["checks"]
        assert checks["cache"].startswith("unreachable: "), checks
        assert checks["queue"] == "ok"  # the embedded queue does not need Redis

        # No count can be kept: refuse (briefly) rather than let guessing through.
        r = c.post("/api/v1/tokens", headers={"Authorization": "Bearer ptg_guess"}, json={})
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "cache_unavailable"
        assert int(r.headers["Retry-After"]) > 0
        page = login(c, ADMIN_PASSWORD)
        assert page.status_code == 503 and "Try again in a few seconds" in page.text
