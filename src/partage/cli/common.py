"""Options and helpers shared by the server-side commands."""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the CLI client must start fast: server modules load on use
    from pydantic import ValidationError

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
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from partage.settings import get_settings

    if data_dir is not None:
        os.environ["PARTAGE_DATA_DIR"] = str(data_dir.resolve())
        get_settings.cache_clear()
    try:
        return get_settings()
    except ValidationError as e:
        for line in settings_problems(e):
            print(f"partage: {line}", file=sys.stderr)
    except SettingsError as e:
        # A list or mapping setting is read as JSON before it is validated.
        field = re.search(r'field "(\w+)"', str(e))
        name = f"PARTAGE_{field.group(1).upper()}" if field else "a setting"
        print(f"partage: {name}: not valid JSON (a list setting is written "
              '["10.0.0.1/32", "…"])', file=sys.stderr)  # fmt: skip
    except tomllib.TOMLDecodeError as e:
        print(f"partage: partage.toml: not valid TOML: {e}", file=sys.stderr)
    raise typer.Exit(2)


def settings_problems(error: ValidationError) -> list[str]:
    """One line per invalid setting: its variable, the value given and the rule, e.g.
    `PARTAGE_DIRECT_LINK_TTL=5: must be greater than or equal to 60`."""
    lines = []
    for problem in error.errors(include_url=False):
        rule = problem["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
        if problem["msg"].startswith("Input should be "):
            rule = "must be " + rule
        field = ".".join(str(part) for part in problem["loc"])
        if not field:  # a rule across several settings (a model validator)
            lines.append(rule)
            continue
        name = "PARTAGE_" + field.split(".")[0].upper()
        given = problem.get("input")
        shown = f"={given}" if isinstance(given, str | int | float) else ""
        lines.append(f"{name}{shown}: {rule}")
    return lines


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
