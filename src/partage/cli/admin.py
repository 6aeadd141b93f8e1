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
