"""CPU time of one small unit of work: the "who is this user" lookup every update makes.

Each unit of work is one transaction with one indexed query, run back to back from one task, as
the bot's units of work are (its own short transactions on SQLite run on the event loop's
thread, a snapshot's on the connection's thread; see storage/sqlite_driver.py). Printed per
kind: CPU microseconds per transaction (process time: both threads), and the same ORM work on
SQLAlchemy's plain synchronous engine for comparison.

    .venv/bin/python -m benchmarks.transaction_cost [--db postgresql] [--rounds 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from benchmarks.common import machine, scratch_database
from bot.channels import telegram_account
from storage import members
from storage.members import _WHO

Unit = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def _cpu_per_unit(unit: Unit, rounds: int) -> float:
    async def once() -> None:
        async with unit() as session:
            await members.who(session, telegram_account(5_000_000))

    for _ in range(200):  # warm the pool and the statement caches
        await once()
    started = time.process_time()
    for _ in range(rounds):
        await once()
    return (time.process_time() - started) / rounds * 1e6


def _sync_cpu_per_unit(url: str, rounds: int) -> float:
    engine = create_engine(url)
    try:
        for _ in range(200):
            with Session(engine) as session, session.begin():
                session.execute(_WHO, {"channel": "telegram", "external_id": "5000000"}).first()
        started = time.process_time()
        for _ in range(rounds):
            with Session(engine) as session, session.begin():
                session.execute(_WHO, {"channel": "telegram", "external_id": "5000000"}).first()
        return (time.process_time() - started) / rounds * 1e6
    finally:
        engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"database: {args.db}; {args.rounds} transactions of one query each")
    with tempfile.TemporaryDirectory() as folder:
        async with scratch_database(args.db, Path(folder)) as db:
            kinds: list[tuple[str, Unit]] = [
                ("Database.transaction()", db.transaction),
                ("Database.read()", db.read),
                ("Database.snapshot()", db.snapshot),
            ]
            for label, unit in kinds:
                cpu = await _cpu_per_unit(unit, args.rounds)
                print(f"{label:26} {cpu:7.1f} µs CPU per transaction")
            if args.db == "sqlite":
                cpu = _sync_cpu_per_unit(db.url.replace("+aiosqlite", ""), args.rounds)
                print(f"{'sync SQLAlchemy (no asyncio)':26} {cpu:7.1f} µs CPU per transaction")


if __name__ == "__main__":
    asyncio.run(main())
