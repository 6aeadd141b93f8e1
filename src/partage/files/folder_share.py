"""Public folder links: `/s/<share_hash>` shows a folder and everything below it.

Sharing gives the folder a new unguessable hash (128 random bits); unsharing removes
it, so the old address answers 404 at once, and sharing again makes a new address.

What a visitor of a shared folder gets, file by file (decided here, once):
- a file that is deleted, disabled, blocked, expired or has used up its download cap
  is not shown and never zipped;
- a file with its own password is listed, but only its own page (which asks for the
  password) opens it: it has no direct link and is left out of the zip;
- every other file, public or private, can be downloaded through the folder link: the
  folder page hands out signed direct links (`/d/…`, the same rules and counting as
  the file's own links) and previews, and the zip holds it. Sharing a folder is the
  owner's decision to share what is in it.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.db import utcnow
from partage.errors import NotFound
from partage.files.folders import get_folder
from partage.files.models import Blob, BlobStatus, File, FileStatus, Folder

FOLDER_NOT_FOUND = "No shared folder at this address."
PREFIX = "/s/"
MAX_ZIP_FILES = 10_000


def set_shared(s: Session, user: User, folder_id: int, shared: bool) -> Folder:
    """Share (keeping the address if it is shared already) or stop sharing the folder."""
    folder = get_folder(s, user, folder_id)
    assert folder is not None
    if shared:
        if folder.share_hash is None:
            folder.share_hash = secrets.token_urlsafe(16)
    else:
        folder.share_hash = None
    s.flush()
    return folder


def share_url(base: str, folder: Folder) -> str | None:
    return f"{base}{PREFIX}{folder.share_hash}" if folder.share_hash else None


def get_shared(s: Session, share_hash: str) -> Folder:
    if not share_hash or len(share_hash) > 32:
        raise NotFound(FOLDER_NOT_FOUND)
    folder = s.scalar(select(Folder).where(Folder.share_hash == share_hash))
    if folder is None:
        raise NotFound(FOLDER_NOT_FOUND)
    return folder


def resolve(s: Session, root: Folder, sub_path: str) -> list[Folder]:
    """`a/b` below the shared folder → [root, a, b]; never above the root."""
    chain = [root]
    for part in [p for p in sub_path.split("/") if p]:
        child = s.scalar(
            select(Folder).where(
                Folder.owner_id == root.owner_id,
                Folder.parent_id == chain[-1].id,
                func.lower(Folder.name) == unicodedata.normalize("NFC", part).lower(),
            )
        )
        if child is None:
            raise NotFound("No such folder in this shared folder.")
        chain.append(child)
    return chain


def subfolders(s: Session, folder: Folder) -> list[Folder]:
    return list(
        s.scalars(
            select(Folder).where(Folder.parent_id == folder.id).order_by(func.lower(Folder.name))
        )
    )


def count_capped(s: Session, file_id: int) -> bool:
    """One download more of a capped file if its cap allows it (atomic)."""
    done = s.execute(
        update(File)
        .where(File.id == file_id, File.downloads < File.max_downloads)
        .values(downloads=File.downloads + 1, last_download_at=utcnow())
    )
    return bool(getattr(done, "rowcount", 0))


def usable(f: File, now: datetime) -> bool:
    """Whether the file is shown at all (see the module's doc)."""
    if f.status != FileStatus.active or f.blob is None or f.blob.status != BlobStatus.ok:
        return False
    if f.blob.scan_state == "pending":  # held for the malware scan (fail-closed)
        return False
    if f.expires_at is not None and f.expires_at <= now:
        return False
    return f.max_downloads is None or f.downloads < f.max_downloads


def downloadable(f: File) -> bool:
    """Shown files a visitor downloads through the folder (not password-protected)."""
    return f.password_hash is None


def files_in(s: Session, folder: Folder, *, limit: int | None = None) -> list[File]:
    """The folder's shown files, by name."""
    now = utcnow()
    q = (
        select(File)
        .join(Blob, Blob.id == File.blob_id)
        .where(File.folder_id == folder.id, File.status == FileStatus.active,
               Blob.status == BlobStatus.ok)
        .order_by(func.lower(File.name), File.id)
    )  # fmt: skip
    if limit is not None:
        q = q.limit(limit)
    return [f for f in s.scalars(q) if usable(f, now)]


# -- the zip of a shared folder ---------------------------------------------------------------


def zip_name(name: str) -> str:
    """A name safe as one path segment inside a zip, whatever unzips it."""
    name = unicodedata.normalize("NFC", name)
    out = "".join(
        "_" if ch in '/\\:*?"<>|' or unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in name
    ).strip(" .")
    return out or "_"


class _Names:
    """De-duplicates names in one zip directory (case-insensitively: `a.txt`, `a (2).txt`)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, name: str) -> str:
        stem, dot, ext = name.rpartition(".")
        if not stem:
            stem, dot, ext = name, "", ""
        candidate, n = name, 1
        while candidate.lower() in self.taken:
            n += 1
            candidate = f"{stem} ({n}){dot}{ext}"
        self.taken.add(candidate.lower())
        return candidate


@dataclass(frozen=True)
class ZipEntry:
    path: str  # inside the archive, '/'-separated
    file_id: int
    storage_key: str
    size: int
    capped: bool
    created_at: datetime


def zip_entries(s: Session, folder: Folder) -> tuple[list[ZipEntry], list[str]]:
    """Every downloadable file below `folder` (its own path inside the archive), and the
    empty directories to keep the tree's shape. At most MAX_ZIP_FILES files."""
    entries: list[ZipEntry] = []
    dirs: list[str] = []
    todo: list[tuple[Folder, str]] = [(folder, "")]
    while todo and len(entries) < MAX_ZIP_FILES:
        current, prefix = todo.pop(0)
        names = _Names()
        files = [f for f in files_in(s, current) if downloadable(f)]
        children = subfolders(s, current)
        if prefix and not files and not children:
            dirs.append(prefix)
        for child in children:
            todo.append((child, f"{prefix}{names.take(zip_name(child.name))}/"))
        for f in files:
            assert f.blob is not None
            entries.append(
                ZipEntry(f"{prefix}{names.take(zip_name(f.name))}", f.id, f.blob.storage_key,
                         f.blob.size, f.max_downloads is not None, f.created_at)
            )  # fmt: skip
            if len(entries) >= MAX_ZIP_FILES:
                break
    return entries, dirs
