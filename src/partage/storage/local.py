"""Local content-addressed store: `root/ab/cd/<sha256>`.

Writes go to a temporary file in the store, are fsynced, then renamed into
place, so a crash never leaves a partial blob under its final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import anyio

from partage.storage.base import BlobIntegrityError, StoredBlob, check_key

READ_CHUNK = 256 * 1024


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.tmp = self.root / ".tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def _place(self, src: Path, key: str) -> None:
        dest = self.path_for(key)
        if dest.exists():
            src.unlink(missing_ok=True)
            # Fresh again: `partage admin gc` spares objects younger than its grace period,
            # and this one may be an orphan about to get its row back.
            try:
                os.utime(dest)
            except OSError:
                pass
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
        _fsync_dir(dest.parent)

    def put_staged(self, path: Path, sha256: str) -> StoredBlob:
        size = path.stat().st_size
        with open(path, "rb+") as f:
            os.fsync(f.fileno())
        try:
            self._place(path, sha256)
        except OSError:
            # Staging on another filesystem: copy through a temp file in the store.
            with open(path, "rb") as f:
                stored = self.put_chunks(iter(lambda: f.read(1 << 20), b""), sha256)
            path.unlink(missing_ok=True)
            return stored
        return StoredBlob(sha256, sha256, size)

    def put_chunks(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredBlob:
        h = hashlib.sha256()
        size = 0
        fd, name = tempfile.mkstemp(dir=self.tmp)
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    h.update(chunk)
                    f.write(chunk)
                    size += len(chunk)
                f.flush()
                os.fsync(f.fileno())
            digest = h.hexdigest()
            if expected_sha256 and digest != expected_sha256:
                raise BlobIntegrityError(f"expected {expected_sha256}, got {digest}")
            self._place(tmp, digest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return StoredBlob(digest, digest, size)

    def exists(self, key: str) -> bool:
        return self.path_for(key).exists()

    def size(self, key: str) -> int | None:
        try:
            return self.path_for(key).stat().st_size
        except FileNotFoundError:
            return None

    def local_path(self, key: str) -> Path | None:
        return self.path_for(key)

    async def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        path = self.path_for(key)
        fd = os.open(path, os.O_RDONLY)
        try:
            pos = start
            while pos <= end:
                n = min(READ_CHUNK, end - pos + 1)
                chunk = await anyio.to_thread.run_sync(os.pread, fd, n, pos)
                if not chunk:
                    break
                pos += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    def presigned_url(
        self, key: str, ttl: int, *, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        return None

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def check(self) -> None:
        if not self.root.is_dir():
            raise FileNotFoundError(f"blob root {self.root} is missing")
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="probe-")
        try:
            os.write(fd, b"ok")
        finally:
            os.close(fd)
            os.unlink(name)

    def keys(self) -> Iterator[str]:
        for p in self.root.glob("??/??/*"):
            if p.is_file() and len(p.name) == 64:
                yield p.name

    def list_blobs(self) -> Iterator[tuple[str, int, float]]:
        """(key, size, modification time) of every stored blob, for maintenance."""
        for top in _subdirs(self.root):
            for mid in _subdirs(self.root / top):
                with os.scandir(self.root / top / mid) as entries:
                    for e in entries:
                        name = e.name
                        if name[:2] == top and name[2:4] == mid and _is_key(name):
                            st = e.stat(follow_symlinks=False)
                            if e.is_file(follow_symlinks=False):
                                yield name, st.st_size, st.st_mtime


def _is_key(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _subdirs(path: Path) -> list[str]:
    """The two-character shard directories under `path`, sorted."""
    try:
        with os.scandir(path) as entries:
            return sorted(e.name for e in entries if len(e.name) == 2 and e.is_dir())
    except FileNotFoundError:
        return []
