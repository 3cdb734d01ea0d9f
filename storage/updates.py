"""Update ids already handled, so Telegram redelivering one (webhook retry, polling after a
crash) has one effect and one reply."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, UpsertStatement
from storage.models import ProcessedUpdate, utcnow

# Telegram keeps undelivered updates for 24 hours; remembering ids for two days covers it.
KEEP_FOR = timedelta(days=2)
PRUNE_EVERY = 500


def _claim_statement(insert: Any) -> Any:
    return insert(ProcessedUpdate).on_conflict_do_nothing().returning(ProcessedUpdate.update_id)


# Built once: this runs for every update.
_CLAIM = UpsertStatement(_claim_statement)


async def claim_many(session: AsyncSession, update_ids: Collection[int]) -> set[int]:
    """Record update ids as handled; returns those that were not yet (the rest are
    redeliveries). One statement for the whole batch."""
    if not update_ids:
        return set()
    at = utcnow()
    rows = [{"update_id": update_id, "at": at} for update_id in update_ids]
    claimed = set((await session.execute(_CLAIM.of(session), rows)).scalars())
    if any(update_id % PRUNE_EVERY == 0 for update_id in claimed):
        await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < at - KEEP_FOR))
    return claimed


class ClaimQueue:
    """Claims of updates that arrive together share one transaction (a group commit).

    Every update is claimed before its handlers run, so one write transaction each would
    queue every update behind every other on SQLite's single writer. Here a claim waits for
    the transaction in progress to finish and goes in the next one with everything that
    arrived meanwhile: under load, tens of updates per commit; alone, one."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: dict[int, list[asyncio.Future[bool]]] = {}
        self._writer: asyncio.Task[None] | None = None

    async def claim(self, update_id: int) -> bool:
        """True once the id is durably recorded as handled here; False for a redelivery.
        Raises what the database raised (the caller answers "try again")."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(update_id, []).append(future)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="update-claims")
        return await future

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch: dict[int, list[asyncio.Future[bool]]] = {}
                try:
                    async with self._db.transaction() as session:
                        # Taken once the writer is ours: everything that queued up meanwhile.
                        batch, self._waiting = self._waiting, {}
                        claimed = await claim_many(session, batch)
                except BaseException as exc:
                    _fail(batch, exc)
                    if not isinstance(exc, Exception):
                        _fail(self._waiting, exc)  # cancelled at shutdown: nobody waits forever
                        raise
                    continue
                for update_id, futures in batch.items():
                    for index, future in enumerate(futures):
                        # The same id twice in one batch: the first is handled, the rest dropped.
                        if not future.done():  # (done: its handler was cancelled)
                            future.set_result(index == 0 and update_id in claimed)
        finally:
            self._writer = None


def _fail(batch: dict[int, list[asyncio.Future[bool]]], exc: BaseException) -> None:
    for futures in batch.values():
        for future in futures:
            if future.done():
                continue
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
