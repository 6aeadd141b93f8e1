"""A real nginx running deploy/nginx.conf in front of two real partage nodes
(`PARTAGE_DELIVERY=x-accel`, one data dir), and the helpers the delivery tests share.

nginx runs as a subprocess of the test (`-p <tmpdir> -c <rendered conf> -g 'daemon off;
pid …;'`) on a free loopback port; the config is the repository's file with its
`{{PLACEHOLDERS}}` filled in, nothing else changed.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Account, make_account
from tests.files.conftest import Maker
from tests.serverproc import Server, free_port, terminate

REPO = Path(__file__).resolve().parents[2]
DEPLOY_CONF = REPO / "deploy" / "nginx.conf"
PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
START_TIMEOUT = 120  # seconds: a busy 2-core machine takes 30+ s to spawn a web worker


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        pytest.fail("nginx is not installed: run ./run test, or apt-get install nginx")
    return found


def render(template: str, values: dict[str, str]) -> str:
    """Fill every `{{NAME}}`; a placeholder without a value is an error, not a blank."""
    missing = sorted(set(PLACEHOLDER.findall(template)) - set(values))
    assert not missing, f"no value for placeholders {missing}"
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


@dataclass
class Nginx:
    """nginx in the foreground, in its own process group, on a free loopback port."""

    root: Path
    conf_text: str
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.root / "access.log"

    def start(self) -> Nginx:
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root / "nginx.conf"
        conf.write_text(self.conf_text)
        binary = nginx_binary()
        base = [binary, "-p", str(self.root), "-e", str(self.root / "startup.log"), "-c", str(conf)]
        check = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True)
        assert check.returncode == 0, f"nginx -t refused the config:\n{check.stderr}"
        log = open(self.root / "stdout.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*base, "-g", f"daemon off; pid {self.root / 'nginx.pid'};"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.errors()}")
            try:
                httpx.get(self.url + "/_nginx_probe", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        terminate(self.proc)
        self.proc = None

    def errors(self) -> str:
        logs = [self.root / n for n in ("startup.log", "error.log", "stdout.log")]
        return "\n".join(p.read_text(errors="replace") for p in logs if p.exists())

    def log_lines(self, needle: str) -> list[str]:
        """Access log lines containing `needle` (nginx writes each line when the request
        ends; wait a little for the one just answered)."""
        for _ in range(50):
            if self.access_log.exists():
                lines = [ln for ln in self.access_log.read_text().splitlines() if needle in ln]
                if lines:
                    return lines
            time.sleep(0.02)
        return []


def deploy_conf(root: Path, port: int, nodes: list[Server], data_dir: Path) -> str:
    return render(
        DEPLOY_CONF.read_text(),
        {
            # Our temp dirs are 0700: the workers must run as this user to read them.
            "NGINX_USER": pwd.getpwuid(os.geteuid()).pw_name,
            "LISTEN": f"127.0.0.1:{port}",
            "PARTAGE_UPSTREAM": " ".join(f"server 127.0.0.1:{n.port};" for n in nodes),
            "BLOB_ROOT": str((data_dir / "blobs").resolve()),
            "MEDIA_ROOT": str((data_dir / "media").resolve()),
            "STATE_DIR": str(root.resolve()),
        },
    )


@dataclass
class Edge:
    """The deployment under test: nginx → two partage nodes sharing one data dir."""

    nginx: Nginx
    nodes: list[Server]
    maker: Maker  # the nodes' database and store, for states the API cannot reach
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.nginx.url

    def client(self, acc: Account | None = None, **kw: Any) -> httpx.Client:
        """An HTTP client talking to nginx (as `acc` when given)."""
        headers = {"Authorization": f"Bearer {acc.token}"} if acc else {}
        c = httpx.Client(base_url=self.url, headers=headers, timeout=60, **kw)
        self.clients.append(c)
        return c

    def account(self) -> tuple[Account, httpx.Client]:
        acc = make_account(self.nodes[0])
        self.clients.append(acc.client)
        return acc, self.client(acc)


def start_edge(base: Path, delivery: str, nodes: int) -> Edge:
    """nginx (deploy/nginx.conf) in front of `nodes` partage processes sharing one data
    dir, database and local blob store, in the given delivery mode."""
    data_dir = base / "data"
    env = {
        "PARTAGE_DELIVERY": delivery,
        "PARTAGE_TRUSTED_PROXIES": '["127.0.0.1/32"]',
        "PARTAGE_COUNTER_FLUSH_INTERVAL": "0.2",
        # Links bound to the client address: proves X-Forwarded-For reaches partage.
        "PARTAGE_BIND_LINKS_TO_IP": "true",
    }
    # Local storage whatever the run (x-accel needs it); one database for every node.
    started: list[Server] = []
    try:
        for _ in range(nodes):
            # The first node gets the run's database (a new PostgreSQL one in the scaled
            # run), the others share it.
            shared = {"database_url": started[0].database_url} if started else {}
            node = Server(data_dir, env=env, storage_env={}, **shared)  # type: ignore[arg-type]
            started.append(node)
            node.start(START_TIMEOUT)
        port = free_port()
        ng = Nginx(base / "nginx", deploy_conf(base / "nginx", port, started, data_dir), port)
        ng.start()
    except BaseException:
        for n in started:
            n.stop()
        raise
    return Edge(ng, started, Maker(started[0]))


def stop_edge(e: Edge) -> None:
    for c in e.clients:
        c.close()
    e.maker.close()
    e.nginx.stop()
    for n in e.nodes:
        n.stop()


@pytest.fixture(scope="session")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """The deployment most tests use: x-accel, two nodes."""
    e = start_edge(tmp_path_factory.mktemp("edge"), "x-accel", nodes=2)
    yield e
    stop_edge(e)


def upload(client: httpx.Client, name: str, data: bytes, **query: Any) -> dict[str, Any]:
    """PUT /api/v1/files/<name> (through whatever `client` talks to); the file's JSON."""
    r = client.put(
        f"/api/v1/files/{name}", content=data, params=query, headers={"Accept": "application/json"}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def visitor_link(base_url: str, code: str, password: str | None = None) -> str:
    """The signed link a visitor gets from the file's page (JSON), asked at `base_url`."""
    with httpx.Client(base_url=base_url, timeout=30) as c:
        if password is None:
            r = c.get(f"/{code}", headers={"Accept": "application/json"})
        else:
            r = c.post(f"/{code}", json={"password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["download_url"])
