"""Upload sessions (tus): create, append, finish, terminate, expire. No HTTP here.

Rules kept here:
- size and quota are checked before a byte is stored: at creation for a known
  length (unfinished uploads reserve their length), when a deferred length is
  declared, and against the plan's limits while a deferred upload's data flows;
- the offset in the database never exceeds the bytes durably in the staging
  file: it is written after an fsync, and on resume the staging file is
  truncated to it (or it is lowered to the file's size if bytes were lost);
- the metadata (name, folder, link options) is validated at creation.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.context import Context
from partage.db import utcnow
from partage.errors import (
    BadRequest,
    Conflict,
    ContentBlocked,
    Forbidden,
    NotFound,
    PartageError,
    QuotaExceeded,
    TooLarge,
)
from partage.files.models import File
from partage.files.quota import check_size, max_file_size, reserved_bytes, used_bytes
from partage.humanize import size as hsize
from partage.storage.s3 import S3BlobStore
from partage.uploads.appender import Append, AppendResult, drop_state, take_state
from partage.uploads.errors import OffsetMismatch, PastLength, UploadBusy, UploadExpired
from partage.uploads.ingest import Staged, ingest
from partage.uploads.models import Upload
from partage.uploads.objectstaging import (
    ObjectAppend,
    ObjectStaging,
    lease_live,
    new_holder,
    object_store,
    release_lease,
    sweep,
    take_lease,
)
from partage.uploads.protocol import Checksum, parse_metadata, without_key
from partage.uploads.spec import FileSpec, build_spec
from partage.uploads.staging import hash_prefix, is_upload_id, new_upload_id, try_lock, upload_path

log = logging.getLogger("partage.uploads")


def staging_file(ctx: Context, upload_id: str) -> Path:
    return upload_path(ctx.settings.staging_dir, upload_id)


def get_owned(s: Session, user: User, upload_id: str) -> Upload:
    """This user's upload; anyone else's is 'not found'."""
    row = s.get(Upload, upload_id) if is_upload_id(upload_id) else None
    if row is None or row.owner_id != user.id:
        raise NotFound(
            "No upload %(upload_id)s in your account (finished, removed or expired).",
            upload_id=repr(upload_id),
        )
    return row


def check_uploads_allowed(user: User, now: datetime | None = None) -> None:
    """Refuse every upload while the account's uploads are suspended (repeat-infringer
    policy, moderation.strikes): checked where each way of uploading checks its limits."""
    until = user.uploads_suspended_until
    if until is not None and until > (now or utcnow()):
        raise Forbidden(
            "Your uploads are suspended until %(until)s under the repeat-infringer policy "
            "(see /terms).",
            until=until.strftime("%Y-%m-%d %H:%M UTC"),
        )


def check_live(row: Upload, now: datetime | None = None) -> None:
    if row.completed_at is None and row.expires_at <= (now or utcnow()):
        raise UploadExpired(
            "This upload expired before it was finished and is being removed; start a new one."
        )


def new_expiry(ctx: Context) -> datetime:
    return utcnow() + timedelta(seconds=ctx.settings.upload_expiry)


def spec_of(row: Upload) -> FileSpec | None:
    data = (row.metadata_ or {}).get("spec")
    return FileSpec.from_json(data) if data else None


def raw_metadata(row: Upload) -> str:
    return str((row.metadata_ or {}).get("raw") or "")


# -- creation ---------------------------------------------------------------------------


def prepare_spec(
    ctx: Context, user: User, metadata: str | None, *, name_required: bool
) -> tuple[FileSpec, dict[str, object]]:
    """Validate Upload-Metadata now, so a bad name or option fails before any data."""
    fields = parse_metadata(metadata)
    with ctx.db.read() as s:
        spec = build_spec(s, user, fields, name_required=name_required)
    stored: dict[str, object] = {"raw": without_key(metadata, "password"), "spec": spec.to_json()}
    return spec, stored


def create_upload(
    ctx: Context,
    user: User,
    *,
    length: int | None,
    partial: bool = False,
    metadata: str | None = None,
) -> Upload:
    """A new upload session; `length=None` defers the length (creation-defer-length)."""
    check_uploads_allowed(user)
    _, stored = prepare_spec(ctx, user, metadata, name_required=not partial)
    with ctx.db.session() as s:
        check_size(s, user, ctx.settings, length or 0)
        row = Upload(
            id=new_upload_id(),
            owner_id=user.id,
            length=length,
            offset=0,
            metadata_=stored,
            is_partial=partial,
            expires_at=new_expiry(ctx),
        )
        s.add(row)
        s.flush()
    staging_file(ctx, row.id).touch(mode=0o600)
    return row


# -- appending --------------------------------------------------------------------------


def _deferred_limit(
    s: Session, user: User, ctx: Context, upload_id: str
) -> tuple[int, PartageError]:
    """How far a deferred-length upload may grow: plan max size and free storage."""
    limit = max_file_size(user, ctx.settings)
    error: PartageError = TooLarge(
        "This upload would exceed your plan's maximum file size (%(limit)s).", limit=hsize(limit)
    )
    quota = user.plan.storage_quota
    if quota is not None:
        free = quota - used_bytes(s, user.id) - reserved_bytes(s, user.id, upload_id)
        if free < limit:
            limit = max(0, free)
            error = QuotaExceeded(
                "This upload would exceed your free storage (%(limit)s).", limit=hsize(limit)
            )
    return limit, error


def _reconcile(s: Session, row: Upload, fd: int) -> None:
    """Make the staging file and the recorded offset agree (we hold the file's lock)."""
    size = os.fstat(fd).st_size
    if size > row.offset:
        os.ftruncate(fd, row.offset)  # bytes never acknowledged: the client sends them again
    elif size < row.offset:
        log.warning("upload %s: staging file lost bytes; offset %d -> %d", row.id, row.offset, size)
        drop_state(row.id)
        row.offset = size


def begin_append(
    ctx: Context,
    user: User,
    upload_id: str,
    *,
    offset: int,
    declared_length: int | None = None,
    content_length: int | None = None,
    checksum: Checksum | None = None,
) -> Append | AppendResult:
    """Check a PATCH and lock the upload for it; an AppendResult means already complete."""
    with ctx.db.read() as s:
        row = get_owned(s, user, upload_id)
        check_live(row)
    if row.parts is not None:
        raise Forbidden("A final (concatenated) upload cannot be patched.")
    if row.completed_at is not None:
        if offset != row.offset:
            raise OffsetMismatch(
                "Upload-Offset is %(offset)s but the upload is complete.", offset=offset
            )
        if content_length:
            raise PastLength("This upload is complete: it takes no more bytes.")
        return AppendResult(row.offset, row.length, None, _file_code(ctx, row))
    check_uploads_allowed(user)  # an upload begun before the suspension stops too
    store = object_store(ctx)
    if store is not None:
        return _begin_object_append(ctx, user, upload_id, store, offset=offset,
                                    declared_length=declared_length,
                                    content_length=content_length, checksum=checksum)  # fmt: skip
    path = staging_file(ctx, upload_id)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not try_lock(fd):
            raise _busy()
        with ctx.db.session() as s:  # authoritative now that we hold the lock
            row = _live_row(s, upload_id, path)
            _reconcile(s, row, fd)
            limit, error = _check_append(s, ctx, user, row, offset, declared_length, content_length)
            start, length, partial = row.offset, row.length, row.is_partial
            spec = spec_of(row)
        sha = None
        if not partial:  # partials are hashed when concatenated, not while they arrive
            sha = take_state(upload_id, start) or hash_prefix(fd, start)
    except BaseException:
        os.close(fd)
        raise

    def persist(new_offset: int, changed: bool) -> datetime | None:
        return _persist(ctx, upload_id, new_offset, changed)

    def complete(sha256: str | None) -> str:
        assert length is not None and spec is not None and sha256 is not None
        return _complete(ctx, user, upload_id, Staged(path, sha256, length, spec))

    append = Append(
        upload_id=upload_id,
        fd=fd,
        start=start,
        length=length,
        limit=limit,
        limit_error=error,
        sha=sha,
        checksum=checksum,
        persist=persist,
        complete=complete,
        checkpoint_every=ctx.settings.upload_checkpoint_bytes,
    )
    append.on_full = lambda: _drop_staged(ctx, upload_id)
    return append


def _busy() -> UploadBusy:
    return UploadBusy("Another request is writing to this upload right now; retry once it is done.")


def _live_row(s: Session, upload_id: str, path: Path) -> Upload:
    row = s.get(Upload, upload_id)
    if row is None:
        path.unlink(missing_ok=True)
        raise NotFound("No upload %(upload_id)s: it was terminated.", upload_id=repr(upload_id))
    if row.completed_at is not None:  # finished by another request meanwhile
        path.unlink(missing_ok=True)  # the empty file our open() created
        raise OffsetMismatch(
            "This upload was completed meanwhile (offset %(offset)s): ask HEAD for its state.",
            offset=row.offset,
        )
    return row


def _check_append(
    s: Session, ctx: Context, user: User, row: Upload, offset: int,
    declared_length: int | None, content_length: int | None,
) -> tuple[int, PartageError]:  # fmt: skip
    """The PATCH's offset and size against the upload (we hold its lock); its size limit."""
    if declared_length is not None:
        _declare_length(s, ctx, user, row, declared_length)
    if offset != row.offset:
        raise OffsetMismatch(
            "Upload-Offset is %(offset)s but the upload is at offset %(current)s: "
            "ask HEAD for the offset and resume from there.",
            offset=offset,
            current=row.offset,
        )
    if row.length is not None:
        limit = row.length
        error: PartageError = PastLength(
            "This upload is %(length)s bytes long: the data sent at offset "
            "%(offset)s goes past its end. Nothing of it was kept.",
            length=row.length,
            offset=offset,
        )
    else:
        limit, error = _deferred_limit(s, user, ctx, row.id)
    if content_length is not None and offset + content_length > limit:
        raise error
    return limit, error


def _persist(
    ctx: Context, upload_id: str, new_offset: int, changed: bool,
    staging: ObjectStaging | None = None,
) -> datetime | None:  # fmt: skip
    with ctx.db.session() as s:
        r = s.get(Upload, upload_id)
        if r is None:
            raise NotFound(
                "No upload %(upload_id)s: it was terminated meanwhile.", upload_id=repr(upload_id)
            )
        r.offset = new_offset
        if staging is not None:
            staging.record(r)
        if changed:  # the expiry slides while the client makes progress
            r.expires_at = new_expiry(ctx)
        return r.expires_at


def _begin_object_append(
    ctx: Context, user: User, upload_id: str, store: S3BlobStore, *, offset: int,
    declared_length: int | None, content_length: int | None, checksum: Checksum | None,
) -> ObjectAppend:  # fmt: skip
    """`begin_append` with the bytes staged in the object store (see `objectstaging`)."""
    holder = new_holder()
    if not take_lease(ctx, upload_id, holder):
        raise _busy()
    path = staging_file(ctx, upload_id)
    fd = -1
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with ctx.db.session() as s:
            row = _live_row(s, upload_id, path)
            limit, error = _check_append(s, ctx, user, row, offset, declared_length, content_length)
            staging = ObjectStaging(store, upload_id, row)
            start, length, partial = row.offset, row.length, row.is_partial
            spec = spec_of(row)
        sha = take_state(upload_id, start)
        tail = start - staging.base
        if sha is None or os.fstat(fd).st_size != tail:  # another node wrote the tail
            got = staging.load_tail(fd, tail)
            if got != tail:
                raise Conflict(
                    "Upload %(upload_id)s: its staged bytes were lost; start again.",
                    upload_id=upload_id,
                )
    except BaseException:
        if fd >= 0:
            os.close(fd)
        release_lease(ctx, upload_id, holder)
        raise

    def persist(new_offset: int, changed: bool) -> datetime | None:
        if partial and length is not None and new_offset == length:
            staging.assemble(fd, new_offset - staging.base)  # concatenation reads it whole
            os.ftruncate(fd, 0)
            staging.multipart_id, staging.parts = None, []
        return _persist(ctx, upload_id, new_offset, changed, staging)

    def complete(sha256: str | None) -> str:
        assert length is not None and spec is not None
        name = staging.assemble(fd, length - staging.base)
        digest = sha256 or staging.hash_object()
        try:
            code = _complete(ctx, user, upload_id, Staged(None, digest, length, spec, name))
        except ContentBlocked:  # staydown: the object is gone, the local tail goes too
            path.unlink(missing_ok=True)
            raise
        path.unlink(missing_ok=True)  # the tail, now part of the blob
        return code

    def renew() -> None:
        if not take_lease(ctx, upload_id, holder):
            raise _busy()

    append = ObjectAppend(
        staging=staging, renew=renew, upload_id=upload_id, fd=fd, start=start, length=length,
        limit=limit, limit_error=error, sha=None if partial else sha, checksum=checksum,
        persist=persist, complete=complete, hash_later=not partial,
        checkpoint_every=ctx.settings.upload_checkpoint_bytes,
    )  # fmt: skip
    append.on_close = lambda: release_lease(ctx, upload_id, holder)
    append.on_full = lambda: _drop_staged(ctx, upload_id, staging)
    return append


def _drop_staged(ctx: Context, upload_id: str, staging: ObjectStaging | None = None) -> None:
    """The disk filled up under this upload: remove it and its staged bytes now (see
    `Append._drop`). The file goes first: the database may need the space it frees."""
    staging_file(ctx, upload_id).unlink(missing_ok=True)
    drop_state(upload_id)
    if staging is not None:
        staging.discard()
    with ctx.db.session() as s:
        row = s.get(Upload, upload_id)
        if row is not None and row.completed_at is None:
            s.delete(row)


def _declare_length(s: Session, ctx: Context, user: User, row: Upload, length: int) -> None:
    if row.length is not None:
        if row.length != length:
            raise BadRequest(
                "Upload-Length is %(length)s already; it cannot change.", length=row.length
            )
        return
    if length < row.offset:
        raise BadRequest(
            "Upload-Length %(length)s is less than the %(offset)s bytes received.",
            length=length,
            offset=row.offset,
        )
    check_size(s, user, ctx.settings, length, exclude_upload=row.id)
    row.length = length


def _complete(ctx: Context, user: User, upload_id: str, staged: Staged) -> str:
    def record(s: Session, files: list[File]) -> None:
        r = s.get(Upload, upload_id)
        if r is None:
            raise NotFound(
                "No upload %(upload_id)s: it was terminated meanwhile.", upload_id=repr(upload_id)
            )
        now = utcnow()
        r.offset, r.completed_at, r.file_id = staged.size, now, files[0].id
        r.lease_holder = r.lease_until = None
        r.expires_at = new_expiry(ctx)  # the record answers GET for a while, then goes

    files = ingest(ctx, user, [staged], before_commit=record)
    return files[0].code


def _file_code(ctx: Context, row: Upload) -> str | None:
    if row.file_id is None:
        return None
    with ctx.db.read() as s:
        return s.scalar(select(File.code).where(File.id == row.file_id))


# -- reading, terminating, expiring -----------------------------------------------------


@dataclass
class UploadInfo:
    row: Upload
    offset: int
    file: File | None

    @property
    def complete(self) -> bool:
        return self.row.completed_at is not None


def get_info(ctx: Context, user: User, upload_id: str) -> UploadInfo:
    with ctx.db.read() as s:
        row = get_owned(s, user, upload_id)
        check_live(row)
        file = s.get(File, row.file_id) if row.file_id else None
    offset = row.offset
    if row.completed_at is None and object_store(ctx) is None:
        # Never report more than is durably staged (the database may be ahead after a crash).
        try:
            offset = min(offset, staging_file(ctx, upload_id).stat().st_size)
        except FileNotFoundError:
            offset = 0
    return UploadInfo(row, offset, file)


def terminate(ctx: Context, user: User, upload_id: str) -> None:
    with ctx.db.session() as s:
        row = get_owned(s, user, upload_id)
        if row.completed_at is not None:
            raise Conflict(
                "This upload is complete: it is a file now. Delete the file itself "
                "(DELETE /api/v1/files/{code}) to remove it."
            )
        staging = _object_staging(ctx, row)
        s.delete(row)
    staging_file(ctx, upload_id).unlink(missing_ok=True)
    if staging is not None:
        staging.discard()
    drop_state(upload_id)


def _object_staging(ctx: Context, row: Upload) -> ObjectStaging | None:
    store = object_store(ctx)
    return ObjectStaging(store, row.id, row) if store is not None else None


def _remove_if_idle(ctx: Context, upload_id: str) -> bool:
    """Delete an expired unfinished upload unless a request is writing to it right now."""
    path = staging_file(ctx, upload_id)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        fd = -1
    try:
        if fd >= 0 and not try_lock(fd):
            return False
        with ctx.db.session() as s:
            row = s.get(Upload, upload_id)
            now = utcnow()
            if row is None or row.completed_at is not None or row.expires_at > now:
                return False
            if lease_live(row, now):  # a request on some node is writing to it
                return False
            staging = _object_staging(ctx, row)
            s.delete(row)
        path.unlink(missing_ok=True)
        if staging is not None:
            staging.discard()
        return True
    finally:
        if fd >= 0:
            os.close(fd)


def expire_abandoned(ctx: Context) -> int:
    """Remove unfinished uploads past their expiry (and their staged bytes), old records
    of finished uploads, and staging files nothing refers to. Returns how many unfinished
    uploads were removed."""
    now = utcnow()
    with ctx.db.read() as s:
        expired = list(
            s.execute(select(Upload.id, Upload.completed_at).where(Upload.expires_at <= now))
        )
    removed = 0
    done: list[str] = []
    for upload_id, completed_at in expired:
        if completed_at is not None:
            done.append(upload_id)
        elif _remove_if_idle(ctx, upload_id):
            removed += 1
    if done:
        with ctx.db.session() as s:
            for upload_id in done:
                row = s.get(Upload, upload_id)
                if row is not None:
                    s.delete(row)
    _sweep_staging(ctx)
    return removed


def _sweep_staging(ctx: Context) -> None:
    """Staging files of no live upload (crashes, abandoned PUTs), idle for the expiry time."""
    staging = ctx.settings.staging_dir
    cutoff = utcnow().timestamp() - ctx.settings.upload_expiry
    with ctx.db.read() as s:
        live = set(s.scalars(select(Upload.id).where(Upload.completed_at.is_(None))))
    store = object_store(ctx)
    if store is not None:
        sweep(store, live, utcnow() - timedelta(seconds=ctx.settings.upload_expiry))
    for entry in os.scandir(staging):
        if entry.name in live or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
        except FileNotFoundError:
            pass
