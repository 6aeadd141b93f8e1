"""Files, folders and links API: thin routes over files/service.py and files/folders.py.

Every lookup goes through the owner (`get_owned`, `get_folder`): another user's
file or folder is 'not found', never 'forbidden', whatever the call.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.bounds import Count, Id, Page
from partage.context import Context
from partage.db import iso
from partage.deps import Address, ApiUser, BaseUrl, Ctx, OptionalUser
from partage.errors import BadRequest, NotFound, PartageError
from partage.files import folder_share, service
from partage.files import folders as folder_service
from partage.files.access import check_link
from partage.files.blobs import delete_unreferenced_keys
from partage.files.codes import is_code
from partage.files.download import direct_url
from partage.files.links import UNSET, LinkOptions, parse_bool, parse_expires, parse_max_downloads
from partage.files.models import File, Folder

router = APIRouter(prefix="/api/v1", tags=["files"])

MAX_INFO_CODES = 100


class Shaper:
    """Turns rows into JSON for one request (base URL, address for signed links)."""

    def __init__(self, ctx: Context, base_url: str, address: str) -> None:
        self.ctx, self.base_url, self.address = ctx, base_url, address

    def file(self, f: File) -> dict[str, Any]:
        link = None
        if f.blob is not None:
            link = direct_url(self.ctx, self.base_url, f, owner=True, address=self.address)
        return service.file_json(f, base_url=self.base_url, direct_url=link)

    @staticmethod
    def folder(folder: Folder, base_url: str) -> dict[str, Any]:
        return {
            "id": folder.id,
            "name": folder.name,
            "parent_id": folder.parent_id,
            "created": iso(folder.created_at),
            "shared": folder.share_hash is not None,
            "share_url": folder_share.share_url(base_url, folder),
        }


def _purge(ctx: Context, keys: list[str]) -> None:
    """After the deleting transaction committed: remove bytes no blob row needs any more."""
    if keys:
        with ctx.db.session() as s:
            delete_unreferenced_keys(s, ctx.store, keys)


def _page_json(page: service.Page, shape: Shaper) -> dict[str, Any]:
    return {
        "items": [shape.file(f) for f in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    }


# -- files -----------------------------------------------------------------------------------


@router.get("/files")
def list_files(
    user: ApiUser,
    ctx: Ctx,
    base: BaseUrl,
    address: Address,
    folder: Annotated[Id | None, Query(description="Folder id; omitted: the root.")] = None,
    folder_id: Annotated[Id | None, Query(description="Same as folder.")] = None,
    path: Annotated[str | None, Query(description="Folder path such as 'a/b'.")] = None,
    all: Annotated[bool, Query(description="Files of every folder.")] = False,  # noqa: A002
    search: Annotated[str | None, Query(max_length=255)] = None,
    order: str = "-created",
    page: Page = 1,
    per_page: Count = 50,
) -> dict[str, Any]:
    """`{items, total, page, per_page}`. `order`: name, created, size, downloads (prefix `-`
    to reverse). `search` looks in every folder."""
    if folder_id is not None:
        if folder is not None and folder != folder_id:
            raise BadRequest("Give either folder or folder_id, not both.")
        folder = folder_id
    with ctx.db.read() as s:
        if path is not None:
            if folder is not None:
                raise BadRequest("Give either folder or path, not both.")
            found = folder_service.resolve_path(s, user, path)
            folder = found.id if found else None
        result = service.list_files(
            s, user, folder_id=folder, all_folders=all, search=search, order=order,
            page=page, per_page=per_page,
        )  # fmt: skip
        return _page_json(result, Shaper(ctx, base, address))


@router.get("/files/{code}")
def get_file(code: str, user: ApiUser, ctx: Ctx, base: BaseUrl, address: Address) -> dict[str, Any]:
    with ctx.db.read() as s:
        return Shaper(ctx, base, address).file(service.get_owned(s, user, code))


class FilePatch(BaseModel):
    """Fields left out are unchanged; `null` removes (password, expires, max_downloads) or
    moves to the root (folder_id)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=1024)
    description: str | None = None
    folder_id: Id | None = None
    public: Any = None
    password: str | None = Field(default=None, max_length=1024)
    expires: Any = None
    max_downloads: Any = None


def _options(body: FilePatch) -> LinkOptions | None:
    sent = body.model_fields_set
    opts = LinkOptions()
    if "public" in sent:
        if body.public is None:
            raise BadRequest("public must be true or false.")
        opts.public = parse_bool(body.public, "public")
    if "password" in sent:
        opts.password = body.password or None
    if "expires" in sent:
        if body.expires is not None and not isinstance(body.expires, str):
            raise BadRequest("expires must be an ISO 8601 date, a duration such as 7d, or null.")
        opts.expires = parse_expires(body.expires)
    if "max_downloads" in sent:
        opts.max_downloads = parse_max_downloads(body.max_downloads)
    changed = (opts.public, opts.password, opts.expires, opts.max_downloads)
    return None if all(v is UNSET for v in changed) else opts


@router.patch("/files/{code}")
def patch_file(
    code: str, body: FilePatch, user: ApiUser, ctx: Ctx, base: BaseUrl, address: Address
) -> dict[str, Any]:
    """Rename, describe, move and change link options. A change to the link options
    revokes the direct links handed out before (the answer carries a new one)."""
    sent = body.model_fields_set
    if "name" in sent and body.name is None:
        raise BadRequest("name cannot be null.")
    if "description" in sent and body.description is None:
        body.description = ""
    options = _options(body)
    with ctx.db.session() as s:
        f = service.update_file(
            s, user, code, name=body.name, description=body.description,
            folder_id=body.folder_id, move="folder_id" in sent, options=options,
        )  # fmt: skip
        return Shaper(ctx, base, address).file(f)


@router.delete("/files/{code}", status_code=204)
def delete_file(code: str, user: ApiUser, ctx: Ctx) -> Response:
    """The file's links answer 410 from now on; its bytes go when nothing else uses them."""
    with ctx.db.session() as s:
        keys = service.delete_files(s, user, [code])
    _purge(ctx, keys)
    return Response(status_code=204)


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["move", "copy", "delete"]
    codes: list[str] = Field(max_length=service.MAX_BULK)
    folder_id: Id | None = None


@router.post("/files/bulk")
def bulk(body: BulkIn, user: ApiUser, ctx: Ctx, base: BaseUrl, address: Address) -> dict[str, Any]:
    """All or nothing: one code that is not yours and nothing is done (404).
    move/copy answer `{action, files}` (copies are new files with new codes);
    delete answers `{action, deleted}` (the codes)."""
    codes = list(dict.fromkeys(body.codes))
    if not codes:
        raise BadRequest("No file codes given.")
    if body.action == "delete":
        with ctx.db.session() as s:
            keys = service.delete_files(s, user, codes)
        _purge(ctx, keys)
        return {"action": "delete", "deleted": codes}
    with ctx.db.session() as s:
        if body.action == "move":
            files = service.move_files(s, user, codes, body.folder_id)
        else:
            files = service.copy_files(s, user, codes, body.folder_id)
        shape = Shaper(ctx, base, address)
        return {"action": body.action, "files": [shape.file(f) for f in files]}


# -- folders ---------------------------------------------------------------------------------


@router.get("/folders")
def list_folders(
    user: ApiUser, ctx: Ctx, base: BaseUrl, parent_id: Id | None = None
) -> dict[str, Any]:
    """The subfolders of `parent_id` (omitted: the root), by name."""
    with ctx.db.read() as s:
        folder_service.get_folder(s, user, parent_id)
        items = folder_service.list_folders(s, user, parent_id)
        return {"parent_id": parent_id, "items": [Shaper.folder(f, base) for f in items]}


class FolderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=1024)
    parent_id: Id | None = None
    path: str | None = Field(default=None, max_length=4096)


@router.post("/folders", status_code=201)
def create_folder(body: FolderIn, user: ApiUser, ctx: Ctx, base: BaseUrl) -> dict[str, Any]:
    """`{name, parent_id}` creates one folder (409 if the name is taken there);
    `{path: "a/b/c"}` creates what is missing along the path (like `mkdir -p`)."""
    with ctx.db.session() as s:
        if body.path is not None:
            if body.name is not None or body.parent_id is not None:
                raise BadRequest("Give either path, or name and parent_id.")
            folder = folder_service.resolve_path(s, user, body.path, create=True)
            if folder is None:
                raise BadRequest("path names no folder.")
        else:
            if body.name is None:
                raise BadRequest("name is required.")
            folder = folder_service.create_folder(s, user, body.name, body.parent_id)
        return Shaper.folder(folder, base)


@router.get("/folders/{folder_id}")
def get_folder(
    folder_id: Id,
    user: ApiUser,
    ctx: Ctx,
    base: BaseUrl,
    address: Address,
    order: str = "name",
    page: Page = 1,
    per_page: Count = 200,
) -> dict[str, Any]:
    """The folder, its breadcrumb `path` (root first, itself last), its subfolders and
    a page of its files."""
    with ctx.db.read() as s:
        folder = folder_service.get_folder(s, user, folder_id)
        assert folder is not None
        files = service.list_files(
            s, user, folder_id=folder_id, order=order, page=page, per_page=per_page
        )
        return {
            **Shaper.folder(folder, base),
            "path": [{"id": p.id, "name": p.name} for p in folder_service.folder_path(s, folder)],
            "folders": [
                Shaper.folder(f, base) for f in folder_service.list_folders(s, user, folder.id)
            ],
            "files": _page_json(files, Shaper(ctx, base, address)),
        }


class FolderPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=1024)
    parent_id: Id | None = None
    shared: bool | None = None


@router.patch("/folders/{folder_id}")
def patch_folder(
    folder_id: Id, body: FolderPatch, user: ApiUser, ctx: Ctx, base: BaseUrl
) -> dict[str, Any]:
    """Rename and/or move (`parent_id`: null moves to the root); `shared: true` gives the
    folder a public link (`share_url`, a new unguessable address), `shared: false` removes
    it at once (the old address answers 404)."""
    sent = body.model_fields_set
    if "name" in sent and body.name is None:
        raise BadRequest("name cannot be null.")
    if "shared" in sent and body.shared is None:
        raise BadRequest("shared must be true or false.")
    with ctx.db.session() as s:
        folder = folder_service.update_folder(
            s, user, folder_id, name=body.name, parent_id=body.parent_id,
            move="parent_id" in sent,
        )  # fmt: skip
        if body.shared is not None:
            folder = folder_share.set_shared(s, user, folder_id, body.shared)
        return Shaper.folder(folder, base)


@router.delete("/folders/{folder_id}")
def delete_folder(folder_id: Id, user: ApiUser, ctx: Ctx, force: bool = False) -> dict[str, Any]:
    """A non-empty folder needs `force=true` (409 otherwise); then everything in it goes."""
    with ctx.db.session() as s:
        codes, keys = folder_service.delete_folder(s, user, folder_id, force=force)
    _purge(ctx, keys)
    return {"id": folder_id, "deleted_files": codes}


# -- links -----------------------------------------------------------------------------------


def _info(
    s: Session, ctx: Context, user: User | None, code: str, password: str | None,
    found: File | None, base: str, address: str,
) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {"code": code, "available": False, "name": None, "size": None,
                           "url": None, "error": None}  # fmt: skip
    try:
        if found is None:
            raise NotFound("No file at this address.")
        check_link(ctx, found, password=password, is_owner=user is not None
                   and found.owner_id == user.id, address=address)  # fmt: skip
    except PartageError as exc:
        out["error"] = {"code": exc.code, "message": exc.message}
        return out
    out.update(available=True, name=found.name, size=found.size, url=f"{base}/{found.code}")
    return out


@router.get("/links/info")
def links_info(
    ctx: Ctx,
    user: OptionalUser,
    base: BaseUrl,
    address: Address,
    codes: Annotated[str, Query(max_length=100 * 1100)],
) -> dict[str, Any]:
    """Availability of up to 100 links, `codes=a,b,c` (`code:password` for protected ones).
    Each item: `{code, available, name, size, url, error}`; `error` is `{code, message}`
    when the link cannot be downloaded (name and size are then null). No token needed;
    with one, your own private files show as available."""
    wanted: list[tuple[str, str | None]] = []
    for entry in codes.split(","):
        entry = entry.strip()
        if not entry:
            continue
        code, sep, password = entry.partition(":")
        wanted.append((code.strip(), password if sep else None))
    if not wanted:
        raise BadRequest("codes: give at least one file code.")
    if len(wanted) > MAX_INFO_CODES:
        raise BadRequest("codes: %(max)s at most per request.", max=MAX_INFO_CODES)
    with ctx.db.read() as s:
        valid = {c for c, _ in wanted if is_code(c)}
        rows = list(s.scalars(select(File).where(File.code.in_(valid)))) if valid else []
        by_code = {f.code: f for f in rows}
        items = [
            _info(s, ctx, user, code, password, by_code.get(code), base, address)
            for code, password in wanted
        ]
    return {"items": items}
