"""Behaviour that needs a server configured its own way: links bound to the client
address, and download counters flushed when the server stops."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Account, make_account
from tests.files.conftest import Maker
from tests.serverproc import Server


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Maker, Account]]:
    srv = Server(
        tmp_path_factory.mktemp("own") / "data",
        env={"PARTAGE_BIND_LINKS_TO_IP": "true", "PARTAGE_COUNTER_FLUSH_INTERVAL": "3600"},
    ).start()
    acc = make_account(srv)
    m = Maker(srv)
    yield srv, m, acc
    m.close()
    acc.client.close()
    srv.stop()


def _client(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def test_link_bound_to_address(own):
    _, m, acc = own
    made = m.file(acc, b"bound", "bound.txt")
    link = m.visitor_link(made.code)  # asked from 127.0.0.1
    with _client("127.0.0.1") as here, _client("127.0.0.2") as there:
        assert here.get(link).content == b"bound"
        r = there.get(link)
        assert r.status_code == 403
        assert r.json() == {
            "error": "link_revoked",
            "message": "This download link was issued to another network address.",
        }
        r = there.get(link, headers={"Accept": "text/html"})
        assert r.status_code == 403 and "another network address" in r.text
        curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", "127.0.0.2"]
        p = subprocess.run([*curl, link], capture_output=True, text=True)
        assert p.stdout == "403"

        # a link asked from 127.0.0.2 works there and not here
        link2 = m.visitor_link(made.code, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
        assert there.get(link2).content == b"bound"
        assert here.get(link2).status_code == 403
        # the owner's download_url is bound too
        owner_link = m.owner_link(acc, made.code)
        assert here.get(owner_link).status_code == 200
        assert there.get(owner_link).status_code == 403


def test_counters_flushed_on_stop(own):
    srv, m, acc = own
    made = m.file(acc, b"count me", "count.txt")
    link = m.visitor_link(made.code)
    for _ in range(3):
        assert httpx.get(link).status_code == 200
    # the flush interval is an hour: nothing is written yet
    assert m.sql("SELECT downloads FROM files WHERE code = :c", c=made.code)[0][0] == 0
    srv.stop()  # graceful stop flushes the buffered counters
    row = m.sql("SELECT downloads, last_download_at FROM files WHERE code = :c", c=made.code)[0]
    assert row[0] == 3
    assert row[1] is not None
