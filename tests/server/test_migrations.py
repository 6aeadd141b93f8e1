"""The migrations build exactly the schema the models describe, on SQLite and on
PostgreSQL, and step back down to an empty database: a model change without its
migration (or the reverse) fails here, not on an operator's upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import partage.models  # noqa: F401  (registers every table)
from partage.db import Base
from partage.migrate import alembic_config, upgrade
from tests.serverproc import SCALED_DATABASE_URL, new_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'partage.db'}"
    url = new_database(SCALED_DATABASE_URL)
    assert url is not None
    return url


def differences(url: str) -> list[object]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_match_the_models_and_go_back_down(database_url: str) -> None:
    upgrade(database_url)
    assert differences(database_url) == []
    assert {"users", "files", "blobs", "media", "uploads"} <= tables(database_url)

    command.downgrade(alembic_config(database_url), "base")
    assert tables(database_url) <= {"alembic_version"}
    upgrade(database_url)  # and up again, from nothing
    assert differences(database_url) == []
