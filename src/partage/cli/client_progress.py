"""Transfer progress on stderr (stdout carries only results, for pipes)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )


def status(progress: Progress, message: str) -> None:
    """A line above the bars (also written when stderr is not a terminal)."""
    progress.console.print(escape(message), highlight=False, soft_wrap=True)


def error(progress: Progress, message: str) -> None:
    progress.console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
