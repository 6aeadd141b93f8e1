"""Client commands that manage what is in an account: ls, rm, mv, mkdir, share."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated, Any

import typer

from partage.cli.client_api import Api
from partage.cli.client_errors import ClientError, handled, print_error


def _api() -> Api:
    from partage.cli import client_config

    url, token = client_config.load().require()
    return Api(url, token)


def _when(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return (
            datetime.fromisoformat(iso.replace("Z", "+00:00"))
            .astimezone()
            .strftime("%Y-%m-%d %H:%M")
        )
    except ValueError:
        return iso


def ls(
    folder: Annotated[
        str, typer.Argument(metavar="FOLDER", help="Folder path; the root when omitted.")
    ] = "/",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List a folder: its subfolders, then its files."""
    from rich.console import Console
    from rich.table import Table

    from partage import humanize
    from partage.cli import client_folders

    with _api() as api:
        folder_id = client_folders.resolve(api, folder)
        folders = sorted(client_folders.children(api, folder_id), key=lambda f: f["name"].lower())
        files = list(api.files(folder_id))
    path = client_folders.display(folder)
    if as_json:
        out = {"folder": {"id": folder_id, "path": path}, "folders": folders, "files": files}
        json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    table = Table("code", "name", "size", "downloads", "created", "link", title=path)
    for f in folders:
        table.add_row("", f"{f['name']}/", "", "", _when(f.get("created")), "", style="bold")
    for f in files:
        table.add_row(
            f["code"], f["name"], humanize.size(f.get("size")), str(f.get("downloads", 0)),
            _when(f.get("created")), f.get("url") or "",
        )  # fmt: skip
    tty = sys.stdout.isatty()
    Console(width=None if tty else 100_000, highlight=False).print(table)


def rm(
    codes: Annotated[
        list[str], typer.Argument(metavar="CODE", help="File codes.", show_default=False)
    ],
) -> None:
    """Delete files (their links stop working)."""
    failed = 0
    with _api() as api:
        for code in dict.fromkeys(codes):
            try:
                api.delete_file(code)
            except ClientError as exc:
                if exc.fatal:
                    raise
                print_error(f"{code}: {exc.message}")
                failed += 1
                continue
            print(f"deleted {code}", flush=True)
    if failed:
        raise typer.Exit(1)


def mv(
    codes: Annotated[
        list[str], typer.Argument(metavar="CODE", help="File codes.", show_default=False)
    ],
    folder: Annotated[str, typer.Argument(metavar="FOLDER", help="Folder path; / is the root.")],
) -> None:
    """Move files into an existing folder (`/` is the root)."""
    from partage.cli import client_folders

    unique = list(dict.fromkeys(codes))
    with _api() as api:
        folder_id = client_folders.resolve(api, folder)
        api.bulk("move", unique, folder_id)
    for code in unique:
        print(f"moved {code} to {client_folders.display(folder)}", flush=True)


def mkdir(
    path: Annotated[str, typer.Argument(metavar="PATH", help="Folder path, e.g. photos/2024.")],
) -> None:
    """Create a folder, and its parents when missing."""
    from partage.cli import client_folders

    if not client_folders.split_path(path):
        raise ClientError("give a folder path, such as photos/2024")
    with _api() as api:
        _, created = client_folders.make(api, path)
    from rich.console import Console

    note = f"created {', '.join(created)}" if created else "exists already"
    Console(stderr=True).print(note, highlight=False, markup=False)
    print(client_folders.display(path), flush=True)


def share(
    code: Annotated[str, typer.Argument(metavar="CODE", help="File code.")],
    password: Annotated[
        str | None, typer.Option("--password", help="Require this password.")
    ] = None,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Remove the password.")
    ] = False,
    expires: Annotated[
        str | None, typer.Option(help="30m, 12h, 7d, 2w, an ISO 8601 date, or never.")
    ] = None,
    max_downloads: Annotated[
        int | None, typer.Option(help="Downloads allowed before the link stops; 0 for no limit.")
    ] = None,
    public: Annotated[
        bool | None,
        typer.Option(
            "--public/--private", help="Anyone with the link, or only you.", show_default=False
        ),
    ] = None,  # fmt: skip
) -> None:
    """Change a file's link options and print its link."""
    from partage.cli import client_options

    if password is not None and no_password:
        raise ClientError("--password and --no-password cannot be used together")
    if password == "":
        raise ClientError("--password needs a value; use --no-password to remove it")
    fields: dict[str, Any] = {}
    if password is not None:
        fields["password"] = password
    if no_password:
        fields["password"] = None
    if expires is not None:
        fields["expires"] = client_options.expires_at(expires, allow_never=True)
    if max_downloads is not None:
        fields["max_downloads"] = client_options.max_downloads(max_downloads, zero_means_none=True)
    if public is not None:
        fields["public"] = public
    with _api() as api:
        info = api.update_file(code, fields) if fields else api.file(code)
    print(info.get("url") or code, flush=True)
    _describe(info)


def _describe(info: dict[str, Any]) -> None:
    from rich.console import Console

    parts = ["public" if info.get("public", True) else "private (only you)"]
    if info.get("has_password"):
        parts.append("password")
    parts.append(f"expires {_when(info['expires'])}" if info.get("expires") else "no expiry")
    if info.get("max_downloads"):
        parts.append(f"{info.get('downloads', 0)}/{info['max_downloads']} downloads")
    Console(stderr=True).print(", ".join(parts), highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    for func in (ls, rm, mv, mkdir, share):
        app.command(rich_help_panel="Client")(handled(func))
