"""Units of work: reads that never queue behind writers, and update claims that share commits."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import event, func, insert, select, text

import storage.db
from storage.db import Database, WriteInReadTransaction
from storage.models import ProcessedUpdate, Sector
from storage.updates import ClaimQueue, claim_many
from tests.support import _asyncpg_dsn


async def _sector_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Sector)) or 0)


async def test_a_read_refuses_to_write_and_leaves_nothing(db: Database) -> None:
    with pytest.raises(WriteInReadTransaction):
        async with db.read() as session:
            session.add(Sector(name="只读里写"))
            await session.flush()
    with pytest.raises(WriteInReadTransaction):
        async with db.read() as session:
            await session.execute(insert(Sector).values(name="只读里写"))
    assert await _sector_count(db) == 0
    async with db.transaction() as session:
        session.add(Sector(name="正常写"))
    assert await _sector_count(db) == 1


async def test_a_read_does_not_wait_for_a_writer(db: Database) -> None:
    """While a write transaction is open (a sign-up holding SQLite's writer), a member's view
    is answered from the last commit instead of queueing behind it."""
    writing, finish = asyncio.Event(), asyncio.Event()

    async def slow_writer() -> None:
        async with db.transaction() as session:
            session.add(Sector(name="未提交"))
            await session.flush()
            writing.set()
            await finish.wait()

    writer = asyncio.create_task(slow_writer())
    await writing.wait()
    try:
        # With the writer's lock taken by read(), this would wait until `finish`: never.
        seen = await asyncio.wait_for(_sector_count(db), timeout=10)
    finally:
        finish.set()
        await writer
    assert seen == 0  # the uncommitted row is not visible
    assert await _sector_count(db) == 1


async def test_claims_are_granted_once_and_queued_claims_share_a_commit(db: Database) -> None:
    async with db.transaction() as session:
        assert await claim_many(session, [7]) == {7}
    async with db.transaction() as session:
        assert await claim_many(session, [7]) == set()  # a redelivery

    commits = 0

    def count(_conn: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(db.engine.sync_engine, "commit", count)
    queue = ClaimQueue(db)
    ids = [7, *range(100, 150), 120, 121]  # one redelivery, two ids sent twice meanwhile
    results = await asyncio.gather(*(queue.claim(update_id) for update_id in ids))
    event.remove(db.engine.sync_engine, "commit", count)

    granted = [update_id for update_id, ok in zip(ids, results, strict=True) if ok]
    assert sorted(granted) == list(range(100, 150))  # each new id once, 7 not again
    # 53 claims arriving together: one commit for the first, one for all that queued behind it
    # (one each would be 53).
    assert commits <= 2
    async with db.read() as session:
        stored = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    assert stored == 51


async def test_a_failed_claim_batch_fails_its_claims_and_the_queue_recovers(
    db: Database,
) -> None:
    queue = ClaimQueue(db)
    async with db.transaction() as session:
        await session.execute(text("ALTER TABLE processed_update RENAME TO processed_update_x"))
    outcomes = await asyncio.gather(
        *(queue.claim(update_id) for update_id in range(1, 6)), return_exceptions=True
    )
    assert all(isinstance(outcome, Exception) for outcome in outcomes)
    async with db.transaction() as session:
        await session.execute(text("ALTER TABLE processed_update_x RENAME TO processed_update"))
    # Nothing of the failed batch was recorded: the same updates are handled when they return.
    assert (
        await asyncio.gather(*(queue.claim(update_id) for update_id in range(1, 6))) == [True] * 5
    )


async def test_a_connection_dropped_while_idle_is_replaced_unnoticed(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: a pooled connection the server dropped while it sat idle (a restart, a
    firewall's timeout) is tested and replaced on checkout: the member's request succeeds."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's pooled connections only")
    async with db.read() as session:
        backend = await session.scalar(text("SELECT pg_backend_pid()"))
    admin = await asyncpg.connect(_asyncpg_dsn(db.url))  # the server ends the idle one
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", backend)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)

    monkeypatch.setattr(storage.db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has been idle "long"
    async with db.read() as session:
        assert await session.scalar(text("SELECT 1")) == 1
        assert await session.scalar(text("SELECT pg_backend_pid()")) != backend
