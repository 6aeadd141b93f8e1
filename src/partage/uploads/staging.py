"""Staging files: where upload bytes wait, in `settings.staging_dir`, until they become a blob.

A tus upload's staging file is named by its upload id (32 hex digits, never a
user-given name). Writers hold an exclusive `flock` on it, which serialises
PATCHes across threads and worker processes alike.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from partage.errors import InsufficientStorage, PartageError

_ID = re.compile(r"^[0-9a-f]{32}$")
READ_CHUNK = 1 << 20


def new_upload_id() -> str:
    return secrets.token_hex(16)


def is_upload_id(text: str) -> bool:
    return bool(_ID.match(text))


def upload_path(staging_dir: Path, upload_id: str) -> Path:
    if not is_upload_id(upload_id):
        raise ValueError(f"not an upload id: {upload_id!r}")
    return staging_dir / upload_id


def try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def write_all(fd: int, data: bytes | memoryview) -> None:
    n = os.write(fd, data)
    if n < len(data):  # rare for regular files (signal, almost-full disk)
        view = memoryview(data)[n:]
        while view:
            view = view[os.write(fd, view) :]


def raise_storage_error(exc: OSError) -> None:
    """Disk full becomes a clear 507; any other I/O error stays what it is."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        raise InsufficientStorage("The server is out of disk space; try again later.") from exc
    raise exc


def hash_prefix(fd: int, length: int) -> Any:
    """SHA-256 of the first `length` bytes of a staging file (to rebuild a lost running hash)."""
    h = hashlib.sha256()
    pos = 0
    while pos < length:
        chunk = os.pread(fd, min(READ_CHUNK, length - pos), pos)
        if not chunk:
            raise OSError(errno.EIO, f"staging file shorter than {length} bytes")
        h.update(chunk)
        pos += len(chunk)
    return h


class StagedWriter:
    """A new anonymous staging file written in one go (PUT, multipart), hashed as it is written.

    `limit` bounds its size; going past it raises `limit_error` (a 413) and the caller discards.
    """

    def __init__(self, staging_dir: Path, limit: int, limit_error: PartageError) -> None:
        self.path = staging_dir / f"in-{secrets.token_hex(16)}"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.sha = hashlib.sha256()
        self.size = 0
        self.limit = limit
        self.limit_error = limit_error

    def write(self, data: bytes | memoryview) -> None:
        n = len(data)
        if self.size + n > self.limit:
            raise self.limit_error
        try:
            write_all(self.fd, data)
        except OSError as exc:
            raise_storage_error(exc)
        self.sha.update(data)
        self.size += n

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


# Start writing staged bytes to disk while the body is still arriving, so the
# fsync that makes a PATCH durable has little left to do (Linux only; a no-op
# elsewhere). Python's os module has no sync_file_range, hence ctypes.
WRITEBACK_STEP = 16 * 1024 * 1024
_SYNC_FILE_RANGE_WRITE = 2


def _load_sync_file_range() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_sync_file_range = _load_sync_file_range()


def _writeback(fd: int, offset: int, nbytes: int) -> None:
    _sync_file_range(fd, offset, nbytes, _SYNC_FILE_RANGE_WRITE)


# One thread submits the writeback, so its kernel work runs beside the receive loop
# (on the other core) instead of inside it.
_writeback_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="writeback")


def start_writeback(fd: int, offset: int, nbytes: int) -> None:
    if _sync_file_range is not None:
        _writeback_pool.submit(_writeback, fd, offset, nbytes)
