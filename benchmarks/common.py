"""Shared pieces of the benchmark scripts: the machine they ran on, percentiles, databases."""

from __future__ import annotations

import os
import platform
import statistics
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Identity, Member, utcnow

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def machine() -> str:
    """One line naming the machine: CPU model, cores, memory, Python."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


@asynccontextmanager
async def scratch_database(kind: str, folder: Path) -> AsyncIterator[Database]:
    """A migrated empty database (SQLite file or a fresh PostgreSQL database), removed after."""
    if kind == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(db.engine)
        try:
            yield db
        finally:
            await db.dispose()
        return
    dsn = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    db = Database(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    try:
        await upgrade(db.engine)
        yield db
    finally:
        await db.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def insert_bound_members(
    session: AsyncSession, rows: list[dict[str, object]], telegram_ids: list[int]
) -> list[int]:
    """Members (rows of Member columns) each bound to a Telegram account (its private chat has
    the user's id), in bulk; their ids, in the order given."""
    ids: list[int] = []
    for start in range(0, len(rows), 2000):
        result = await session.execute(
            insert(Member).returning(Member.id, sort_by_parameter_order=True),
            rows[start : start + 2000],
        )
        ids.extend(result.scalars())
    now = utcnow()
    accounts = [
        {
            "member_id": member_id,
            "channel": "telegram",
            "external_id": str(user_id),
            "address": str(user_id),
            "bound_at": now,
        }
        for member_id, user_id in zip(ids, telegram_ids, strict=True)
    ]
    for start in range(0, len(accounts), 2000):
        await session.execute(insert(Identity), accounts[start : start + 2000])
    return ids
