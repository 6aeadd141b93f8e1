"""One-request uploads (multipart POST, raw PUT): limits before the body, files after it.

These uploads reserve no quota while their bytes arrive, so the quota is checked
from Content-Length before reading, enforced while streaming, and checked once
more in the transaction that creates the files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from partage.accounts.models import User
from partage.context import Context
from partage.errors import BadRequest, PartageError, QuotaExceeded, TooLarge
from partage.files.models import File
from partage.files.quota import check_quota, check_size, max_file_size, reserved_bytes, used_bytes
from partage.humanize import size as hsize
from partage.uploads.formdata import FormFile
from partage.uploads.ingest import Staged, ingest
from partage.uploads.service import check_uploads_allowed
from partage.uploads.spec import KEYS, FileSpec, build_spec
from partage.uploads.staging import StagedWriter

# Multipart boundaries, part headers and small fields: what Content-Length counts
# beyond the files themselves, allowed for in the early quota check.
FRAMING_SLACK = 64 * 1024


@dataclass
class Limits:
    file_limit: int
    file_error: PartageError
    total_limit: int
    total_error: PartageError


def _limits(ctx: Context, user: User, free: int | None) -> Limits:
    limit = max_file_size(user, ctx.settings)
    file_error = TooLarge(
        "This file is over your plan's maximum file size (%(limit)s).", limit=hsize(limit)
    )
    if free is None:
        return Limits(limit, file_error, ctx.settings.max_upload_size * 1000, QuotaExceeded(""))
    return Limits(
        limit,
        file_error,
        free,
        QuotaExceeded("Not enough storage left: you have %(free)s free.", free=hsize(free)),
    )


def check_request(
    ctx: Context, user: User, content_length: int | None, *, multipart: bool
) -> Limits:
    """Refuse (413) from Content-Length alone when it cannot fit; else the streaming limits."""
    check_uploads_allowed(user)
    with ctx.db.read() as s:
        if content_length is not None:
            if multipart:
                check_quota(s, user, max(0, content_length - FRAMING_SLACK))
            else:
                check_size(s, user, ctx.settings, content_length)
        quota = user.plan.storage_quota
        free = None
        if quota is not None:
            free = max(0, quota - used_bytes(s, user.id) - reserved_bytes(s, user.id))
    return _limits(ctx, user, free)


def prepare_put(
    ctx: Context, user: User, filename: str, params: dict[str, str], content_length: int | None
) -> tuple[FileSpec, Limits]:
    """Validate a PUT's name and options, and its size, before its body is read."""
    fields = {k: v for k, v in params.items() if k in KEYS and k != "filename"}
    with ctx.db.read() as s:
        spec = build_spec(s, user, {**fields, "filename": filename})
    return spec, check_request(ctx, user, content_length, multipart=False)


def finish_put(ctx: Context, user: User, spec: FileSpec, writer: StagedWriter) -> File:
    staged = Staged(writer.path, writer.sha.hexdigest(), writer.size, spec)
    return ingest(ctx, user, [staged], quota_check=True)[0]


def finish_form(
    ctx: Context, user: User, files: list[FormFile], fields: dict[str, str]
) -> list[File]:
    """Create every file of a form with the form's options, all or nothing."""
    if not files:
        raise BadRequest("No file in the form: send one or more 'file' fields.")
    options = {k: v for k, v in fields.items() if k in KEYS and k != "filename"}
    with ctx.db.read() as s:
        base = build_spec(s, user, options, name_required=False)
    staged = [
        Staged(f.writer.path, f.writer.sha.hexdigest(), f.writer.size,
               dataclasses.replace(base, name=f.name, filetype=f.content_type))
        for f in files
    ]  # fmt: skip
    return ingest(ctx, user, staged, quota_check=True)
