"""The inbox: raw updates written before Telegram is told they arrived, removed once handled."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import upsert_insert
from storage.models import InboxUpdate, utcnow


async def keep(session: AsyncSession, payloads: Sequence[dict[str, Any]]) -> None:
    """Store updates by id; one already stored (a redelivery) is left as it is."""
    rows = [
        {"update_id": int(p["update_id"]), "payload": p, "received_at": utcnow()}
        for p in payloads
        if isinstance(p, dict) and "update_id" in p
    ]
    if not rows:
        return
    # executemany: one cached statement whatever the batch size.
    await session.execute(upsert_insert(session)(InboxUpdate).on_conflict_do_nothing(), rows)


async def waiting(session: AsyncSession) -> list[dict[str, Any]]:
    """Every stored update, oldest first (what a crash left unhandled)."""
    rows = await session.scalars(select(InboxUpdate.payload).order_by(InboxUpdate.update_id))
    return list(rows)


async def forget(session: AsyncSession, update_ids: Collection[int]) -> None:
    """Handled: these need not be kept any longer."""
    ids = list(update_ids)
    for start in range(0, len(ids), 500):
        await session.execute(
            delete(InboxUpdate).where(InboxUpdate.update_id.in_(ids[start : start + 500]))
        )
