"""The home page and "My files": server-rendered listing (one page of rows, sorted and
searched on the server, so it reads without JavaScript and stays fast for big folders);
changes go through the JSON API from the page's scripts (files*.js, upload*.js)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.bounds import Id, Page
from partage.deps import Ctx, base_url, resolve_auth
from partage.files import folders
from partage.files.models import Folder
from partage.files.quota import max_file_size, used_bytes
from partage.files.service import ORDERS, list_files
from partage.web.redirects import login_url
from partage.web.templating import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 100
DEFAULT_ORDER = "name"


@dataclass
class FolderChoice:
    """A destination in the move dialogs: id and full path."""

    id: int
    path: str


@dataclass
class TreeNode:
    """A folder in the sidebar tree."""

    id: int
    name: str
    children: list[TreeNode] = field(default_factory=list)


@dataclass
class FolderTree:
    roots: list[TreeNode]
    choices: list[FolderChoice]


def folder_tree(s: Session, user: User) -> FolderTree:
    """Every folder of the user's, in one query: the tree and the flat list of paths."""
    rows = s.execute(
        select(Folder.id, Folder.parent_id, Folder.name)
        .where(Folder.owner_id == user.id)
        .order_by(func.lower(Folder.name))
    ).all()
    nodes = {r.id: TreeNode(r.id, r.name) for r in rows}
    roots: list[TreeNode] = []
    for r in rows:
        parent = nodes.get(r.parent_id) if r.parent_id else None
        (parent.children if parent else roots).append(nodes[r.id])
    by_id = {r.id: r for r in rows}

    def path(fid: int) -> str:
        parts, seen = [], set()
        cur = by_id.get(fid)
        while cur is not None and cur.id not in seen:
            seen.add(cur.id)
            parts.append(cur.name)
            cur = by_id.get(cur.parent_id) if cur.parent_id else None
        return " / ".join(reversed(parts))

    choices = sorted((FolderChoice(r.id, path(r.id)) for r in rows), key=lambda c: c.path.lower())
    return FolderTree(roots, choices)


def folder_choices(s: Session, user: User) -> list[FolderChoice]:
    return folder_tree(s, user).choices


def file_kind(mime: str | None) -> str:
    """The icon family of a file in the listing."""
    mime = mime or ""
    top = mime.split("/")[0]
    if top in ("video", "image", "audio", "text"):
        return top
    if mime == "application/pdf":
        return "pdf"
    if any(k in mime for k in ("zip", "tar", "compressed", "7z", "rar", "gzip")):
        return "archive"
    return "other"


def url_maker(folder: int | None, order: str, q: str, page: int) -> Any:
    """`files_url(...)` in the template: this page's address with some parameters changed."""
    current = {"folder": folder, "order": order, "q": q, "page": page}

    def files_url(**changes: Any) -> str:
        params = {**current, **changes}
        if "page" not in changes:
            params["page"] = 1
        query = {
            k: v
            for k, v in params.items()
            if v not in (None, "") and not (k == "page" and v == 1)
            and not (k == "order" and v == DEFAULT_ORDER)
        }  # fmt: skip
        return "/files" + ("?" + urlencode(query) if query else "")

    return files_url


@router.get("/")
def home(request: Request, ctx: Ctx) -> Response:
    if resolve_auth(request, ctx).user is not None:
        return RedirectResponse("/files", status_code=303)
    return render(request, "home.html")


@router.get("/files")
def my_files(
    request: Request,
    ctx: Ctx,
    folder: Id | None = None,
    page: Page = 1,
    order: str = DEFAULT_ORDER,
    q: str = "",
) -> Response:
    user = resolve_auth(request, ctx).user
    if user is None:
        return RedirectResponse(login_url(request), status_code=303)
    page = max(1, page)
    if order.lstrip("-") not in ORDERS:
        order = DEFAULT_ORDER
    q = q.strip()[:255]
    with ctx.db.read() as s:
        current = folders.get_folder(s, user, folder)
        listing = list_files(
            s, user, folder_id=folder, search=q or None, order=order, page=page, per_page=PER_PAGE
        )
        crumbs = folders.folder_path(s, current)
        tree = folder_tree(s, user)
        data = {
            "folder": current,
            "crumbs": crumbs,
            "open_ids": {c.id for c in crumbs},
            "subfolders": [] if q else folders.list_folders(s, user, folder),
            "files": listing.items,
            "total": listing.total,
            "page": page,
            "pages": max(1, -(-listing.total // PER_PAGE)),
            "order": order,
            "q": q,
            "tree": tree.roots,
            "choices": tree.choices,
            "used": used_bytes(s, user.id),
            "quota": user.plan.storage_quota,
            "max_file_size": max_file_size(user, ctx.settings),
            "base_url": base_url(request, ctx.settings),
            "folder_path": "/".join(c.name for c in crumbs),
            "files_url": url_maker(folder, order, q, page),
            "file_kind": file_kind,
            "per_page": PER_PAGE,
        }
    return render(request, "files.html", data, headers={"Cache-Control": "no-store"})
