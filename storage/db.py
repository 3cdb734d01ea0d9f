"""The async engine and session factory for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from storage import sqlite_driver

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Connections kept open. Up to CONCURRENT_UPDATES (32 by default) handlers read side by side,
# plus the services; a connection opened beyond the pool is closed when handed back, and
# opening one costs a thread and its PRAGMAs on SQLite, a login on PostgreSQL.
POOL_SIZE = 36
POOL_OVERFLOW = 20
PING_AFTER_IDLE_SECONDS = 30
# Execution options: a transaction that only reads (Database.read, Database.snapshot), and one
# that may run long (snapshot, transaction(bulk=True)): on SQLite its statements run on the
# connection's thread instead of the event loop's (see storage/sqlite_driver.py).
READ_ONLY = "cppcc_read_only"
OFF_LOOP = "cppcc_off_loop"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


_UPSERT_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def upsert_insert(session: AsyncSession) -> Callable[..., Any]:
    """The INSERT construct of the session's database, the one that knows ON CONFLICT."""
    return _UPSERT_INSERTS[session.get_bind().dialect.name]


class UpsertStatement:
    """A statement built once for each database from its ON CONFLICT-aware INSERT (building a
    statement costs about as much as running it, so hot ones are built at import)."""

    def __init__(self, build: Callable[[Callable[..., Any]], Any]) -> None:
        self._by_dialect = {name: build(insert) for name, insert in _UPSERT_INSERTS.items()}

    def of(self, session: AsyncSession) -> Any:
        return self._by_dialect[session.get_bind().dialect.name]


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection
    (sqlite3's own, or the one-call driver's patience, spent off the event loop).

    hide_parameters: a database error's message (logged with its traceback) names the statement
    but never the values, which are phone numbers and report texts."""
    if is_sqlite(url):
        database = make_url(url).database
        options: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            options["pool_size"], options["max_overflow"] = POOL_SIZE, POOL_OVERFLOW
            if one_call_driver_usable():
                del options["connect_args"]
                options["async_creator"] = sqlite_driver.connector(
                    database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
                )
        engine = create_async_engine(url, echo=echo, hide_parameters=True, **options)
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_recycle=1800,
    )
    _ping_when_idle(engine)
    return engine


@functools.cache
def one_call_driver_usable() -> bool:
    """Whether file databases use the one-call driver (storage/sqlite_driver.py), which relies
    on aiosqlite's internals: checked once per process, with a warning when they changed."""
    reason = sqlite_driver.incompatibility()
    if reason is not None:
        log.warning("SQLite runs on aiosqlite as published (slower): %s", reason)
    return reason is None


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Test a pooled PostgreSQL connection before use only when it sat idle a while.

    SQLAlchemy's pool_pre_ping tests every checkout, and on asyncpg a test is three round trips
    (begin, a query, rollback): with two or three checkouts per update, most of the bot's
    database time (py-spy under benchmarks/inbound.py). A connection in use seconds ago is
    alive; one that waited through a quiet night may have been dropped by a firewall or a
    server restart, and is replaced before a member's request meets it. A connection broken
    in between (the server restarting under load) fails its request, which gets "try again in
    a moment", and SQLAlchemy then replaces every pooled connection."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _test_if_idle(dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("connection dropped while idle") from exc


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy own transactions: aiosqlite's implicit BEGIN would defeat BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock at BEGIN: read-then-write transactions (capacity checks,
        # sequence numbers) then serialise instead of failing with "database is locked".
        # A read-only snapshot (Database.snapshot) takes no lock: WAL readers never block writers.
        options = conn.get_execution_options()
        begin = "BEGIN" if options.get(READ_ONLY) else "BEGIN IMMEDIATE"
        driver = conn.connection.driver_connection
        if isinstance(driver, sqlite_driver.OneCallConnection):
            driver.begin_with_next_statement(begin, inline=not options.get(OFF_LOOP))
        else:
            conn.exec_driver_sql(begin)


class WriteInReadTransaction(RuntimeError):
    """A statement that writes ran inside Database.read() (a programming error)."""


def _refuse_writes(engine: AsyncEngine) -> None:
    # Database.read() takes no writer lock on SQLite, so a write there would bypass the FIFO
    # queue and could fail with "database is locked"; refuse it on every database, loudly.
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _check(
        conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        writes = context is not None and (context.isinsert or context.isupdate or context.isdelete)
        if writes and conn.get_execution_options().get(READ_ONLY):
            raise WriteInReadTransaction(" ".join(statement.split(None, 3)[:3]))


class Database:
    """Owns the engine and hands out sessions; one per process, opened and disposed with the app."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        _refuse_writes(self.engine)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Sessions whose transactions only read (see read()), and bulk ones (see transaction()).
        self._reader = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        self._bulk = async_sessionmaker(
            self.engine.execution_options(**{OFF_LOOP: True}), expire_on_commit=False
        )
        # SQLite has one writer at a time. Waiting for it inside SQLite means sleeping and
        # polling (long, unfair tails under load); waiting here is a FIFO queue in the event loop.
        # Other processes (the CLI) still meet the busy timeout.
        self._sqlite_writer = asyncio.Lock() if is_sqlite(url) else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self, *, bulk: bool = False) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any error.

        bulk: thousands of rows (a notice's recipients, a roster, the due-scan): on SQLite its
        statements run on the connection's thread, so the event loop goes on answering members
        meanwhile. Not reentrant on SQLite: never open a transaction while holding another."""
        sessionmaker = self._bulk if bulk else self.sessionmaker
        if self._sqlite_writer is None:
            async with sessionmaker() as session, session.begin():
                yield session
            return
        # Left in reverse order: COMMIT, then the lock, then the session, so handing the
        # connection back to the pool keeps no writer waiting.
        async with sessionmaker() as session, self._sqlite_writer, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short unit of work that only reads (what a member looks at: a card, a list, who
        they are). On SQLite it does not queue for the writer: WAL readers see the last commit
        and block nobody, so views never wait behind sign-ups. Writing in it raises
        WriteInReadTransaction."""
        async with self._reader() as session, session.begin():
            yield session

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work for long reads (exports): one consistent view of the data
        that never blocks writers (SQLite: a deferred BEGIN instead of BEGIN IMMEDIATE;
        PostgreSQL: REPEATABLE READ, READ ONLY). Always rolled back."""
        options: dict[str, Any] = {READ_ONLY: True, OFF_LOOP: True}
        if self.dialect == "postgresql":
            options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with self.sessionmaker() as session:
            await session.connection(execution_options=options)
            try:
                yield session
            finally:
                await session.rollback()

    async def ping(self, *, timeout: float = 1.0) -> bool:  # noqa: ASYNC109
        """Whether the database answers a read within timeout seconds (health checks).

        A read-only transaction: on SQLite a plain BEGIN, so another process holding the write
        lock (a long import, the CLI) does not make the bot look dead; a database that does not
        answer at all is reported within the timeout instead of after the busy timeout."""
        try:
            async with asyncio.timeout(timeout), self.read() as session:
                await session.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
