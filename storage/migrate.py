"""Schema upgrades with Alembic, callable from the CLI, at start-up and from tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Bring the schema up to date on an open engine (every feature branch head)."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "sqlite":
        await _upgrade_sqlite(url, revision)
        return
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, url, revision)


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands: its Alembic revisions (none: never upgraded) and how
    many tables it has besides Alembic's own."""

    revisions: tuple[str, ...]
    tables: int


async def schema_state(engine: AsyncEngine) -> SchemaState:
    async with engine.connect() as conn:
        return await conn.run_sync(_schema_state)


def _schema_state(connection: Connection) -> SchemaState:
    revisions = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    names = inspect(connection).get_table_names()
    return SchemaState(revisions, sum(1 for name in names if name != "alembic_version"))


def _upgrade(connection: Connection, url: str, revision: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def _upgrade_sqlite(url: str, revision: str) -> None:
    """On a connection of its own with foreign keys off, then checked.

    SQLite changes a table's columns by copying it into a new table and dropping the old one
    (Alembic's batch mode); with foreign keys on, dropping `member` would first run an implicit
    DELETE and cascade it into every table that references members. SQLite's own procedure for
    such changes is: foreign keys off, rebuild, `PRAGMA foreign_key_check`. The app's
    connections turn them on when they open (storage/db.py); this one is a plain connection,
    where they are off by default.
    """
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            # WAL is a property of the file: set it now, as the app's connections would, so the
            # app never has to switch it later while another process holds a lock.
            await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.run_sync(_upgrade, url, revision)
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"the schema upgrade broke foreign keys: {broken[:5]}")
    finally:
        await engine.dispose()
