"""`partage admin audit export`: the audit log as CSV or JSON Lines, oldest first, the same
export as GET /api/v1/moderation/audit.csv|.jsonl (partage.moderation.audit_export)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from partage.cli.common import DataDir, open_context

audit_app = typer.Typer(no_args_is_help=True, help="The audit log.")


@audit_app.command("export")
def audit_export_command(
    format: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",  # noqa: A002
    since: Annotated[
        str | None, typer.Option(help="From this date (YYYY-MM-DD) or UTC time.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Up to this date (included) or UTC time (excluded).")
    ] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. user.suspend.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only this subject, e.g. user:12.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write every matching entry, oldest first; prints how many on stderr."""
    from partage.cli.admin import err
    from partage.errors import BadRequest, PartageError
    from partage.moderation import audit_export

    try:  # wrong options are told before the database is opened
        f = audit_export.filters(since, until, action, subject)
        if format not in audit_export.FORMATS:
            raise BadRequest("format: csv or jsonl.")
    except PartageError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    ctx = open_context(data_dir)
    lines = audit_export.export(ctx.db, f, format)
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    n = -1 if format == "csv" else 0  # the CSV's header line is not an entry
    try:
        for line in lines:
            out.write(line)
            n += 1
    finally:
        if output:
            out.close()
        ctx.close()
    err.print(f"{n} entries exported.", highlight=False)
