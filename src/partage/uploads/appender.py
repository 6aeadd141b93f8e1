"""One PATCH's worth of bytes appended to a tus upload's staging file.

The hot loop writes each received chunk with `os.write` and feeds the running
SHA-256 in the event loop: no thread hop and no database access per chunk.
The running hash lives in this process between PATCHes, keyed by upload id
and offset; when it is missing or stale (restart, another worker) it is
rebuilt from the staged bytes.

A long PATCH records a checkpoint every `checkpoint_every` bytes (the setting
`upload_checkpoint_bytes`): the bytes so far are fsynced, then the offset is
written to the database, so a crash mid-PATCH loses at most that much. A PATCH
with `Upload-Checksum` records none: its bytes count only once the whole body
is verified.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio

from partage.diskfull import is_disk_full
from partage.errors import ChecksumMismatch, InsufficientStorage, PartageError
from partage.uploads.protocol import Checksum
from partage.uploads.staging import (
    WRITEBACK_STEP,
    raise_storage_error,
    start_writeback,
    write_all,
)

log = logging.getLogger("partage.uploads")

MAX_STATES = 1024
_states: OrderedDict[str, tuple[int, Any]] = OrderedDict()
_states_lock = threading.Lock()


def take_state(upload_id: str, offset: int) -> Any | None:
    """The running hash of this upload at `offset`, if this process has it."""
    with _states_lock:
        found = _states.pop(upload_id, None)
    if found is None or found[0] != offset:
        return None
    return found[1]


def keep_state(upload_id: str, offset: int, sha: Any) -> None:
    with _states_lock:
        _states[upload_id] = (offset, sha)
        _states.move_to_end(upload_id)
        while len(_states) > MAX_STATES:
            _states.popitem(last=False)


def drop_state(upload_id: str) -> None:
    with _states_lock:
        _states.pop(upload_id, None)


@dataclass
class AppendResult:
    offset: int
    length: int | None
    expires_at: datetime | None
    file_code: str | None = None


class Append:
    """Holds the staging file's lock from `begin_append` until `finish` or `abort`.

    `persist(offset, sha)` records a durable offset (and keeps the running hash);
    `complete(sha)` ingests the finished upload (`sha` is None when this process
    could not follow the hash; see `objectstaging`). Both run in a worker thread.
    The staging file holds the upload's bytes from offset `base` on (0 on local
    disk; with an object store, the tail after the parts already sent).
    """

    spill_at: float = float("inf")  # tail size that triggers `spill_part` (object stores)
    on_close: Callable[[], None] | None = None  # e.g. release the upload's lease
    on_full: Callable[[], None] | None = None  # remove the upload and its staged bytes

    def __init__(
        self,
        *,
        upload_id: str,
        fd: int,
        start: int,
        length: int | None,
        limit: int,
        limit_error: PartageError,
        sha: Any | None,
        checksum: Checksum | None,
        persist: Callable[[int, bool], datetime | None],
        complete: Callable[[str | None], str],
        base: int = 0,
        hash_later: bool = False,
        checkpoint_every: int = 0,
    ) -> None:
        self.upload_id = upload_id
        self.fd = fd
        self.start = start
        self.pos = start
        self.length = length
        self.limit = limit
        self.limit_error = limit_error
        self.sha = sha
        self.sha_at_start = sha.copy() if sha is not None else None
        self.checksum = checksum
        self.chunk_hash = checksum.hasher() if checksum else None
        self._persist = persist
        self._complete = complete
        self.discard = False
        self.base = base
        self.hash_later = hash_later  # complete even without a running hash
        self.checkpoint_every = 0 if checksum else checkpoint_every
        self.saved = start  # the offset last recorded in the database
        self.sha_saved = self.sha_at_start  # the running hash at `saved`
        self.full = False  # the disk filled up under this upload
        os.lseek(fd, start - base, os.SEEK_SET)

    async def receive(self, stream: AsyncIterator[bytes]) -> None:
        fd, sha, chk, limit = self.fd, self.sha, self.chunk_hash, self.limit
        every = self.checkpoint_every
        pos = flushed = self.pos
        async for chunk in stream:
            n = len(chunk)
            if pos + n > limit:
                self.discard = True
                raise self.limit_error
            try:
                write_all(fd, chunk)
            except OSError as exc:
                if is_disk_full(exc):
                    raise self._out_of_space() from exc
                raise_storage_error(exc)
            if sha is not None:
                sha.update(chunk)
            if chk is not None:
                chk.update(chunk)
            pos += n
            self.pos = pos
            if pos - self.base >= self.spill_at:
                while pos - self.base >= self.spill_at:
                    await self.spill_part()
                flushed = self.base
            elif pos - flushed >= WRITEBACK_STEP:
                start_writeback(fd, flushed - self.base, pos - flushed)
                flushed = pos
            if every and self.durable_offset() - self.saved >= every:
                await anyio.to_thread.run_sync(self.checkpoint)

    def durable_offset(self) -> int:
        """Up to where a checkpoint now would make the upload durable."""
        return self.pos

    def checkpoint(self) -> None:
        """Make the bytes received so far durable and record their offset (in a thread)."""
        point = self.durable_offset()
        if self.length is not None and point >= self.length:
            return  # the end of the upload: `finish` completes it
        try:
            self._make_durable()
            self._persist(point, True)
        except Exception as exc:
            if is_disk_full(exc):
                raise self._out_of_space() from exc
            raise
        self.saved = point
        if self.sha is not None and point == self.pos:
            self.sha_saved = self.sha.copy()

    def _make_durable(self) -> None:
        os.fsync(self.fd)

    def _out_of_space(self) -> InsufficientStorage:
        self.full = True
        return InsufficientStorage(
            "The server is out of disk space: this upload was removed to free the space it "
            "took; start it again later."
        )

    def _drop(self) -> None:
        """Free what a full disk left of this upload now: kept for its expiry (24 h), the
        staged bytes would keep the disk full for everyone."""
        self.close()
        if self.on_full is None:
            return
        try:
            self.on_full()
        except Exception:
            log.exception("upload %s: could not remove it after the disk filled up", self.upload_id)

    async def spill_part(self) -> None:
        """Send a full part of the staging file elsewhere (see `objectstaging`)."""

    def _rollback(self) -> None:
        """Forget this PATCH's unrecorded bytes: the file and the running hash go back to
        the last checkpoint (the start, when there was none)."""
        os.ftruncate(self.fd, self.saved - self.base)
        self.pos = self.saved
        self.sha = self.sha_saved
        if self.sha is not None:
            keep_state(self.upload_id, self.saved, self.sha.copy())

    def _sync(self) -> None:
        if os.fstat(self.fd).st_size != self.pos - self.base:
            os.ftruncate(self.fd, self.pos - self.base)
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1
            if self.on_close is not None:
                self.on_close()

    def finish(self) -> AppendResult:
        """The request body was read to its end: verify, make durable, record, maybe ingest."""
        try:
            if self.checksum and self.chunk_hash.digest() != self.checksum.digest:  # type: ignore[union-attr]
                self._rollback()
                raise ChecksumMismatch(
                    "The %(algorithm)s checksum of this chunk does not match "
                    "Upload-Checksum: the chunk was discarded; the offset is still "
                    "%(offset)s.",
                    algorithm=self.checksum.algorithm,
                    offset=self.start,
                )
            self._sync()
            hashed = self.sha is not None or self.hash_later
            if self.length is not None and self.pos == self.length and hashed:
                try:
                    code = self._complete(self.sha.hexdigest() if self.sha is not None else None)
                except BaseException:
                    self._record()
                    raise
                drop_state(self.upload_id)
                return AppendResult(self.pos, self.length, None, code)
            expires = self._record()
            return AppendResult(self.pos, self.length, expires)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            error = self._out_of_space()
            self._drop()
            raise error from exc
        finally:
            self.close()

    def abort(self) -> None:
        """The body stopped early (client gone, error): keep what arrived, unless it
        cannot be trusted (a checksum could not be verified, a limit was crossed)."""
        if self.full:
            self._drop()
            return
        try:
            if self.discard or self.checksum is not None:
                self._rollback()
                return
            self._sync()
            self._record()
        except PartageError as exc:  # e.g. terminated meanwhile: nothing left to save
            drop_state(self.upload_id)
            log.info("upload %s: offset not saved: %s", self.upload_id, exc.message)
        except Exception:
            drop_state(self.upload_id)
            log.exception("could not save the offset of upload %s", self.upload_id)
        finally:
            self.close()

    def _record(self) -> datetime | None:
        try:
            expires = self._persist(self.pos, self.pos != self.start)
        except BaseException:
            drop_state(self.upload_id)
            raise
        if self.sha is not None:
            keep_state(self.upload_id, self.pos, self.sha)
        return expires
