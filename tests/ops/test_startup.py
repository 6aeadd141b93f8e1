"""`partage serve` says it listens only once it answers (it used to print it up to 30 s
before the port took connections)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.serverproc import Server, free_port, terminate

LISTENING = b"partage listening on"


def test_listening_is_printed_once_the_server_answers(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data")
    srv.port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "partage.cli.main", "serve", "--port", str(srv.port),
             "--data-dir", str(srv.data_dir)],
            env=srv.full_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while LISTENING not in log.read_bytes():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "never printed that it listens"
            time.sleep(0.02)
        # Right away, no retry: it must answer already.
        r = httpx.get(f"{srv.url}/healthz", timeout=5)
        assert r.status_code == 200
    finally:
        terminate(proc)
