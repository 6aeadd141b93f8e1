"""Client commands (login, upload, download, ls, rm, mv, mkdir, share)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
