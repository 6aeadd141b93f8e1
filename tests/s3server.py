"""moto's standalone S3 server, started by the tests themselves on a free loopback port.

One server per test session, started on first use; every user gets a bucket
of its own. `PARTAGE_TEST_STORAGE=s3` (the scaled CI run) puts every test
server's blobs and media outputs on it.
"""

from __future__ import annotations

import atexit
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.serverproc import free_port, terminate

ACCESS_KEY = "partage-test"
SECRET_KEY = "partage-test-secret"  # moto accepts any credentials
REGION = "us-east-1"
USE_S3 = os.environ.get("PARTAGE_TEST_STORAGE", "") == "s3"


@dataclass
class S3Server:
    endpoint: str
    proc: subprocess.Popen[bytes]

    def client(self) -> Any:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        name = f"partage-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str, prefix: str = "data") -> dict[str, str]:
        """The settings that put a partage process's storage in `bucket`."""
        return {
            "PARTAGE_STORAGE_URL": f"s3://{bucket}/{prefix}",
            "PARTAGE_S3_ENDPOINT_URL": self.endpoint,
            "PARTAGE_S3_REGION": REGION,
            "PARTAGE_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "PARTAGE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "PARTAGE_S3_ADDRESSING_STYLE": "path",
            # The smallest part S3 allows, so tests cross part boundaries with little data.
            "PARTAGE_S3_PART_SIZE": str(5 * 1024**2),
        }


_server: S3Server | None = None


def s3_server() -> S3Server:
    """The session's moto server, started on first call and stopped at exit."""
    global _server
    if _server is not None and _server.proc.poll() is None:
        return _server
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(endpoint + "/moto-api/", timeout=1)
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                terminate(proc)
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)
    _server = S3Server(endpoint, proc)
    atexit.register(terminate, proc)
    return _server
