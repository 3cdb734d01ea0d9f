"""The one-call SQLite driver (storage/sqlite_driver.py) behaves like aiosqlite under SQLAlchemy:
long results stream in batches, half-read results are closed, errors roll back."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from storage import sqlite_driver
from storage.db import Database
from storage.models import Sector
from tests.support import fresh_database

ROWS = sqlite_driver.FIRST_ROWS * 3 + 7  # several batches, the last one partial


async def _sectors(db: Database, n: int) -> None:
    async with db.transaction() as session:
        await session.execute(insert(Sector), [{"name": f"界别{i:05d}"} for i in range(n)])


async def test_engine_uses_one_call_connections(tmp_path: Path) -> None:
    async with fresh_database("sqlite", tmp_path) as db, db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, sqlite_driver.OneCallConnection)


async def test_many_rows_arrive_whole_and_in_order(tmp_path: Path) -> None:
    async with fresh_database("sqlite", tmp_path) as db:
        await _sectors(db, ROWS)
        async with db.transaction() as session:
            names = list(await session.scalars(select(Sector.name).order_by(Sector.id)))
        assert names == [f"界别{i:05d}" for i in range(ROWS)]


async def test_a_stream_comes_in_batches_and_can_stop_halfway(tmp_path: Path) -> None:
    async with fresh_database("sqlite", tmp_path) as db:
        await _sectors(db, ROWS)
        async with db.snapshot() as session:
            result = await session.stream_scalars(
                select(Sector.name).order_by(Sector.id).execution_options(yield_per=100)
            )
            streamed = [name async for name in result]
        assert len(streamed) == ROWS and streamed[-1] == f"界别{ROWS - 1:05d}"

        async with db.transaction() as session:
            result = await session.stream_scalars(
                select(Sector.name).order_by(Sector.id).execution_options(yield_per=50)
            )
            first = list(await anext(result.partitions(10)))
            await result.close()
            # The half-read cursor is closed: the same transaction goes on writing.
            await session.execute(update(Sector).where(Sector.id == 1).values(name="改名"))
        assert first[0] == "界别00000"
        async with db.transaction() as session:
            assert await session.scalar(select(Sector.name).where(Sector.id == 1)) == "改名"


async def test_rowcount_and_inserted_ids(tmp_path: Path) -> None:
    async with fresh_database("sqlite", tmp_path) as db:
        await _sectors(db, 5)
        async with db.transaction() as session:
            changed = await session.execute(
                update(Sector).where(Sector.id <= 3).values(name=Sector.name + "·")
            )
            sector = Sector(name="新界别")
            session.add(sector)
            await session.flush()
        assert changed.rowcount == 3  # type: ignore[attr-defined]
        assert sector.id == 6


async def test_a_failed_statement_rolls_the_whole_transaction_back(tmp_path: Path) -> None:
    async with fresh_database("sqlite", tmp_path) as db:
        await _sectors(db, 1)
        with pytest.raises(IntegrityError):
            async with db.transaction() as session:
                session.add(Sector(name="第二个"))
                await session.flush()
                session.add(Sector(name="界别00000"))  # unique name taken
                await session.flush()
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Sector)) == 1


async def test_a_transaction_holds_the_write_lock_from_its_first_statement(
    tmp_path: Path,
) -> None:
    """BEGIN IMMEDIATE travels with the first statement: even a transaction that starts with a
    read keeps other writers (another process, here a plain sqlite3 connection) out."""
    async with fresh_database("sqlite", tmp_path) as db:
        other = sqlite3.connect(tmp_path / "test.db", timeout=0, isolation_level=None)
        try:
            async with db.transaction() as session:
                await session.scalar(select(func.count()).select_from(Sector))
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")  # free again after COMMIT
            other.execute("ROLLBACK")
            async with db.snapshot() as session:  # a read-only snapshot takes no write lock
                await session.scalar(select(func.count()).select_from(Sector))
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
        finally:
            other.close()


async def test_a_cancelled_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    """A handler cancelled mid-transaction (shutdown, timeout): its write is rolled back and the
    connection it used serves the next transaction cleanly."""
    async with fresh_database("sqlite", tmp_path) as db:
        wrote = asyncio.Event()

        async def interrupted() -> None:
            async with db.transaction() as session:
                session.add(Sector(name="半途"))
                await session.flush()
                wrote.set()
                await asyncio.sleep(60)

        task = asyncio.create_task(interrupted())
        await wrote.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for name in ("其后一", "其后二"):
            async with db.transaction() as session:
                session.add(Sector(name=name))
        async with db.transaction() as session:
            names = set(await session.scalars(select(Sector.name)))
        assert names == {"其后一", "其后二"}


async def test_short_transactions_run_on_the_loop_thread_and_long_ones_off_it(
    tmp_path: Path,
) -> None:
    """Members' units of work skip the hand-off to the connection's thread; a snapshot (an
    export) and a bulk write run there, so the event loop keeps answering meanwhile."""
    async with fresh_database("sqlite", tmp_path) as db:

        @event.listens_for(db.engine.sync_engine, "connect")
        def _thread_function(dbapi_conn: Any, _record: object) -> None:
            dbapi_conn.driver_connection._conn.create_function("tid", 0, threading.get_ident)

        await db.engine.dispose()  # connections opened from here on know tid()
        loop_thread = threading.get_ident()
        async with db.transaction() as session:
            assert await session.scalar(text("SELECT tid()")) == loop_thread
        async with db.read() as session:
            assert await session.scalar(text("SELECT tid()")) == loop_thread
        async with db.snapshot() as session:
            assert await session.scalar(text("SELECT tid()")) != loop_thread
        async with db.transaction(bulk=True) as session:  # a notice's recipients, a roster
            assert await session.scalar(text("SELECT tid()")) != loop_thread
            session.add(Sector(name="批量"))
        async with db.read() as session:  # the same pooled connection, short again
            assert await session.scalar(text("SELECT tid()")) == loop_thread


async def test_a_writer_in_another_process_is_waited_for_off_the_loop(tmp_path: Path) -> None:
    """While another process (the CLI importing a roster) writes, a transaction waits for it
    on the connection's thread, not failing with "database is locked" and not freezing the
    event loop: members' reads are answered in the meantime."""
    async with fresh_database("sqlite", tmp_path) as db:
        other = sqlite3.connect(tmp_path / "test.db", timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO sector (name) VALUES ('别的进程')")

            async def write() -> None:
                async with db.transaction() as session:
                    session.add(Sector(name="等一等"))

            writer = asyncio.create_task(write())
            await asyncio.sleep(0.2)
            assert not writer.done()  # waiting for the lock, not failed
            async with db.read() as session:  # the loop is free: a read is answered
                assert await session.scalar(select(func.count()).select_from(Sector)) == 0
            other.execute("COMMIT")
            await asyncio.wait_for(writer, timeout=30)
        finally:
            other.close()
        async with db.read() as session:
            names = set(await session.scalars(select(Sector.name)))
        assert names == {"别的进程", "等一等"}


def test_this_aiosqlite_carries_the_one_call_driver() -> None:
    """The internals the driver relies on are as expected in the aiosqlite CI installs; a
    release that changes them shows up here first (and the bot falls back, below)."""
    assert sqlite_driver.incompatibility() is None


async def test_a_changed_aiosqlite_falls_back_to_the_published_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """aiosqlite whose internals changed shape (as a future release might: `_conn` no longer a
    property, working as before for aiosqlite itself): the check says why, the log says so,
    and the database works on aiosqlite as published, a failed transaction still rolled back
    whole."""
    import aiosqlite

    from storage import db as db_module
    from storage.migrate import upgrade

    original = aiosqlite.Connection.__dict__["_conn"]

    class NotAProperty:
        def __get__(self, instance: object, owner: type | None = None) -> Any:
            return self if instance is None else original.fget(instance)

    monkeypatch.setattr(aiosqlite.Connection, "_conn", NotAProperty())
    assert "_conn" in (sqlite_driver.incompatibility() or "")
    db_module.one_call_driver_usable.cache_clear()
    try:
        database = Database(f"sqlite+aiosqlite:///{tmp_path}/fallback.db")
        try:
            await upgrade(database.engine)
            async with database.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                assert not isinstance(raw.driver_connection, sqlite_driver.OneCallConnection)
            await _sectors(database, 3)
            with pytest.raises(IntegrityError):
                async with database.transaction() as session:
                    await session.execute(insert(Sector), [{"name": "新界别"}])
                    await session.execute(insert(Sector), [{"name": "界别00000"}])
            async with database.read() as session:
                assert await session.scalar(select(func.count()).select_from(Sector)) == 3
        finally:
            await database.dispose()
    finally:
        db_module.one_call_driver_usable.cache_clear()
    assert any("aiosqlite as published" in r.getMessage() for r in caplog.records)
