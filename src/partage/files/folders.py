"""Folder tree per user."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.errors import BadRequest, Conflict, NotFound
from partage.files.models import File, FileStatus, Folder
from partage.files.names import clean_name
from partage.web.i18n import N_


def get_folder(s: Session, user: User, folder_id: int | None) -> Folder | None:
    """The user's folder, or None for the root. Another user's folder is 'not found'."""
    if folder_id is None:
        return None
    folder = s.get(Folder, folder_id)
    if folder is None or folder.owner_id != user.id:
        raise NotFound("No folder with id %(folder_id)s.", folder_id=folder_id)
    return folder


def _check_free_name(s: Session, user: User, parent_id: int | None, name: str) -> None:
    q = select(Folder.id).where(
        Folder.owner_id == user.id,
        Folder.parent_id.is_(None) if parent_id is None else Folder.parent_id == parent_id,
        func.lower(Folder.name) == name.lower(),
    )
    if s.scalar(q) is not None:
        raise Conflict("A folder named %(name)s exists already here.", name=repr(name))


def create_folder(s: Session, user: User, name: str, parent_id: int | None = None) -> Folder:
    name = clean_name(name, what=N_("folder name"))
    get_folder(s, user, parent_id)
    _check_free_name(s, user, parent_id, name)
    folder = Folder(owner_id=user.id, parent_id=parent_id, name=name)
    s.add(folder)
    s.flush()
    return folder


def resolve_path(s: Session, user: User, path: str, *, create: bool = False) -> Folder | None:
    """`a/b/c` → that folder (created on the way when asked); '' or '/' → root."""
    folder: Folder | None = None
    for part in [p for p in path.replace("\\", "/").split("/") if p.strip()]:
        name = clean_name(part, what=N_("folder name"))
        parent_id = folder.id if folder else None
        found = s.scalar(
            select(Folder).where(
                Folder.owner_id == user.id,
                Folder.parent_id.is_(None) if parent_id is None else Folder.parent_id == parent_id,
                func.lower(Folder.name) == name.lower(),
            )
        )
        if found is None:
            if not create:
                raise NotFound("No folder %(path)s.", path=repr(path))
            found = create_folder(s, user, name, parent_id)
        folder = found
    return folder


def folder_path(s: Session, folder: Folder | None) -> list[Folder]:
    chain: list[Folder] = []
    while folder is not None:
        chain.append(folder)
        folder = s.get(Folder, folder.parent_id) if folder.parent_id else None
    return list(reversed(chain))


def list_folders(s: Session, user: User, parent_id: int | None) -> list[Folder]:
    return list(
        s.scalars(
            select(Folder)
            .where(
                Folder.owner_id == user.id,
                Folder.parent_id.is_(None) if parent_id is None else Folder.parent_id == parent_id,
            )
            .order_by(func.lower(Folder.name))
        )
    )


def update_folder(
    s: Session,
    user: User,
    folder_id: int,
    *,
    name: str | None = None,
    parent_id: int | None = None,
    move: bool = False,
) -> Folder:
    folder = get_folder(s, user, folder_id)
    assert folder is not None
    new_parent = folder.parent_id
    if move:
        target = get_folder(s, user, parent_id)
        ancestor = target
        while ancestor is not None:
            if ancestor.id == folder.id:
                raise BadRequest("A folder cannot be moved into itself or one of its subfolders.")
            ancestor = s.get(Folder, ancestor.parent_id) if ancestor.parent_id else None
        new_parent = parent_id
    new_name = clean_name(name, what=N_("folder name")) if name is not None else folder.name
    if (new_name.lower(), new_parent) != (folder.name.lower(), folder.parent_id):
        _check_free_name(s, user, new_parent, new_name)
    folder.name, folder.parent_id = new_name, new_parent
    s.flush()
    return folder


def subtree_ids(s: Session, folder: Folder) -> list[int]:
    ids, frontier = [folder.id], [folder.id]
    while frontier:
        frontier = list(s.scalars(select(Folder.id).where(Folder.parent_id.in_(frontier))))
        ids.extend(frontier)
    return ids


def delete_folder(
    s: Session, user: User, folder_id: int, *, force: bool = False
) -> tuple[list[str], list[str]]:
    """Delete a folder; with `force`, everything in it.

    Returns the codes of the deleted files and the storage keys to purge after commit."""
    from partage.files.service import delete_files  # files <-> folders, one direction at import

    folder = get_folder(s, user, folder_id)
    assert folder is not None
    ids = subtree_ids(s, folder)
    codes = list(
        s.scalars(
            select(File.code).where(File.folder_id.in_(ids), File.status != FileStatus.deleted)
        )
    )
    if (codes or len(ids) > 1) and not force:
        raise Conflict(
            "The folder %(folder)s is not empty (%(files)s files, %(subfolders)s "
            "subfolders). Delete it with force to remove everything in it.",
            folder=repr(folder.name),
            files=len(codes),
            subfolders=len(ids) - 1,
        )
    keys = delete_files(s, user, codes)
    for fid in reversed(ids):
        s.delete(s.get(Folder, fid))
    s.flush()
    return codes, keys
