"""aiosqlite with one thread hand-off per statement instead of four.

aiosqlite runs every sqlite3 call on the connection's own thread, and SQLAlchemy's adapter makes
four such calls per statement: open a cursor, execute, fetch, close. Each is a queue hand-off, a
wake-up of the event loop and a switch of the GIL; under load that was about 40 per update and a
large share of the bot's CPU (benchmarks/inbound.py, profiled with py-spy). Here a statement is
one call: the worker thread executes it and fetches the first rows together. Longer results (a
streamed export) come a batch per call after that, so memory stays bounded.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
FIRST_ROWS = 256  # fetched with the statement; most queries return far fewer


class OneCallConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors run a statement in one call to its thread."""

    pending_begin: str | None = None
    # Nothing was sent to the thread since the last COMMIT or ROLLBACK finished: the pool's
    # ROLLBACK on handing the connection back can be skipped (a trip to the thread per
    # transaction). Anything sent, even if its caller was cancelled, clears it.
    clean = True

    def cursor(self) -> OneCallCursor:  # type: ignore[override]
        return OneCallCursor(self)

    def begin_with_next_statement(self, begin: str) -> None:
        """Open the transaction in the same call as its first statement (BEGIN on its own
        would be one more trip to the thread while a writer holds the lock)."""
        self.pending_begin = begin

    def take_begin(self) -> str | None:
        """On the connection's thread: the BEGIN still owed, if any."""
        begin, self.pending_begin = self.pending_begin, None
        return begin

    async def commit(self) -> None:
        if self.take_begin() is None:  # a transaction without statements has nothing to end
            await self._end(super().commit)

    async def rollback(self) -> None:
        if self.take_begin() is None and not self.clean:
            await self._end(super().rollback)

    async def _end(self, end: Callable[[], Awaitable[None]]) -> None:
        self.clean = False
        await end()
        self.clean = True

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(*args) on the connection's thread."""
        self.clean = False
        result: T = await self._execute(fn, *args)  # type: ignore[no-untyped-call]
        return result


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

    # -- run on the connection's thread -------------------------------------------------------
    def _run(self, sql: str, parameters: Any) -> tuple[sqlite3.Cursor, list[Any], bool]:
        connection = self._connection
        begin = connection.take_begin()
        cursor = connection._conn.cursor()
        if begin is not None:
            cursor.execute(begin)
        if parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        if cursor.description is None:
            return cursor, [], True
        rows = cursor.fetchmany(FIRST_ROWS)
        return cursor, rows, len(rows) < FIRST_ROWS

    def _run_many(self, sql: str, parameters: Iterable[Any]) -> sqlite3.Cursor:
        begin = self._connection.take_begin()
        cursor = self._connection._conn.cursor()
        if begin is not None:
            cursor.execute(begin)
        cursor.executemany(sql, parameters)
        return cursor

    # -- the aiosqlite cursor interface ------------------------------------------------------
    async def execute(self, sql: str, parameters: Any = None) -> OneCallCursor:
        await self.close()
        self._cursor, rows, self._exhausted = await self._connection.call(
            self._run, sql, parameters
        )
        self._rows = deque(rows)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneCallCursor:
        await self.close()
        self._cursor = await self._connection.call(self._run_many, sql, parameters)
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
        # check_same_thread off: the finished cursors SQLAlchemy drops may be collected on the
        # event loop's thread; every statement still runs on the connection's own thread.
        connection = OneCallConnection(
            partial(sqlite3.connect, str(Path(database)), timeout=timeout, check_same_thread=False),
            64,
        )
        connection._thread.daemon = True
        await connection
        return connection

    return connect
