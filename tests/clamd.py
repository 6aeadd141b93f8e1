"""A real clamd (Debian's clamav-daemon) with a signature database the tests write.

No freshclam, no network: the database holds a body signature (`.ndb`) for a test
byte pattern, and tests add MD5 signatures (`.hdb`) of contents of their choice, then
RELOAD. clamd listens on a Unix socket (short path under /tmp: sockets are limited to
108 bytes) and on a free loopback TCP port; `StreamMaxLength` is small, so the size
limit is cheap to reach.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from partage.moderation.clamd import Clamd, ScannerError
from tests.serverproc import free_port, terminate

CLAMD = "/usr/sbin/clamd"
PATTERN = b"PARTAGE-TEST-MALWARE-7f3a9c0e"  # in a file: Partage.Test.Malware
SIGNATURE = "Partage.Test.Malware.UNOFFICIAL"  # clamd's name for a local signature
STREAM_MAX = 1024 * 1024


class ClamdProcess:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="clamd-", dir="/tmp"))
        self.db = self.dir / "db"
        self.db.mkdir()
        (self.db / "partage-test.ndb").write_text(f"Partage.Test.Malware:0:*:{PATTERN.hex()}\n")
        self.socket = self.dir / "clamd.sock"
        self.port = free_port()
        self.conf = self.dir / "clamd.conf"
        self.conf.write_text(
            "Foreground yes\n"
            f"LocalSocket {self.socket}\n"
            f"TCPSocket {self.port}\nTCPAddr 127.0.0.1\n"
            f"DatabaseDirectory {self.db}\n"
            f"LogFile {self.dir / 'clamd.log'}\n"
            f"PidFile {self.dir / 'clamd.pid'}\n"
            f"StreamMaxLength {STREAM_MAX}\n"
            "SelfCheck 3600\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def tcp_url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def client(self) -> Clamd:
        return Clamd(self.url, timeout=10)

    def start(self, timeout: float = 30) -> ClamdProcess:
        if not Path(CLAMD).exists():
            pytest.fail("clamd is not installed: run ./run test, or apt-get install clamav-daemon")
        out = open(self.dir / "stdout.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [CLAMD, "-c", str(self.conf)], stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"clamd exited: {(self.dir / 'stdout.log').read_text()}")
            try:
                self.client().ping()
                return self
            except ScannerError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("clamd did not answer PING in time")

    def stop(self) -> None:
        terminate(self.proc)
        self.proc = None
        self.socket.unlink(missing_ok=True)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def add_md5_signature(self, content: bytes, name: str, probe: bytes | None = None) -> None:
        """Make `content` (the whole file) detected as `name`, and wait until it is."""
        md5 = hashlib.md5(content).hexdigest()  # noqa: S324 - ClamAV's .hdb format
        with (self.db / "partage-extra.hdb").open("a") as f:
            f.write(f"{md5}:{len(content)}:{name}\n")
        self.reload(lambda: self.client().instream([content]).infected)

    def clear_md5_signatures(self, content: bytes) -> None:
        (self.db / "partage-extra.hdb").unlink(missing_ok=True)
        self.reload(lambda: not self.client().instream([content]).infected)

    def reload(self, done: object, timeout: float = 30) -> None:
        """RELOAD, then wait for `done()` (the reload runs in the background)."""
        self.client().reload()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if done():  # type: ignore[operator]
                    return
            except ScannerError:
                pass
            time.sleep(0.1)
        raise AssertionError("clamd did not pick up the new signatures")


@pytest.fixture(scope="module", name="clamd")
def clamd_process() -> Iterator[ClamdProcess]:
    """Import `clamd_process` into a test module to get the `clamd` fixture there."""
    proc = ClamdProcess().start()
    yield proc
    proc.close()
