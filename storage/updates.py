"""Update ids already handled, so Telegram redelivering one (webhook retry, polling after a
crash) has one effect and one reply."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import UpsertStatement
from storage.models import ProcessedUpdate, utcnow

# Telegram keeps undelivered updates for 24 hours; remembering ids for two days covers it.
KEEP_FOR = timedelta(days=2)
PRUNE_EVERY = 500


def _claim_statement(insert: Any) -> Any:
    return (
        insert(ProcessedUpdate)
        .values(update_id=bindparam("update_id"), at=bindparam("at"))
        .on_conflict_do_nothing()
        .returning(ProcessedUpdate.update_id)
    )


# Built once: this runs before every update.
_CLAIM = UpsertStatement(_claim_statement)


async def claim(session: AsyncSession, update_id: int) -> bool:
    """Record update_id as handled; False when it already was (a redelivery).

    One statement: this runs before every update, so a check-then-insert would double it."""
    claimed = await session.scalar(_CLAIM.of(session), {"update_id": update_id, "at": utcnow()})
    if claimed is None:
        return False
    if update_id % PRUNE_EVERY == 0:
        await session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.at < utcnow() - KEEP_FOR)
        )
    return True
