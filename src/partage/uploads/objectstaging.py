"""tus uploads staged in the object store, so that any web node can continue one.

With an S3 store, a node keeps only the upload's *tail* on its local disk: the
bytes since the last part boundary. Whenever the tail reaches the store's part
size (≥ 5 MiB, S3's minimum), it is sent as the next part of an S3 multipart
upload, as the bytes arrive (a long PATCH's checkpoints record the offset and
the parts at the first part boundary past each interval). At the end of each
PATCH the tail is saved as a temporary object (`uploads/<id>.tail`), then the
offset, the multipart id and the parts are written to the database. So the
database never claims a byte the store does not hold, and another node
continues by fetching the tail.

The running SHA-256 stays in the process that received the bytes. When a
different process continues an upload it cannot rebuild it (S3 cannot read
back the parts of an unfinished multipart upload), so the hash is then
computed once from the assembled object at completion, in a streaming read.

Only one request writes to an upload at a time, on any node: a PATCH takes a
lease on the upload's row (a conditional UPDATE) and renews it with every part.
The lease names the process that holds it (pid, machine), so after a crash the
same machine takes over a dead process's lease at once instead of answering 423
until it runs out.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update

from partage.context import Context
from partage.db import utcnow
from partage.storage import primary_of
from partage.storage.s3 import S3BlobStore, is_missing
from partage.uploads.appender import Append
from partage.uploads.models import Upload

LEASE_SECONDS = 300
HASH_CHUNK = 1 << 20


def object_store(ctx: Context) -> S3BlobStore | None:
    """The S3 store uploads are staged in, or None when they are staged on local disk."""
    store = primary_of(ctx.store)  # a migration's read-through store writes there
    return store if isinstance(store, S3BlobStore) else None


def _pread_all(fd: int, length: int, offset: int) -> bytes:
    out = bytearray()
    while len(out) < length:
        chunk = os.pread(fd, length - len(out), offset + len(out))
        if not chunk:
            raise OSError(errno.EIO, f"staging file shorter than {offset + length} bytes")
        out += chunk
    return bytes(out)


@dataclass
class Part:
    number: int
    etag: str
    size: int


class ObjectStaging:
    """One upload's bytes in the store: the multipart upload's parts and the tail object."""

    def __init__(self, store: S3BlobStore, upload_id: str, row: Upload) -> None:
        self.store = store
        self.upload_id = upload_id
        self.multipart_id = row.multipart_id
        self.parts = [Part(int(n), str(e), int(z)) for n, e, z in row.staged_parts or []]

    @property
    def object_name(self) -> str:
        return f"uploads/{self.upload_id}"

    @property
    def tail_name(self) -> str:
        return f"uploads/{self.upload_id}.tail"

    @property
    def base(self) -> int:
        """The upload offset of the local tail's first byte."""
        return sum(p.size for p in self.parts)

    def record(self, row: Upload) -> None:
        row.multipart_id = self.multipart_id
        row.staged_parts = [[p.number, p.etag, p.size] for p in self.parts]

    def _key(self, name: str) -> str:
        return self.store.full(name)

    def load_tail(self, fd: int, length: int) -> int:
        """Fill the local tail file from the tail object; returns the bytes it holds."""
        os.ftruncate(fd, 0)
        if length == 0:
            return 0
        try:
            body = self.store.client.get_object(
                Bucket=self.store.bucket,
                Key=self._key(self.tail_name),
                Range=f"bytes=0-{length - 1}",
            )["Body"]
        except Exception as exc:
            if getattr(exc, "response", None) and is_missing(exc):  # type: ignore[arg-type]
                return 0
            raise
        pos = 0
        with body:
            for chunk in body.iter_chunks(HASH_CHUNK):
                os.pwrite(fd, chunk, pos)
                pos += len(chunk)
        return pos

    def spill(self, fd: int, size: int) -> None:
        """Send the tail's first `size` bytes as the next part; keep the rest as the tail."""
        client, bucket, key = self.store.client, self.store.bucket, self._key(self.object_name)
        if self.multipart_id is None:
            self.multipart_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        number = len(self.parts) + 1
        done = client.upload_part(
            Bucket=bucket, Key=key, UploadId=self.multipart_id, PartNumber=number,
            Body=_pread_all(fd, size, 0),
        )  # fmt: skip
        self.parts.append(Part(number, done["ETag"], size))
        rest_len = os.fstat(fd).st_size - size
        rest = _pread_all(fd, rest_len, size) if rest_len else b""
        os.ftruncate(fd, 0)
        if rest:
            os.pwrite(fd, rest, 0)
        os.lseek(fd, rest_len, os.SEEK_SET)

    def save_tail(self, fd: int, length: int) -> None:
        if length:
            self.store.put_bytes(self.tail_name, _pread_all(fd, length, 0))
        else:
            self.store.delete_object(self.tail_name)

    def assemble(self, fd: int, tail: int) -> str:
        """Every byte is here: make the whole upload one object; returns its name."""
        client, bucket, key = self.store.client, self.store.bucket, self._key(self.object_name)
        if self.multipart_id is None:
            self.store.put_bytes(self.object_name, _pread_all(fd, tail, 0))
        else:
            if tail:
                self.spill(fd, tail)
            client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=self.multipart_id,
                MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag}
                                           for p in self.parts]},
            )  # fmt: skip
        self.store.delete_object(self.tail_name)
        return self.object_name

    def hash_object(self) -> str:
        """SHA-256 of the assembled object, read as a stream (another process staged it)."""
        h = hashlib.sha256()
        body = self.store.client.get_object(
            Bucket=self.store.bucket, Key=self._key(self.object_name)
        )["Body"]
        with body:
            for chunk in body.iter_chunks(HASH_CHUNK):
                h.update(chunk)
        return h.hexdigest()

    def discard(self) -> None:
        """Drop everything staged (terminated or expired upload)."""
        if self.multipart_id is not None:
            try:
                self.store.client.abort_multipart_upload(
                    Bucket=self.store.bucket, Key=self._key(self.object_name),
                    UploadId=self.multipart_id,
                )  # fmt: skip
            except Exception as exc:  # already completed or aborted
                if not (getattr(exc, "response", None) and is_missing(exc)):  # type: ignore[arg-type]
                    raise
        self.store.delete_object(self.tail_name)
        self.store.delete_object(self.object_name)


def sweep(store: S3BlobStore, live: set[str], cutoff: datetime) -> int:
    """Abort multipart uploads and delete staged objects of uploads that are gone
    (terminated, expired, crashed), once older than `cutoff`. Returns how many."""
    client, prefix = store.client, store.full("uploads/")
    removed = 0
    pages = client.get_paginator("list_multipart_uploads").paginate(
        Bucket=store.bucket, Prefix=prefix
    )
    for page in pages:
        for mpu in page.get("Uploads", []):
            upload_id = mpu["Key"][len(prefix) :].split(".", 1)[0]
            if upload_id not in live and mpu["Initiated"] < cutoff:
                client.abort_multipart_upload(
                    Bucket=store.bucket, Key=mpu["Key"], UploadId=mpu["UploadId"]
                )
                removed += 1
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            upload_id = item["Key"][len(prefix) :].split(".", 1)[0]
            if upload_id not in live and item["LastModified"] < cutoff:
                client.delete_object(Bucket=store.bucket, Key=item["Key"])
                removed += 1
    return removed


# -- leases ---------------------------------------------------------------------------


def _machine() -> str:
    """This machine in this boot: a pid means something only there."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except OSError:
        boot = ""
    return hashlib.sha256(f"{socket.gethostname()}/{boot}".encode()).hexdigest()[:16]


MACHINE = _machine()


def new_holder() -> str:
    return f"{os.getpid()}@{MACHINE}:{secrets.token_hex(8)}"


def holder_dead(holder: str | None) -> bool:
    """The lease was taken by a process of this machine that no longer runs (killed);
    a holder elsewhere, or alive, or unknown, is left to its lease's end."""
    pid, _, rest = (holder or "").partition("@")
    if rest.partition(":")[0] != MACHINE or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, someone else's
        return False
    return False


def take_lease(ctx: Context, upload_id: str, holder: str) -> bool:
    """Let `holder` write to the upload, unless another request holds a live lease."""
    now = utcnow()
    with ctx.db.session() as s:
        done = s.execute(
            update(Upload)
            .where(Upload.id == upload_id)
            .where(
                or_(
                    Upload.lease_until.is_(None),
                    Upload.lease_until < now,
                    Upload.lease_holder == holder,
                )
            )  # fmt: skip
            .values(lease_holder=holder, lease_until=now + timedelta(seconds=LEASE_SECONDS))
        )
        if done.rowcount:  # type: ignore[attr-defined]
            return True
        row = s.get(Upload, upload_id)
        if row is None or not holder_dead(row.lease_holder):
            return False
        done = s.execute(  # the holder was killed: take its lease over
            update(Upload)
            .where(Upload.id == upload_id, Upload.lease_holder == row.lease_holder)
            .values(lease_holder=holder, lease_until=now + timedelta(seconds=LEASE_SECONDS))
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]


def release_lease(ctx: Context, upload_id: str, holder: str) -> None:
    with ctx.db.session() as s:
        s.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.lease_holder == holder)
            .values(lease_holder=None, lease_until=None)
        )


def lease_live(row: Upload, now: datetime | None = None) -> bool:
    return row.lease_until is not None and row.lease_until > (now or utcnow())


class ObjectAppend(Append):
    """An `Append` whose local file holds only the tail: full parts go to the store as
    they arrive, the tail is saved at the end, the lease is renewed with each part."""

    def __init__(self, *, staging: ObjectStaging, renew: Any, **kwargs: Any) -> None:
        self.staging = staging
        self._renew = renew
        self.spilled = False
        super().__init__(base=staging.base, **kwargs)
        # A checksummed PATCH is verified before any of it leaves this node.
        self.spill_at = float("inf") if self.checksum else staging.store.part_size

    async def spill_part(self) -> None:
        import anyio

        size = int(self.spill_at)
        await anyio.to_thread.run_sync(self.staging.spill, self.fd, size)
        self.base += size
        self.spilled = True
        await anyio.to_thread.run_sync(self._renew)

    def durable_offset(self) -> int:
        return self.base  # the parts sent; the local tail is not durable until saved

    def _make_durable(self) -> None:
        """The parts are in the store already; a resume fetches no tail (its length is 0)."""

    def _rollback(self) -> None:
        if not self.spilled:
            super()._rollback()
            return
        # Parts of this PATCH already went to the store: keep them (they are durable),
        # drop the unsent tail; the client asks HEAD where to resume.
        os.ftruncate(self.fd, 0)
        self.start = self.pos = self.base
        self.sha = None
        self._sync()
        self._record()

    def _sync(self) -> None:
        super()._sync()
        self.staging.save_tail(self.fd, self.pos - self.base)
