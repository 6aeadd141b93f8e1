"""Turn finished staging files into files, in one transaction.

The staging file stays in place until that transaction has committed: the
blob store is handed a hard link to it. So a crash at any point leaves either
the upload as it was (resumable, its bytes still staged) or the finished file;
never a half-visible one. (A crash between the store's rename and the commit
can leave unreferenced bytes under their final key; the next identical upload
reuses them, since the store keeps an existing key.)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.context import Context
from partage.files.blobs import blob_from_object, blob_from_staged
from partage.files.folders import resolve_path
from partage.files.models import File, Folder
from partage.files.quota import check_quota
from partage.files.service import create_file
from partage.media import jobs as media_jobs
from partage.moderation import malware, screening, staydown
from partage.uploads.spec import FileSpec


@dataclass
class Staged:
    """Finished upload bytes: a local staging file, or an object in the store
    (`object_name`, for uploads staged there; see `uploads.objectstaging`)."""

    path: Path | None
    sha256: str
    size: int
    spec: FileSpec
    object_name: str | None = None
    md5: str | None = None  # when the staydown check computed it


def _folder_id(s: Session, user: User, spec: FileSpec) -> int | None:
    if spec.folder_id is not None:
        folder = s.get(Folder, spec.folder_id)
        if folder is not None and folder.owner_id == user.id:
            return folder.id
        # The folder went away while the upload ran: the file lands in the root rather
        # than the finished upload being refused.
    if spec.folder_path:
        found = resolve_path(s, user, spec.folder_path, create=True)
        return found.id if found else None
    return None


def _link(path: Path) -> Path:
    link = path.with_name(f"{path.name}.ingest-{secrets.token_hex(6)}")
    os.link(path, link)
    return link


def _refuse_banked(ctx: Context, user: User, items: list[Staged]) -> None:
    """Staydown: refuse (451) bytes an exact hash bank holds, deleting them; nothing stored."""

    def md5_of(item: Staged) -> Callable[[], str]:
        if item.path is not None:
            return partial(staydown.md5_of_file, item.path)
        return partial(staydown.md5_of_object, ctx, item.object_name or "")

    cands = [staydown.Candidate(i.sha256, md5_of(i), i.spec.name or "") for i in items]
    refusal = staydown.check(ctx, user, cands)
    for item, cand in zip(items, cands, strict=True):
        item.md5 = cand.md5
    if refusal is None:
        return
    for item in items:
        if item.path is not None:
            item.path.unlink(missing_ok=True)
        if item.object_name is not None:
            ctx.store.delete_object(item.object_name)  # type: ignore[attr-defined]
    raise refusal


def ingest(
    ctx: Context,
    user: User,
    items: list[Staged],
    *,
    quota_check: bool = False,
    before_commit: Callable[[Session, list[File]], None] | None = None,
) -> list[File]:
    """Store (or dedup) each staged file's bytes and create its File, all or nothing.

    `quota_check` re-checks the storage quota inside the transaction, for uploads
    that reserved nothing while their bytes arrived (PUT, multipart).
    `before_commit` lets the caller record the outcome in the same transaction.
    """
    _refuse_banked(ctx, user, items)
    links: list[Path] = []
    to_process: list[int] = []
    to_scan: list[int] = []
    try:
        for attempt in (1, 2):
            try:
                with ctx.db.session() as s:
                    if quota_check:
                        check_quota(s, user, sum(i.size for i in items), reserve=True)
                    files: list[File] = []
                    to_process = []
                    to_scan = []
                    for item in items:
                        assert item.spec.name is not None
                        if item.object_name is not None:
                            blob = blob_from_object(
                                s, ctx.store, item.object_name, item.sha256, item.size,
                                item.spec.name, item.spec.filetype,
                            )  # fmt: skip
                        else:
                            assert item.path is not None
                            link = _link(item.path)
                            links.append(link)
                            blob = blob_from_staged(
                                s, ctx.store, link, item.sha256, item.size, item.spec.name,
                                item.spec.filetype,
                            )  # fmt: skip
                        if item.md5 and blob.md5 is None:
                            blob.md5 = item.md5
                        f = create_file(
                            s,
                            user,
                            blob,
                            item.spec.name,
                            folder_id=_folder_id(s, user, item.spec),
                            options=item.spec.link_options(),
                            default_public=ctx.settings.default_public,
                            description=item.spec.description,
                        )
                        if item.spec.password_hash:
                            f.password_hash = item.spec.password_hash
                        files.append(f)
                        if media_jobs.prepare(s, blob):
                            to_process.append(blob.id)
                        if malware.prepare(s, blob, ctx.settings) and blob.id not in to_scan:
                            to_scan.append(blob.id)
                    s.flush()
                    if before_commit is not None:
                        before_commit(s, files)
                break
            except IntegrityError:
                # Two identical uploads finishing at once on a database that does not
                # serialise writers: the second sees the first's blob on a retry.
                if attempt == 2:
                    raise
    finally:
        for link in links:
            link.unlink(missing_ok=True)
    for item in items:
        if item.path is not None:
            item.path.unlink(missing_ok=True)
        if item.object_name is not None:  # now a blob (or a duplicate of one)
            ctx.store.delete_object(item.object_name)  # type: ignore[attr-defined]
    # Only now that the files are committed may a worker look for them.
    media_jobs.enqueue(ctx, to_process)
    malware.enqueue(ctx, to_scan)
    screening.enqueue(ctx, sorted({f.blob_id for f in files if f.blob_id is not None}))
    return files
