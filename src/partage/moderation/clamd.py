"""A client for clamd, ClamAV's daemon, over its socket protocol.

Commands use the `z` form (NUL-terminated, one command per connection). `INSTREAM`
sends the content as chunks, each preceded by its length as 4 bytes big-endian, and a
zero length to end; clamd answers `stream: OK`, `stream: <signature> FOUND`, or
`INSTREAM size limit exceeded. ERROR` (and closes the socket) once more than its
`StreamMaxLength` has arrived. Nothing here holds more than one chunk in memory.

Addresses: `unix:///run/clamav/clamd.ctl`, a bare path (the same), or
`tcp://host:3310`.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORT = 3310
CHUNK = 256 * 1024  # clamd's own limit per chunk is StreamMaxLength; smaller is fine
_MAX_REPLY = 64 * 1024


class ScannerError(Exception):
    """clamd did not give a verdict."""


class ScannerUnavailable(ScannerError, ConnectionError):
    """clamd cannot be reached, or stopped answering (connection refused, reset, timeout)."""


class ScanTooLarge(ScannerError):
    """The content is larger than clamd's `StreamMaxLength`: it was not scanned."""


@dataclass(frozen=True)
class Address:
    family: int
    target: str | tuple[str, int]

    def __str__(self) -> str:
        if isinstance(self.target, str):
            return f"unix://{self.target}"
        host, port = self.target
        return f"tcp://{host}:{port}"


@dataclass(frozen=True)
class Verdict:
    infected: bool
    signature: str | None = None


def parse_url(url: str) -> Address:
    """`unix:///path`, `/path` or `tcp://host[:port]`; ValueError saying why otherwise."""
    text = url.strip()
    if text.startswith("/"):
        return Address(socket.AF_UNIX, text)
    parts = urlsplit(text)
    if parts.scheme == "unix":
        path = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not path.startswith("/"):
            raise ValueError("unix:// needs an absolute socket path (unix:///run/clamav/clamd.ctl)")
        return Address(socket.AF_UNIX, path)
    if parts.scheme == "tcp":
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError as e:
            raise ValueError("the port is not a number from 1 to 65535") from e
        if not parts.hostname:
            raise ValueError("no host name (tcp://127.0.0.1:3310)")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError("nothing may follow host:port")
        return Address(socket.AF_INET6 if ":" in parts.hostname else socket.AF_INET,
                       (parts.hostname, port))  # fmt: skip
    raise ValueError("use unix:///path/to/clamd.sock, a socket path, or tcp://host:3310")


class Clamd:
    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.address = parse_url(url)
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        sock = socket.socket(self.address.family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.address.target)
        except OSError as e:
            sock.close()
            raise ScannerUnavailable(f"clamd at {self.address}: {e.strerror or e}") from e
        return sock

    def _reply(self, sock: socket.socket) -> str:
        buf = bytearray()
        try:
            while not buf.endswith(b"\0") and len(buf) < _MAX_REPLY:
                data = sock.recv(4096)
                if not data:
                    break
                buf += data
        except OSError as e:
            raise ScannerUnavailable(f"clamd at {self.address}: {e.strerror or e}") from e
        if not buf:
            raise ScannerUnavailable(f"clamd at {self.address} closed the connection")
        return buf.rstrip(b"\0").decode("utf-8", "replace").strip()

    def command(self, name: str) -> str:
        """A one-line command (PING, VERSION, RELOAD) and its answer."""
        with self._connect() as sock:
            try:
                sock.sendall(b"z" + name.encode("ascii") + b"\0")
            except OSError as e:
                raise ScannerUnavailable(f"clamd at {self.address}: {e.strerror or e}") from e
            return self._reply(sock)

    def ping(self) -> None:
        answer = self.command("PING")
        if answer != "PONG":
            raise ScannerUnavailable(f"clamd at {self.address} answered {answer!r} to PING")

    def version(self) -> str:
        return self.command("VERSION")

    def reload(self) -> None:
        """Re-read the signature databases (clamd keeps answering meanwhile)."""
        answer = self.command("RELOAD")
        if answer != "RELOADING":
            raise ScannerError(f"clamd at {self.address} answered {answer!r} to RELOAD")

    def instream(self, chunks: Iterable[bytes]) -> Verdict:
        """Scan a stream of bytes; chunks larger than CHUNK are split. An error reading
        `chunks` propagates as it is (the connection is dropped, clamd forgets it)."""
        with self._connect() as sock:
            try:
                _send(sock, b"zINSTREAM\0")
                for chunk in chunks:
                    view = memoryview(chunk)
                    for start in range(0, len(view), CHUNK):
                        part = view[start : start + CHUNK]
                        _send(sock, struct.pack(">I", len(part)))
                        _send(sock, part)
                _send(sock, struct.pack(">I", 0))
            except _SendFailed as e:
                # Past StreamMaxLength clamd answers and closes while we still send: its
                # answer, when there is one, says why.
                try:
                    answer = self._reply(sock)
                except ScannerUnavailable:
                    cause = e.__cause__
                    why = getattr(cause, "strerror", None) or cause
                    raise ScannerUnavailable(f"clamd at {self.address}: {why}") from cause
                return _verdict(answer, self.address)
            return _verdict(self._reply(sock), self.address)


class _SendFailed(Exception):
    pass


def _send(sock: socket.socket, data: bytes | memoryview) -> None:
    try:
        sock.sendall(data)
    except OSError as e:
        raise _SendFailed() from e


def _verdict(answer: str, address: Address) -> Verdict:
    if "size limit exceeded" in answer:
        raise ScanTooLarge(f"clamd at {address}: {answer} (raise its StreamMaxLength)")
    if answer.endswith(" FOUND"):
        # "stream: Eicar-Signature FOUND" (the name may itself hold spaces or colons)
        body = answer.removesuffix(" FOUND")
        return Verdict(True, body.split(": ", 1)[1] if ": " in body else body)
    if answer.endswith(": OK"):
        return Verdict(False)
    raise ScannerError(f"clamd at {address} answered {answer!r}")
