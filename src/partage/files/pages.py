"""The home page and "My files": server-rendered listing; changes go through the JSON API
from the page's JavaScript (files.js, upload.js)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.deps import Ctx, base_url, resolve_auth
from partage.files import folders
from partage.files.models import Folder
from partage.files.quota import max_file_size, used_bytes
from partage.files.service import list_files
from partage.web.redirects import login_url
from partage.web.templating import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 100


@dataclass
class FolderChoice:
    """A destination in the move dialogs: id and full path."""

    id: int
    path: str


def folder_choices(s: Session, user: User) -> list[FolderChoice]:
    rows = s.execute(
        select(Folder.id, Folder.parent_id, Folder.name)
        .where(Folder.owner_id == user.id)
        .order_by(func.lower(Folder.name))
    ).all()
    by_id = {r.id: r for r in rows}

    def path(fid: int) -> str:
        parts, seen = [], set()
        cur = by_id.get(fid)
        while cur is not None and cur.id not in seen:
            seen.add(cur.id)
            parts.append(cur.name)
            cur = by_id.get(cur.parent_id) if cur.parent_id else None
        return " / ".join(reversed(parts))

    return sorted((FolderChoice(r.id, path(r.id)) for r in rows), key=lambda c: c.path.lower())


@router.get("/")
def home(request: Request, ctx: Ctx) -> Response:
    if resolve_auth(request, ctx).user is not None:
        return RedirectResponse("/files", status_code=303)
    return render(request, "home.html")


@router.get("/files")
def my_files(request: Request, ctx: Ctx, folder: int | None = None, page: int = 1) -> Response:
    user = resolve_auth(request, ctx).user
    if user is None:
        return RedirectResponse(login_url(request), status_code=303)
    page = max(1, page)
    with ctx.db.read() as s:
        current = folders.get_folder(s, user, folder)
        listing = list_files(s, user, folder_id=folder, page=page, per_page=PER_PAGE)
        data = {
            "folder": current,
            "crumbs": folders.folder_path(s, current),
            "subfolders": folders.list_folders(s, user, folder),
            "files": listing.items,
            "total": listing.total,
            "page": page,
            "pages": max(1, -(-listing.total // PER_PAGE)),
            "choices": folder_choices(s, user),
            "used": used_bytes(s, user.id),
            "quota": user.plan.storage_quota,
            "max_file_size": max_file_size(user, ctx.settings),
            "base_url": base_url(request, ctx.settings),
        }
    return render(request, "files.html", data, headers={"Cache-Control": "no-store"})
