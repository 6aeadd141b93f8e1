"""tus concatenation: a final upload made of finished partial uploads.

The partials' staged bytes are copied, in order, into the final's staging file
while its SHA-256 is computed; the file, the final upload's record and the
removal of the partials commit together.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from botocore.exceptions import ClientError
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.context import Context
from partage.db import utcnow
from partage.errors import BadRequest, Conflict, NotFound, TooLarge
from partage.files.models import File
from partage.files.quota import max_file_size
from partage.humanize import size as hsize
from partage.storage.s3 import S3BlobStore, is_missing
from partage.uploads.appender import AppendResult, drop_state
from partage.uploads.errors import UploadBusy
from partage.uploads.ingest import Staged, ingest
from partage.uploads.models import Upload
from partage.uploads.objectstaging import new_holder, object_store, release_lease, take_lease
from partage.uploads.service import (
    check_live,
    get_owned,
    new_expiry,
    prepare_spec,
    staging_file,
)
from partage.uploads.staging import (
    READ_CHUNK,
    new_upload_id,
    raise_storage_error,
    try_lock,
    write_all,
)


def _check_parts(ctx: Context, user: User, part_ids: list[str]) -> int:
    if len(set(part_ids)) != len(part_ids):
        raise BadRequest("Upload-Concat: the same partial upload is listed twice.")
    total = 0
    with ctx.db.read() as s:
        for pid in part_ids:
            part = get_owned(s, user, pid)
            check_live(part)
            if not part.is_partial:
                raise BadRequest("Upload-Concat: %(pid)s is not a partial upload.", pid=pid)
            if part.length is None or part.offset != part.length:
                raise BadRequest(
                    "Upload-Concat: the partial upload %(pid)s is not complete "
                    "(%(received)s of %(length)s bytes).",
                    pid=pid,
                    received=part.offset,
                    length=part.length if part.length is not None else "?",
                )
            total += part.length
    limit = max_file_size(user, ctx.settings)
    if total > limit:
        raise TooLarge(
            "These parts make a file of %(total)s; your plan allows files up to %(limit)s.",
            total=hsize(total),
            limit=hsize(limit),
        )
    return total


def _fetch(store: S3BlobStore, pid: str, path: Path) -> None:
    try:
        store.download(f"uploads/{pid}", path)
    except ClientError as exc:
        if is_missing(exc):
            raise Conflict(
                "The partial upload %(pid)s lost its bytes; upload it again.", pid=pid
            ) from exc
        raise


@contextmanager
def _leases(ctx: Context, part_ids: list[str]) -> Iterator[None]:
    """Hold every partial's lease (any node) while they are read."""
    holder = new_holder()
    taken: list[str] = []
    try:
        for pid in part_ids:
            if not take_lease(ctx, pid, holder):
                raise UploadBusy("The partial upload %(pid)s is busy; retry in a moment.", pid=pid)
            taken.append(pid)
        yield
    finally:
        for pid in taken:
            release_lease(ctx, pid, holder)


def create_final(
    ctx: Context, user: User, part_ids: list[str], metadata: str | None
) -> tuple[str, AppendResult]:
    """Concatenate finished partials into a new, complete upload; returns its id and state."""
    spec, stored = prepare_spec(ctx, user, metadata, name_required=True)
    total = _check_parts(ctx, user, part_ids)
    final_id = new_upload_id()
    path = staging_file(ctx, final_id)
    sha = hashlib.sha256()
    with ExitStack() as stack:
        sources: list[int] = []
        store = object_store(ctx)
        if store is not None:  # partials were assembled as objects: bring them here
            stack.enter_context(_leases(ctx, part_ids))
            for pid in part_ids:
                _fetch(store, pid, staging_file(ctx, pid))
        for pid in part_ids:
            try:
                fd = os.open(staging_file(ctx, pid), os.O_RDONLY)
            except FileNotFoundError:
                raise Conflict(
                    "The partial upload %(pid)s lost its bytes; upload it again.", pid=pid
                ) from None
            stack.callback(os.close, fd)
            if not try_lock(fd):  # being written, or used by another concatenation
                raise UploadBusy("The partial upload %(pid)s is busy; retry in a moment.", pid=pid)
            sources.append(fd)
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with ctx.db.read() as s:
                lengths = [s.get(Upload, pid).length or 0 for pid in part_ids]  # type: ignore[union-attr]
            for fd, length in zip(sources, lengths, strict=True):
                pos = 0
                while pos < length:
                    chunk = os.pread(fd, min(READ_CHUNK, length - pos), pos)
                    if not chunk:
                        raise Conflict("A partial upload lost staged bytes; upload it again.")
                    sha.update(chunk)
                    write_all(out, chunk)
                    pos += len(chunk)
            os.fsync(out)
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise_storage_error(exc)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        finally:
            os.close(out)

        def record(s: Session, files: list[File]) -> None:
            for pid in part_ids:
                part = s.get(Upload, pid)
                if part is None or part.owner_id != user.id:
                    raise NotFound("The partial upload %(pid)s went away meanwhile.", pid=pid)
                s.delete(part)
            now = utcnow()
            s.add(
                Upload(
                    id=final_id,
                    owner_id=user.id,
                    length=total,
                    offset=total,
                    metadata_=stored,
                    is_partial=False,
                    parts=part_ids,
                    expires_at=new_expiry(ctx),
                    completed_at=now,
                    file_id=files[0].id,
                )
            )

        try:
            files = ingest(ctx, user, [Staged(path, sha.hexdigest(), total, spec)],
                           before_commit=record)  # fmt: skip
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        for pid in part_ids:
            staging_file(ctx, pid).unlink(missing_ok=True)
            drop_state(pid)
            if store is not None:
                store.delete_object(f"uploads/{pid}")
    return final_id, AppendResult(total, total, None, files[0].code)
