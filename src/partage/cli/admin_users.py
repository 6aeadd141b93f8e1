"""`partage admin user list|plan|suspend|unsuspend|delete`: the same service functions as
the admin pages and API (partage.admin.users)."""

from __future__ import annotations

from typing import Annotated

import typer

from partage.cli.common import DataDir, open_context

Ref = Annotated[str, typer.Argument(help="The account's e-mail address or id.")]


def register(user_app: typer.Typer) -> None:
    user_app.command("list")(user_list)
    user_app.command("plan")(user_plan)
    user_app.command("suspend")(user_suspend)
    user_app.command("unsuspend")(user_unsuspend)
    user_app.command("delete")(user_delete)


def _fail(message: str) -> None:
    from partage.cli.admin import err

    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def user_list(
    search: Annotated[str | None, typer.Option(help="Part of the e-mail address.")] = None,
    state: Annotated[str | None, typer.Option(help="active or suspended.")] = None,
    data_dir: DataDir = None,
) -> None:
    """List accounts: plan, state, storage used, files, created, last login."""
    from rich.table import Table

    from partage import humanize
    from partage.admin import users
    from partage.cli.admin import console
    from partage.errors import PartageError

    ctx = open_context(data_dir)
    table = Table("id", "e-mail", "plan", "admin", "active", "used", "files", "created",
                  "last login")  # fmt: skip
    page = 1
    try:
        with ctx.db.read() as s:
            while True:
                found = users.list_users(s, search=search, state=state, page=page, per_page=500)
                for r in found.items:
                    u = r.user
                    table.add_row(
                        str(u.id), u.email, u.plan.name, "yes" if u.is_admin else "",
                        "yes" if u.is_active else "suspended", humanize.size(r.used),
                        str(r.files), u.created_at.strftime("%Y-%m-%d %H:%M"),
                        u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "",
                    )  # fmt: skip
                if page >= found.pages:
                    break
                page += 1
    except PartageError as exc:
        _fail(exc.message)
    console.print(table)


def user_plan(ref: Ref, plan: str, data_dir: DataDir = None) -> None:
    """Move an account to another plan."""
    from partage.admin import users
    from partage.cli.admin import console
    from partage.errors import PartageError

    ctx = open_context(data_dir)
    try:
        with ctx.db.session() as s:
            user = users.set_plan(s, users.find_user(s, ref).id, plan)
            email = user.email
    except PartageError as exc:
        _fail(exc.message)
    console.print(f"{email} is now on the plan {plan}.", highlight=False)


def user_suspend(
    ref: Ref,
    reason: Annotated[str, typer.Option(help="Why (kept with the account).")],
    data_dir: DataDir = None,
) -> None:
    """Suspend an account: logins, uploads and API calls are refused at once."""
    from partage.admin import users
    from partage.cli.admin import console
    from partage.errors import PartageError

    ctx = open_context(data_dir)
    try:
        with ctx.db.session() as s:
            email = users.suspend(s, None, users.find_user(s, ref).id, reason).email
    except PartageError as exc:
        _fail(exc.message)
    console.print(f"{email} is suspended.", highlight=False)


def user_unsuspend(ref: Ref, data_dir: DataDir = None) -> None:
    """Allow a suspended account again."""
    from partage.admin import users
    from partage.cli.admin import console
    from partage.errors import PartageError

    ctx = open_context(data_dir)
    try:
        with ctx.db.session() as s:
            email = users.unsuspend(s, users.find_user(s, ref).id).email
    except PartageError as exc:
        _fail(exc.message)
    console.print(f"{email} is active again.", highlight=False)


def user_delete(
    ref: Ref,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the files go too.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Delete an account and its files (their links answer 410)."""
    from partage.admin import users
    from partage.cli.admin import console
    from partage.errors import PartageError

    if not yes:
        _fail("this deletes the account and all its files: add --yes to confirm.")
    ctx = open_context(data_dir)
    try:
        with ctx.db.read() as s:
            user_id = users.find_user(s, ref).id
        n = users.delete_user(ctx, None, user_id)
    except PartageError as exc:
        _fail(exc.message)
    console.print(f"Deleted account {ref} and {n} file(s).", highlight=False)
