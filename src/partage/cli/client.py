"""Client commands (login, logout, upload, download, ls, rm, mv, mkdir, share).

They talk to a partage server over HTTP with an API token. `partage login URL`
stores the address and token in the user config directory; the environment
variables `PARTAGE_URL` and `PARTAGE_TOKEN` override what is stored (see
client_config). Results go to stdout, one per line; progress, notes and errors
go to stderr, errors as one `error: …` line with a non-zero exit status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from partage.cli.client_errors import ClientError, handled

Password = Annotated[
    str | None, typer.Option("--password", help="Protect the link with this password.")
]
Public = Annotated[
    bool | None,
    typer.Option(
        "--public/--private", help="Anyone with the link, or only you.", show_default=False
    ),
]


def _note(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, soft_wrap=True).print(escape(message), highlight=False)


def login(
    url: Annotated[
        str, typer.Argument(metavar="URL", help="The server, e.g. https://files.example.org")
    ],
    token: Annotated[
        str | None,
        typer.Option(help="API token (asked for when omitted; see `partage admin token create`)."),
    ] = None,
) -> None:
    """Check an API token against a server and remember both."""
    from partage.cli import client_config
    from partage.cli.client_api import Api, error_from_response

    base = client_config.normalise_url(url)
    if token is None:
        token = typer.prompt("API token", hide_input=True)
    token = token.strip()
    if not token:
        raise ClientError("no token given")
    with Api(base, token) as api:
        r = api.send("GET", "/api/v1/me")
        if r.status_code >= 400:
            exc = error_from_response(r, hint_login=False)
            raise ClientError(f"{base} refused the token: {exc.message}")
        try:
            me = r.json()
            email = me["email"]
        except (ValueError, KeyError, TypeError):
            raise ClientError(f"{base} does not look like a partage server") from None
    path = client_config.save(base, token)
    _note(f"Logged in to {base} as {email} (saved in {path}).")


def logout() -> None:
    """Forget the stored server address and token."""
    import os

    from partage.cli import client_config

    removed = client_config.clear()
    _note("Logged out." if removed else "Not logged in.")
    if os.environ.get("PARTAGE_TOKEN") or os.environ.get("PARTAGE_URL"):
        _note("PARTAGE_URL / PARTAGE_TOKEN are set in the environment and still apply.")


def upload(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE", help="Files to upload.", show_default=False)
    ],
    folder: Annotated[
        str | None, typer.Option(help="Folder path in your account, e.g. photos/2024.")
    ] = None,
    password: Password = None,
    expires: Annotated[
        str | None, typer.Option(help="Link lifetime (30m, 12h, 7d, 2w) or an ISO 8601 date.")
    ] = None,
    max_downloads: Annotated[
        int | None, typer.Option(help="Disable the link after this many downloads.")
    ] = None,
    public: Public = None,
    limit_rate: Annotated[
        str | None, typer.Option(help="Upload at most this many bytes per second (500k, 20M).")
    ] = None,
) -> None:
    """Upload files and print each one's link.

    Uploads go through tus and resume: after an interruption, run the same command again."""
    from partage.cli import client_config, client_folders, client_options
    from partage.cli.client_api import Api
    from partage.cli.client_upload import UploadOptions, upload_files

    url, token = client_config.load().require()
    opts = UploadOptions(
        folder=client_folders.display(folder) if folder else None,
        password=password or None,
        expires=expires,
        expires_iso=client_options.expires_at(expires) if expires else None,
        max_downloads=client_options.max_downloads(max_downloads),
        public=public,
        limit_rate=client_options.byte_rate(limit_rate),
    )
    with Api(url, token) as api:
        failed = upload_files(api, token, files, opts)
    if failed:
        raise typer.Exit(1)


def download(
    url: Annotated[
        str,
        typer.Argument(
            metavar="URL", help="A file's page (…/CODE), a direct link (…/d/…), or a code."
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File or directory to write to.")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="The link's password, when it has one.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Download a file from its page or direct link.

    An interrupted download resumes when run again; the SHA-256 is checked before
    the file takes its name."""
    from partage.cli import client_config, client_download, client_links

    cfg = client_config.load()
    target = client_links.parse_target(url, cfg)
    if output is not None and not output.is_dir() and output.exists() and not force:
        raise ClientError(f"{output} exists already: use --force to overwrite it")
    link = client_links.direct_link(target, cfg, password)
    dest = client_download.destination(link, output)
    print(client_download.download(link, dest, force=force), flush=True)


def register(app: typer.Typer) -> None:
    from partage.cli import client_manage

    for func in (login, logout, upload, download):
        app.command(rich_help_panel="Client")(handled(func))
    client_manage.register(app)
