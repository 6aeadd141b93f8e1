"""`partage admin …`: accounts and tokens, run on the server machine."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from partage.cli.common import DataDir, open_context

if TYPE_CHECKING:  # server modules load when a command runs, so `partage ls` starts fast
    from partage.errors import PartageError

app = typer.Typer(no_args_is_help=True)
user_app = typer.Typer(no_args_is_help=True, help="Accounts.")
token_app = typer.Typer(no_args_is_help=True, help="API tokens.")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
media_app = typer.Typer(no_args_is_help=True, help="Media processing jobs.")
app.add_typer(media_app, name="media")
console = Console()
if not console.is_terminal:
    console = Console(width=250)  # piped: never wrap an e-mail address over two lines
err = Console(stderr=True)


def _fail(exc: PartageError) -> None:
    err.print(f"[red]error:[/red] {exc.message}", highlight=False)
    raise typer.Exit(1)


@user_app.command("create")
def user_create(
    email: str,
    password: Annotated[
        str | None, typer.Option(help="Generated and printed when omitted.")
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make an administrator.")] = False,
    plan: Annotated[str, typer.Option(help="Plan name.")] = "free",
    data_dir: DataDir = None,
) -> None:
    """Create an account."""
    from partage.accounts import service as accounts
    from partage.errors import PartageError

    ctx = open_context(data_dir)
    generated = password is None
    password = password or secrets.token_urlsafe(15)
    try:
        with ctx.db.session() as s:
            user = accounts.create_user(s, email, password, admin=admin, plan=plan)
            console.print(
                f"Created {user.email} (id {user.id}, plan {plan}{', admin' if admin else ''}).",
                highlight=False,
            )
    except PartageError as exc:
        _fail(exc)
    if generated:
        console.print(f"password: {password}", highlight=False)


@user_app.command("list")
def user_list(data_dir: DataDir = None) -> None:
    """List accounts."""
    from partage import humanize
    from partage.accounts import service as accounts
    from partage.files.quota import used_bytes

    ctx = open_context(data_dir)
    table = Table("id", "e-mail", "plan", "admin", "active", "used", "created")
    with ctx.db.read() as s:
        for u in accounts.list_users(s):
            table.add_row(
                str(u.id),
                u.email,
                u.plan.name,
                "yes" if u.is_admin else "",
                "yes" if u.is_active else "suspended",
                humanize.size(used_bytes(s, u.id)),
                u.created_at.strftime("%Y-%m-%d %H:%M"),
            )
    console.print(table)


@token_app.command("create")
def token_create(
    email: str,
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "cli",
    data_dir: DataDir = None,
) -> None:
    """Create an API token; the token is printed alone on the last line."""
    from partage.accounts import service as accounts
    from partage.errors import PartageError

    ctx = open_context(data_dir)
    try:
        with ctx.db.session() as s:
            user = accounts.get_user_by_email(s, email)
            tok, secret = accounts.create_token(s, user, name)
    except PartageError as exc:
        _fail(exc)
    console.print(f"Token {tok.name!r} for {email} (shown once):", highlight=False)
    print(secret)


@media_app.command("retry")
def media_retry(code: str, data_dir: DataDir = None) -> None:
    """Process a file's video, audio or image again, from the start."""
    from partage.errors import PartageError
    from partage.media import service

    ctx = open_context(data_dir)
    try:
        m = service.retry(ctx, code)
    except PartageError as exc:
        _fail(exc)
    console.print(f"{code}: queued for processing ({m.kind.value}).", highlight=False)


@media_app.command("cancel")
def media_cancel(code: str, data_dir: DataDir = None) -> None:
    """Stop processing a file (a running job stops within seconds)."""
    from partage.errors import PartageError
    from partage.media import service

    ctx = open_context(data_dir)
    try:
        m = service.cancel(ctx, code)
    except PartageError as exc:
        _fail(exc)
    console.print(f"{code}: cancelled ({m.state.value}).", highlight=False)


@media_app.command("list")
def media_list(
    state: Annotated[
        str | None, typer.Option(help="Only jobs in this state: queued, running, done, failed.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Media jobs, newest first: state, progress, attempts and the last error."""
    from sqlalchemy import select

    from partage.files.models import File
    from partage.media.models import JobState, Media

    ctx = open_context(data_dir)
    table = Table("file", "kind", "state", "progress", "attempts", "queued", "last error")
    with ctx.db.read() as s:
        query = select(Media).order_by(Media.queued_at.desc()).limit(200)
        if state:
            try:
                query = query.where(Media.state == JobState(state))
            except ValueError:
                err.print(f"[red]error:[/red] unknown state {state!r}", highlight=False)
                raise typer.Exit(2) from None
        for m in s.scalars(query).all():
            code = s.scalar(select(File.code).where(File.blob_id == m.blob_id).limit(1)) or "-"
            table.add_row(
                code, m.kind.value, m.state.value, f"{m.progress:.0f} %", str(m.attempts),
                m.queued_at.strftime("%Y-%m-%d %H:%M:%S"), (m.last_error or "")[:80],
            )  # fmt: skip
    console.print(table)
