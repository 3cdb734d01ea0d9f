"""Quarantine: incoming updates that could not be parsed, kept with the error for an admin.

An update a channel library cannot read must not hold up the ones behind it (polling would
retry the same batch forever). It is stored here, once per (channel, update id), and the rest
flow on. Admins list and drop them (`cppcc-bot updates quarantine [--drop ID]`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import upsert_insert
from storage.models import QuarantinedUpdate, utcnow

# What is kept of an error message: enough to see what the library disliked.
ERROR_MAX_CHARS = 2000


@dataclass(frozen=True)
class Quarantined:
    """One quarantined update, as listed to an admin."""

    id: int
    channel: str
    update_id: int | None
    kind: str
    error: str
    received_at: datetime
    raw_size: int


async def keep(
    session: AsyncSession,
    *,
    channel: str,
    update_id: int | None,
    kind: str,
    raw: str,
    error: str,
) -> bool:
    """Store one unparsable update; False when this one was quarantined before (a
    redelivery of the same id), so the caller logs it only once."""
    statement = (
        upsert_insert(session)(QuarantinedUpdate)
        .values(
            channel=channel,
            update_id=update_id,
            kind=kind[:64],
            raw=raw,
            error=error[:ERROR_MAX_CHARS],
            received_at=utcnow(),
        )
        # Without an id (NULL) nothing conflicts: such an update is always a new row.
        .on_conflict_do_nothing()
        .returning(QuarantinedUpdate.id)
    )
    return (await session.execute(statement)).scalar() is not None


async def listed(session: AsyncSession, *, limit: int = 100) -> list[Quarantined]:
    """The quarantined updates, oldest first."""
    rows = await session.scalars(
        select(QuarantinedUpdate).order_by(QuarantinedUpdate.id).limit(limit)
    )
    return [
        Quarantined(
            id=row.id,
            channel=row.channel,
            update_id=row.update_id,
            kind=row.kind,
            error=row.error,
            received_at=row.received_at,
            raw_size=len(row.raw),
        )
        for row in rows
    ]


async def raw_of(session: AsyncSession, quarantine_id: int) -> str | None:
    """The raw text of one quarantined update (for an admin who asked for it explicitly)."""
    return await session.scalar(
        select(QuarantinedUpdate.raw).where(QuarantinedUpdate.id == quarantine_id)
    )


async def drop(session: AsyncSession, quarantine_ids: Sequence[int]) -> int:
    """Remove quarantined updates; returns how many there were."""
    if not quarantine_ids:
        return 0
    result = await session.execute(
        delete(QuarantinedUpdate)
        .where(QuarantinedUpdate.id.in_(list(quarantine_ids)))
        .returning(QuarantinedUpdate.id)
    )
    return len(result.all())
