"""A real `partage serve` process on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "admin-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def terminate(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM to the process group, SIGKILL after 10 s."""
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            kill(proc)


def kill(proc: subprocess.Popen[bytes] | None) -> None:
    if proc:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# The scaled-out run: `PARTAGE_TEST_DATABASE_URL=postgresql+psycopg://user@host/postgres`
# (any database the user may connect to) gives every test server a database of its own
# on that PostgreSQL server.
TEST_DATABASE_URL = os.environ.get("PARTAGE_TEST_DATABASE_URL", "")
# The multi-node tests run on PostgreSQL in both runs: the machine's server by default.
SCALED_DATABASE_URL = TEST_DATABASE_URL or "postgresql+psycopg://postgres@127.0.0.1/postgres"
CREATED_DATABASES: list[tuple[str, str]] = []  # (admin URL, database name)


def drop_databases() -> None:
    """Drop the databases this run made (at the end of the session)."""
    import sqlalchemy

    for admin_url, name in CREATED_DATABASES:
        admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    CREATED_DATABASES.clear()


def new_database(admin_url: str = TEST_DATABASE_URL) -> str | None:
    """A new, empty database on a PostgreSQL server (the test one by default); None in
    the embedded run."""
    if not admin_url:
        return None
    import secrets

    import sqlalchemy

    name = f"partage_test_{secrets.token_hex(6)}"
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    CREATED_DATABASES.append((admin_url, name))
    url = sqlalchemy.engine.make_url(admin_url).set(database=name)
    return url.render_as_string(hide_password=False)


def new_storage() -> dict[str, str]:
    """Settings for a new, empty object store (a bucket on the tests' S3 server) in the
    scaled run (`PARTAGE_TEST_STORAGE=s3`); nothing (local disk) in the embedded run."""
    from tests.s3server import USE_S3, s3_server

    if not USE_S3:
        return {}
    server = s3_server()
    return server.env(server.new_bucket())


@dataclass
class Server:
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    database_url: str | None = field(default_factory=new_database)
    storage_env: dict[str, str] = field(default_factory=new_storage)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def full_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARTAGE_")}
        env.update(
            PARTAGE_DATA_DIR=str(self.data_dir),
            PARTAGE_ADMIN_EMAIL=ADMIN_EMAIL,
            PARTAGE_ADMIN_PASSWORD=ADMIN_PASSWORD,
            # Every test signs up from 127.0.0.1; the limit itself has its own test.
            PARTAGE_REGISTRATION_RATE_PER_ADDRESS="1000/hour",
        )
        if self.database_url:
            env["PARTAGE_DATABASE_URL"] = self.database_url
        env.update(self.storage_env)
        env.update(self.env)
        if "PARTAGE_SMTP_URL" in env and "PARTAGE_BASE_URL" not in env:
            env["PARTAGE_BASE_URL"] = self.url  # required with SMTP (partage.mail)
        return env

    def start(self, timeout: float = 90) -> Server:
        self.port = self.port or free_port()
        log = open(self.data_dir.parent / f"server-{self.data_dir.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "partage.cli.main", "serve", "--port", str(self.port),
             "--workers", str(self.workers), "--data-dir", str(self.data_dir)],
            env=self.full_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {log.name}")
            try:
                if httpx.get(self.url + "/api/v1/openapi.json", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start in time")

    def stop(self) -> None:
        terminate(self.proc)
        self.proc = None

    def kill(self) -> None:
        """Crash the server: SIGKILL to the whole process group, no cleanup."""
        kill(self.proc)
        self.proc = None

    def restart(self) -> Server:
        self.stop()
        return self.start()


@dataclass
class Worker:
    """A real `partage worker` process sharing a server's data dir and settings."""

    server: Server
    threads: int = 2
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        data_dir = self.server.data_dir
        log = open(data_dir.parent / f"worker-{data_dir.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "partage.cli.main", "worker", "--threads", str(self.threads),
             "--data-dir", str(data_dir)],
            env=self.server.full_env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        return self

    def stop(self) -> None:
        terminate(self.proc)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL the worker and its ffmpeg children: a machine lost mid-job."""
        kill(self.proc)
        self.proc = None
