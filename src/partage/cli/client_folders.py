"""Folder paths (`a/b/c`, `/` for the root) resolved to folder ids through the API."""

from __future__ import annotations

from typing import Any

from partage.cli.client_api import Api
from partage.cli.client_errors import ClientError


def split_path(path: str) -> list[str]:
    return [p.strip() for p in path.replace("\\", "/").split("/") if p.strip()]


def children(api: Api, parent_id: int | None) -> list[dict[str, Any]]:
    # Filter on parent_id too, in case the server lists more than the direct children.
    return [f for f in api.folders(parent_id) if f.get("parent_id", parent_id) == parent_id]


def _child(api: Api, parent_id: int | None, name: str) -> dict[str, Any] | None:
    # Folder names are unique per parent regardless of case, on the server as here.
    for f in children(api, parent_id):
        if str(f.get("name", "")).lower() == name.lower():
            return f
    return None


def resolve(api: Api, path: str) -> int | None:
    """The id of an existing folder (None for the root); a clear error when missing."""
    folder_id: int | None = None
    walked: list[str] = []
    for name in split_path(path):
        walked.append(name)
        found = _child(api, folder_id, name)
        if found is None:
            where = "/" + "/".join(walked)
            raise ClientError(f"no folder {where} (create it with `partage mkdir {where}`)")
        folder_id = int(found["id"])
    return folder_id


def make(api: Api, path: str) -> tuple[int | None, list[str]]:
    """Create the folder and any missing parents; returns its id and the paths created."""
    folder_id: int | None = None
    walked: list[str] = []
    created: list[str] = []
    for name in split_path(path):
        walked.append(name)
        found = _child(api, folder_id, name)
        if found is None:
            found = api.create_folder(name, folder_id)
            created.append("/" + "/".join(walked))
        folder_id = int(found["id"])
    return folder_id, created


def display(path: str) -> str:
    return "/" + "/".join(split_path(path))
