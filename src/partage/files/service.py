"""Files: create from a blob, list, read, change, move, copy, delete. No HTTP here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.db import iso, utcnow
from partage.errors import BadRequest, NotFound
from partage.files.blobs import release_blob
from partage.files.codes import is_code, new_code
from partage.files.folders import get_folder
from partage.files.links import LinkOptions
from partage.files.models import Blob, BlobStatus, File, FileStatus
from partage.files.names import clean_name
from partage.files.quota import check_quota

MAX_BULK = 1000


def create_file(
    s: Session,
    owner: User,
    blob: Blob,
    name: str,
    *,
    folder_id: int | None = None,
    options: LinkOptions | None = None,
    default_public: bool = True,
    description: str = "",
) -> File:
    f = File(
        code=new_code(s),
        owner_id=owner.id,
        folder_id=get_folder(s, owner, folder_id).id if folder_id else None,  # type: ignore[union-attr]
        name=clean_name(name),
        description=description,
        blob=blob,
        size=blob.size,
        public=default_public,
        link_version=1,
        downloads=0,
    )
    if options is not None:
        options.apply(f)
        f.link_version = 1
    s.add(f)
    s.flush()
    return f


def get_owned(s: Session, user: User, code: str) -> File:
    """A file of this user's. Anyone else's file is 'not found', never 'forbidden'."""
    f = s.scalar(select(File).where(File.code == code)) if is_code(code) else None
    if f is None or f.owner_id != user.id or f.status == FileStatus.deleted:
        raise NotFound("No file with code %(code)s in your account.", code=repr(code))
    return f


def get_by_code(s: Session, code: str) -> File | None:
    return s.scalar(select(File).where(File.code == code)) if is_code(code) else None


Order = Literal["name", "-name", "created", "-created", "size", "-size", "downloads", "-downloads"]
ORDERS = {"name": func.lower(File.name), "created": File.created_at, "size": File.size,
          "downloads": File.downloads}  # fmt: skip


@dataclass
class Page:
    items: list[File]
    total: int
    page: int
    per_page: int


def list_files(
    s: Session,
    user: User,
    *,
    folder_id: int | None = None,
    all_folders: bool = False,
    search: str | None = None,
    order: str = "-created",
    page: int = 1,
    per_page: int = 50,
) -> Page:
    if order.lstrip("-") not in ORDERS:
        names = ", ".join(sorted(ORDERS))
        raise BadRequest("order must be one of: %(names)s (prefix - to reverse).", names=names)
    if page < 1 or not 1 <= per_page <= 1000:
        raise BadRequest("page starts at 1; per_page is between 1 and 1000.")
    q = select(File).where(File.owner_id == user.id, File.status != FileStatus.deleted)
    if search:
        like = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = q.where(File.name.ilike(f"%{like}%", escape="\\"))
    if not all_folders and not search:
        get_folder(s, user, folder_id)
        q = q.where(File.folder_id.is_(None) if folder_id is None else File.folder_id == folder_id)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    col = ORDERS[order.lstrip("-")]
    q = q.order_by(col.desc() if order.startswith("-") else col.asc(), File.id.desc())
    items = list(s.scalars(q.offset((page - 1) * per_page).limit(per_page)))
    return Page(items, total, page, per_page)


def update_file(
    s: Session,
    user: User,
    code: str,
    *,
    name: str | None = None,
    description: str | None = None,
    folder_id: Any = None,
    move: bool = False,
    options: LinkOptions | None = None,
) -> File:
    f = get_owned(s, user, code)
    if name is not None:
        f.name = clean_name(name)
    if description is not None:
        if len(description) > 10_000:
            raise BadRequest("The description has 10,000 characters at most.")
        f.description = description
    if move:
        f.folder_id = get_folder(s, user, folder_id).id if folder_id is not None else None  # type: ignore[union-attr]
    if options is not None:
        options.apply(f)
    f.updated_at = utcnow()
    s.flush()
    return f


def _owned_many(s: Session, user: User, codes: list[str]) -> list[File]:
    if not codes:
        raise BadRequest("No file codes given.")
    if len(codes) > MAX_BULK:
        raise BadRequest("At most %(max)s files at once.", max=MAX_BULK)
    return [get_owned(s, user, c) for c in dict.fromkeys(codes)]


def move_files(s: Session, user: User, codes: list[str], folder_id: int | None) -> list[File]:
    target = get_folder(s, user, folder_id)
    files = _owned_many(s, user, codes)
    for f in files:
        f.folder_id = target.id if target else None
    s.flush()
    return files


def copy_files(s: Session, user: User, codes: list[str], folder_id: int | None) -> list[File]:
    """A copy is a new file (new code, own link options) sharing the same blob."""
    target = get_folder(s, user, folder_id)
    files = _owned_many(s, user, codes)
    check_quota(s, user, sum(f.size for f in files))
    copies = []
    for f in files:
        assert f.blob is not None
        copies.append(
            create_file(
                s,
                user,
                f.blob,
                f.name,
                folder_id=target.id if target else None,
                default_public=f.public,
                description=f.description,
            )
        )
    return copies


def delete_files(s: Session, user: User, codes: list[str]) -> list[str]:
    """Mark files deleted (their links answer 410) and release their blobs.

    Returns storage keys to purge once the transaction has committed."""
    if not codes:
        return []
    files = _owned_many(s, user, codes)
    blob_ids = set()
    now = utcnow()
    for f in files:
        if f.blob_id is not None:
            blob_ids.add(f.blob_id)
        f.status = FileStatus.deleted
        f.deleted_at = now
        f.blob_id = None
        f.blob = None
        f.folder_id = None
        f.password_hash = None
    s.flush()
    return [k for k in (release_blob(s, b) for b in blob_ids) if k]


def _unavailable(f: File) -> dict[str, Any] | None:
    if f.status == FileStatus.disabled:
        return {"reason": f.disabled_reason, "decision": f.disabled_ref,
                "notice": f.disabled_notice}  # fmt: skip
    if f.blob is not None and f.blob.status != BlobStatus.ok:
        return {"reason": f.blob.status.value, "malware": f.blob.malware}
    return None


def file_json(
    f: File, *, base_url: str, direct_url: str | None = None, folder_path: str | None = None
) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "size": f.size,
        "sha256": f.blob.sha256 if f.blob else None,
        "mime": f.blob.mime if f.blob else None,
        "description": f.description,
        "folder_id": f.folder_id,
        "created": iso(f.created_at),
        "downloads": f.downloads,
        "last_download": iso(f.last_download_at),
        "status": f.status.value,
        # Why the owner's file is unavailable (a moderation decision, or its content held).
        "unavailable": _unavailable(f),
        "url": f"{base_url}/{f.code}",
        "download_url": direct_url,
        "public": f.public,
        "has_password": f.password_hash is not None,
        "expires": iso(f.expires_at),
        "max_downloads": f.max_downloads,
    }
