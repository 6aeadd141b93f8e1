"""Options and helpers shared by the server-side commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the CLI client must start fast: server modules load on use
    from partage.context import Context
    from partage.settings import Settings

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: PARTAGE_DATA_DIR or ./partage-data)."
    ),
]


def load_settings(data_dir: Path | None) -> Settings:
    """Settings for a server-side command; --data-dir wins over the environment.

    The CLI writes the data dir back into the environment so that the web
    worker processes it spawns read the same settings."""
    from partage.settings import get_settings

    if data_dir is not None:
        os.environ["PARTAGE_DATA_DIR"] = str(data_dir.resolve())
        get_settings.cache_clear()
    return get_settings()


def checked_settings(data_dir: Path | None) -> Settings:
    """Settings whose every configured service answers; else one line on stderr saying
    which setting is wrong and why, and exit status 2."""
    from partage.preflight import PreflightError, preflight

    settings = load_settings(data_dir)
    try:
        preflight(settings)
        settings.ensure_dirs()
    except PreflightError as e:
        print(f"partage: {e.message}", file=sys.stderr)
        raise typer.Exit(2) from None
    except OSError as e:
        where = e.filename or settings.data_dir
        print(f"partage: PARTAGE_DATA_DIR: cannot create {where}: {e.strerror or e}",
              file=sys.stderr)  # fmt: skip
        raise typer.Exit(2) from None
    return settings


def open_context(data_dir: Path | None) -> Context:
    from partage.context import Context
    from partage.migrate import upgrade

    settings = checked_settings(data_dir)
    upgrade(settings.db_url)
    return Context.build(settings)
