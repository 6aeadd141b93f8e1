"""`partage admin …`: accounts, tokens, media jobs and storage, run on the server machine."""

from __future__ import annotations

import getpass
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from partage.cli import admin_audit, admin_moderation, admin_users
from partage.cli.common import DataDir, open_context

if TYPE_CHECKING:  # server modules load when a command runs, so `partage ls` starts fast
    from partage.errors import PartageError

app = typer.Typer(no_args_is_help=True)
user_app = typer.Typer(no_args_is_help=True, help="Accounts.")
token_app = typer.Typer(no_args_is_help=True, help="API tokens.")
app.add_typer(user_app, name="user")
admin_users.register(user_app)  # list, plan, suspend, unsuspend, delete
app.add_typer(token_app, name="token")
media_app = typer.Typer(no_args_is_help=True, help="Media processing jobs.")
app.add_typer(media_app, name="media")
app.add_typer(admin_moderation.app, name="moderation")
app.add_typer(admin_audit.audit_app, name="audit")  # export
console = Console()
if not console.is_terminal:
    console = Console(width=250)  # piped: never wrap an e-mail address over two lines
err = Console(stderr=True)


@app.callback()
def operator() -> None:
    from partage.moderation import audit

    # What an operator changes here is audited like an administrator's web action,
    # under who ran the command.
    audit.acting_operator(f"cli:{_login_name()}")


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME (a bare container)
        return f"uid {os.getuid()}"


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
    from partage.admin import users
    from partage.errors import PartageError

    ctx = open_context(data_dir)
    generated = password is None
    password = password or secrets.token_urlsafe(15)
    try:
        with ctx.db.session() as s:
            user = users.create_account(s, None, email, password, admin=admin, plan=plan)
            console.print(
                f"Created {user.email} (id {user.id}, plan {plan}{', admin' if admin else ''}).",
                highlight=False,
            )
    except PartageError as exc:
        _fail(exc)
    if generated:
        console.print(f"password: {password}", highlight=False)


@token_app.command("create")
def token_create(
    email: str,
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "cli",
    data_dir: DataDir = None,
) -> None:
    """Create an API token; the token is printed alone on the last line."""
    from partage.accounts import service as accounts
    from partage.admin import users
    from partage.errors import PartageError

    ctx = open_context(data_dir)
    try:
        with ctx.db.session() as s:
            user = accounts.get_user_by_email(s, email)
            tok, secret = users.issue_token(s, None, user, name)
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


# -- storage: verify, gc, migrate-storage ----------------------------------------------------

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
Grace = Annotated[
    float,
    typer.Option(help="Seconds an object without a blob row is taken for an upload in flight.",
                 min=0),
]  # fmt: skip
Jobs = Annotated[int, typer.Option("--jobs", min=1, max=64, help="Blobs handled at once.")]


class _RichProgress:
    """maintenance.Progress on a Rich bar (stderr, and only on a terminal)."""

    def __init__(self, label: str, enabled: bool) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.bar = Progress(
            "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(),
            console=err, disable=not enabled, transient=True,
        )  # fmt: skip
        self.task = self.bar.add_task(label, total=None)

    def total(self, items: int, nbytes: int) -> None:
        self.bar.update(self.task, total=nbytes)

    def advance(self, nbytes: int) -> None:
        self.bar.advance(self.task, nbytes)

    def __enter__(self) -> _RichProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


def _age(seconds: float) -> str:
    for unit, n in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= n:
            return f"{seconds / n:.0f} {unit}"
    return f"{seconds:.0f} s"


def _n(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


def _table(*names: str) -> Table:
    """Keys and details wrap rather than being cut: they are what the operator acts on."""
    table = Table()
    for name in names:
        table.add_column(name, overflow="fold")
    return table


def _emit_json(data: object) -> None:
    import json

    print(json.dumps(data, indent=2))


@app.command("verify")
def storage_verify(
    sample: Annotated[int, typer.Option(min=1, help="Blobs picked at random.")] = 100,
    all_blobs: Annotated[bool, typer.Option("--all", help="Check every blob.")] = False,
    grace: Grace = 3600,
    jobs: Jobs = 4,
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Re-hash blobs and look for missing, corrupt and orphan objects (exit status 1 when
    a blob is missing, corrupt or unreadable)."""
    from partage import humanize
    from partage.storage import maintenance

    ctx = open_context(data_dir)
    areas = maintenance.media_areas(ctx.store, ctx.settings)
    with _RichProgress("verifying", err.is_terminal and not as_json) as progress:
        report = maintenance.verify(ctx.db, ctx.store, areas, sample=None if all_blobs else sample,
                                    grace=grace, workers=jobs, progress=progress)  # fmt: skip
    if as_json:
        _emit_json(report.as_json())
        raise typer.Exit(0 if report.ok else 1)
    console.print(f"Store: {report.store}", highlight=False)
    if report.problems:
        table = _table("problem", "blob", "size", "detail")
        for p in report.problems:
            table.add_row(p.kind, p.key, humanize.size(p.size or 0), p.detail)
        console.print(table)
    which = "every blob" if all_blobs else f"{report.checked} of {report.blobs} blobs (random)"
    console.print(
        f"Checked {which}, {humanize.size(report.checked_bytes)}: "
        f"{len(report.missing)} missing, {len(report.corrupt)} corrupt, "
        f"{len(report.errors)} unreadable.", highlight=False,
    )  # fmt: skip
    console.print(
        f"Orphans: {_n(report.orphan_count, 'object')} ({humanize.size(report.orphan_bytes)}) "
        f"and {_n(len(report.orphan_media), 'media output directory')} without a blob; "
        f"{report.recent} newer than {_age(grace)} ignored (uploads in flight)."
        + (" `partage admin gc` removes them." if report.orphan_count or report.orphan_media
           else ""), highlight=False,
    )  # fmt: skip
    for o in report.orphans[:20]:
        console.print(f"  orphan {o.key}  {humanize.size(o.size)}  {_age(o.age)} old",
                      highlight=False)  # fmt: skip
    if report.orphan_count > 20:
        console.print(f"  … and {report.orphan_count - 20} more", highlight=False)
    console.print("[green]OK[/green]" if report.ok else "[red]PROBLEMS FOUND[/red]")
    raise typer.Exit(0 if report.ok else 1)


@app.command("gc")
def storage_gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would go; remove nothing.")
    ] = False,
    grace: Grace = 3600,
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Remove orphans older than the grace period: objects without a blob row, media output
    directories of deleted content, temporary files of interrupted writes."""
    from partage import humanize
    from partage.storage import maintenance

    ctx = open_context(data_dir)
    areas = maintenance.media_areas(ctx.store, ctx.settings)
    report = maintenance.gc(ctx.db, ctx.store, areas, dry_run=dry_run, grace=grace)
    if as_json:
        _emit_json(report.as_json())
        return
    verb = "Would remove" if dry_run else "Removed"
    if report.removed or report.media_removed:
        table = _table("kind", "key", "size", "age")
        for o in report.removed:
            table.add_row("blob", o.key, humanize.size(o.size), _age(o.age))
        for o in report.media_removed:
            table.add_row("media", o.key, "", _age(o.age))
        console.print(table)
    console.print(
        f"{verb} {_n(len(report.removed), 'orphan blob')} ({humanize.size(report.removed_bytes)}), "
        f"{_n(len(report.media_removed), 'media output directory')} and "
        f"{_n(report.temp_removed, 'temporary file')} from {report.store}; "
        f"kept {report.kept_recent} newer than "
        f"{_age(grace)}.", highlight=False,
    )  # fmt: skip


@app.command("migrate-storage")
def storage_migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="Target: file:///path or s3://bucket/prefix"
            "[?endpoint=…&region=…&addressing=path&profile=…].",
        ),
    ],
    source: Annotated[
        str | None, typer.Option("--from", help="Source store URL (default: the configured store).")
    ] = None,
    jobs: Jobs = 4,
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Copy every blob and its media outputs to another store; what is there already with
    the right size is skipped, so running it again resumes or catches up."""
    from partage import humanize
    from partage.storage import describe_store, maintenance, store_from_url

    ctx = open_context(data_dir)
    if source and source.startswith("file://") and not Path(source[7:]).is_dir():
        err.print(f"[red]error:[/red] --from: {source[7:]} is not a directory", highlight=False,
                  soft_wrap=True)  # fmt: skip
        raise typer.Exit(2)
    try:
        src = store_from_url(source, ctx.settings, setting="--from") if source else ctx.store
        dst = store_from_url(to, ctx.settings, setting="--to")
    except ValueError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if describe_store(src) == describe_store(dst):
        err.print(f"[red]error:[/red] {describe_store(dst)} is the source itself", highlight=False,
                  soft_wrap=True)  # fmt: skip
        raise typer.Exit(2)
    try:
        dst.check()
    except Exception as e:
        err.print(f"[red]error:[/red] cannot write to {describe_store(dst)}: {e}", highlight=False,
                  soft_wrap=True)  # fmt: skip
        raise typer.Exit(2) from None
    dst_media = maintenance.media_areas(dst, ctx.settings)
    with _RichProgress("copying", err.is_terminal and not as_json) as progress:
        report = maintenance.migrate(
            ctx.db, src, dst, maintenance.media_areas(src, ctx.settings),
            dst_media[0] if dst_media else None, work_dir=ctx.settings.staging_dir,
            workers=jobs, progress=progress,
        )  # fmt: skip
    if as_json:
        _emit_json(report.as_json())
        raise typer.Exit(0 if report.ok else 1)
    console.print(f"From {report.source}\nto   {report.target}", highlight=False)
    failed = report.failed + report.media_failed
    if failed:
        table = _table("problem", "blob or file", "size", "detail")
        for p in failed:
            table.add_row(p.kind, p.key, humanize.size(p.size or 0), p.detail)
        console.print(table)
    console.print(
        f"Blobs: {report.copied} copied ({humanize.size(report.copied_bytes)}), "
        f"{report.skipped} already there, {report.gone} deleted meanwhile, "
        f"{len(report.failed)} failed.\nMedia files: {report.media_copied} copied "
        f"({humanize.size(report.media_bytes)}), {report.media_skipped} already there, "
        f"{len(report.media_failed)} failed.", highlight=False,
    )  # fmt: skip
    raise typer.Exit(0 if report.ok else 1)
