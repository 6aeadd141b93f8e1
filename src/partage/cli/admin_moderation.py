"""`partage admin moderation …`: moderation chores run on the server machine."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from partage.cli.common import DataDir, open_context

app = typer.Typer(no_args_is_help=True, help="Moderation.")


@app.command("restore-due")
def restore_due(
    at: Annotated[
        str | None,
        typer.Option("--at", help="Act as if it were this time (ISO 8601, UTC if no zone)."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Restore content whose counter-notice waiting period is over (what the periodic job
    does every ten minutes), and print the counter-notices settled."""
    from datetime import UTC

    from partage.moderation.complaint_tasks import run_restore_due

    now = None
    if at is not None:
        try:
            now = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            typer.echo(f"error: --at: not an ISO 8601 time: {at}", err=True)
            raise typer.Exit(2) from None
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    ctx = open_context(data_dir)
    try:
        done = run_restore_due(ctx, now)
    finally:
        ctx.close()
    for ref in done:
        typer.echo(ref)
    typer.echo(f"{len(done)} counter-notice(s) restored.")
