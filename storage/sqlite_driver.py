"""aiosqlite whose short statements run on the event loop's thread, without a hand-off.

aiosqlite runs every sqlite3 call on the connection's own thread, and SQLAlchemy's adapter makes
four such calls per statement: open a cursor, execute, fetch, close. Each is a queue hand-off, a
wake-up of the event loop and a switch of the GIL. Measured (benchmarks/inbound.py with py-spy,
and a one-query transaction timed alone): the statement itself takes microseconds, the hand-offs
around a transaction hundreds, and under load they were a large share of the bot's CPU.

So a statement here is one call, executed together with the first rows it returns (and with the
transaction's BEGIN, which travels with its first statement). In a short transaction (the
bot's units of work: Database.transaction and Database.read) the call runs right away on the
event loop's thread: an indexed statement on a WAL database is done sooner than a hand-off. It
must never sleep there, so the connection's busy timeout is 0 and a statement that finds the
database locked (another process writing: the CLI importing a roster) is run again on the
connection's thread, which may wait its full patience. A long read (Database.snapshot: exports)
runs on the connection's thread throughout, in batches, so the loop keeps answering members.

This module is the project's one use of aiosqlite's internals (`_conn`, `_execute`, `_thread`).
`incompatibility()` checks them once; where a release has changed them, storage/db.py uses
aiosqlite as published instead (slower, the same behaviour) and says so in the log.
"""

from __future__ import annotations

import inspect
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")


def incompatibility() -> str | None:
    """Why this aiosqlite cannot carry the one-call driver (the internals it relies on are not
    as expected), or None when it can."""
    connection_class = aiosqlite.Connection
    if not isinstance(getattr(connection_class, "_conn", None), property):
        return "aiosqlite.Connection._conn is no longer a property"
    if not inspect.iscoroutinefunction(getattr(connection_class, "_execute", None)):
        return "aiosqlite.Connection._execute is no longer a coroutine function"
    try:
        # Built, never started: its worker thread is only created here.
        probe = connection_class(partial(sqlite3.connect, ":memory:"), 64)
    except Exception as exc:
        return f"aiosqlite.Connection(connector, iter_chunk_size) failed: {exc!r}"
    if not isinstance(getattr(probe, "_thread", None), threading.Thread):
        return "aiosqlite.Connection._thread is no longer a Thread"
    return None


FIRST_ROWS = 256  # fetched with the statement; most queries return far fewer


class OneCallConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors run a statement in one call, on the event loop's
    thread in short transactions and on the connection's thread in long ones."""

    pending_begin: str | None = None
    # Nothing was sent since the last COMMIT or ROLLBACK finished: the pool's ROLLBACK on
    # handing the connection back can be skipped. Anything sent, even if its caller was
    # cancelled while it ran on the thread, clears it.
    clean = True
    # Where the current transaction's statements run (see the module's docstring).
    inline = True

    def __init__(self, connector: Callable[[], sqlite3.Connection], *, patience: float) -> None:
        super().__init__(connector, 64)
        self.patience_ms = int(patience * 1000)

    def cursor(self) -> OneCallCursor:  # type: ignore[override]
        return OneCallCursor(self)

    def begin_with_next_statement(self, begin: str, *, inline: bool = True) -> None:
        """Open the transaction in the same call as its first statement; inline=False for a
        long one, whose statements then run on the connection's thread."""
        self.pending_begin = begin
        self.inline = inline

    def take_begin(self) -> str | None:
        """The BEGIN still owed, if any."""
        begin, self.pending_begin = self.pending_begin, None
        return begin

    async def commit(self) -> None:
        if self.take_begin() is None:  # a transaction without statements has nothing to end
            await self._end(self._conn.commit)
        self.inline = True

    async def rollback(self) -> None:
        if self.take_begin() is None and not self.clean:
            await self._end(self._conn.rollback)
        self.inline = True

    async def _end(self, end: Callable[[], None]) -> None:
        await self.call(end)
        self.clean = True

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) on the loop's thread in a short transaction, else (or when the database
        is locked by another process) on the connection's thread. fn must be safe to run
        again after it failed with SQLITE_BUSY: that failure changed nothing."""
        self.clean = False
        if self.inline:
            try:
                return fn(*args)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
        result: T = await self._execute(self._patiently, fn, *args)  # type: ignore[no-untyped-call]
        return result

    def _patiently(self, fn: Callable[..., T], *args: Any) -> T:
        """On the connection's thread: fn(*args), waiting for a lock as long as allowed."""
        self._conn.execute(f"PRAGMA busy_timeout={self.patience_ms}")
        try:
            return fn(*args)
        finally:
            self._conn.execute("PRAGMA busy_timeout=0")


class OneCallCursor:
    """The part of aiosqlite's Cursor that SQLAlchemy uses."""

    def __init__(self, connection: OneCallConnection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None
        self._rows: deque[Any] = deque()
        self._exhausted = True
        self.arraysize = 1

    async def __aenter__(self) -> OneCallCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- one call each (see OneCallConnection.call) ------------------------------------------
    def _begin(self, begin: str | None) -> sqlite3.Cursor:
        cursor = self._connection._conn.cursor()
        # Skipped on a second attempt if the first got as far as opening the transaction.
        if begin is not None and not self._connection._conn.in_transaction:
            cursor.execute(begin)
        return cursor

    def _run(
        self, begin: str | None, sql: str, parameters: Any
    ) -> tuple[sqlite3.Cursor, list[Any], bool]:
        cursor = self._begin(begin)
        if parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        if cursor.description is None:
            return cursor, [], True
        rows = cursor.fetchmany(FIRST_ROWS)
        return cursor, rows, len(rows) < FIRST_ROWS

    def _run_many(self, begin: str | None, sql: str, parameters: Sequence[Any]) -> sqlite3.Cursor:
        cursor = self._begin(begin)
        cursor.executemany(sql, parameters)
        return cursor

    # -- the aiosqlite cursor interface ------------------------------------------------------
    async def execute(self, sql: str, parameters: Any = None) -> OneCallCursor:
        await self.close()
        self._cursor, rows, self._exhausted = await self._connection.call(
            self._run, self._connection.take_begin(), sql, parameters
        )
        self._rows = deque(rows)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneCallCursor:
        await self.close()
        rows = list(parameters)  # may be run a second time
        self._cursor = await self._connection.call(
            self._run_many, self._connection.take_begin(), sql, rows
        )
        self._rows, self._exhausted = deque(), True
        return self

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        if not self._exhausted and self._cursor is not None:
            rows += await self._connection.call(self._cursor.fetchall)
            self._exhausted = True
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        batch = max(size, FIRST_ROWS)
        while len(self._rows) < size and not self._exhausted and self._cursor is not None:
            more: Sequence[Any] = await self._connection.call(self._cursor.fetchmany, batch)
            self._rows.extend(more)
            self._exhausted = len(more) < batch
        return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def close(self) -> None:
        """A cursor read to the end needs no call; one left half-read is closed on the thread."""
        cursor, self._cursor = self._cursor, None
        self._rows.clear()
        if cursor is not None and not self._exhausted:
            await self._connection.call(cursor.close)
        self._exhausted = True

    @property
    def description(self) -> Any:
        return self._cursor.description if self._cursor is not None else None

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount if self._cursor is not None else -1

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid if self._cursor is not None else None


def connector(database: str, *, timeout: float) -> Any:
    """SQLAlchemy's async_creator for a file database."""

    async def connect() -> OneCallConnection:
        # check_same_thread off: statements run on both threads, never two at once.
        # timeout=0: a statement on the loop's thread must not sleep in SQLite's busy handler.
        connection = OneCallConnection(
            partial(sqlite3.connect, str(Path(database)), timeout=0, check_same_thread=False),
            patience=timeout,
        )
        connection._thread.daemon = True
        await connection
        return connection

    return connect
