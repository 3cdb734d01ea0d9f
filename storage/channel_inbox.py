"""Messages another channel posted (WeCom callbacks), kept from arrival until handled.

A channel that pushes messages (instead of being polled) retries what it thinks was not
received; each message is stored once under the channel's own de-duplication key, so a retry
finds it stored and has no effect. Handling is claimed before it begins: a restart replays
only messages never begun (like Telegram's inbox: a crash inside a handler loses at most that
message, never repeats it). Rows stay a while after handling so late retries still match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import upsert_insert
from storage.models import ChannelChoice, ChannelMessage, utcnow

# Retries come within seconds; a day covers any WeCom retry with room to spare.
KEEP_HANDLED = timedelta(days=1)


@dataclass(frozen=True)
class Kept:
    id: int
    sender: str
    payload: dict[str, Any]


async def keep(
    session: AsyncSession, channel: str, dedupe_key: str, sender: str, payload: dict[str, Any]
) -> int | None:
    """Store a message; its id, or None when one with that key is stored already (a retry)."""
    statement = (
        upsert_insert(session)(ChannelMessage)
        .values(
            channel=channel,
            dedupe_key=dedupe_key[:255],
            sender=sender[:128],
            payload=payload,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(ChannelMessage.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def claim(session: AsyncSession, message_id: int, *, now: datetime | None = None) -> bool:
    """Handling of the message begins; False when it had begun before (never handle twice)."""
    result = await session.execute(
        update(ChannelMessage)
        .where(ChannelMessage.id == message_id, ChannelMessage.claimed_at.is_(None))
        .values(claimed_at=now or utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


async def waiting(session: AsyncSession, channel: str) -> list[Kept]:
    """Messages stored and never begun (a stop or a crash came first), oldest first."""
    rows = await session.scalars(
        select(ChannelMessage)
        .where(ChannelMessage.channel == channel, ChannelMessage.claimed_at.is_(None))
        .order_by(ChannelMessage.id)
    )
    return [Kept(r.id, r.sender, r.payload) for r in rows]


async def purge(session: AsyncSession, *, now: datetime | None = None) -> None:
    """Forget handled messages old enough that no retry of them can come any more."""
    before = (now or utcnow()) - KEEP_HANDLED
    await session.execute(
        delete(ChannelMessage).where(
            ChannelMessage.claimed_at.is_not(None), ChannelMessage.received_at < before
        )
    )


async def offer_choices(
    session: AsyncSession, channel: str, external_id: str, actions: list[str]
) -> None:
    """Remember the numbered choices just shown to the account (replacing earlier ones)."""
    await session.execute(
        delete(ChannelChoice).where(
            ChannelChoice.channel == channel, ChannelChoice.external_id == external_id
        )
    )
    if actions:
        session.add(
            ChannelChoice(
                channel=channel, external_id=external_id, choices=actions, offered_at=utcnow()
            )
        )
        await session.flush()


async def choice(session: AsyncSession, channel: str, external_id: str, number: int) -> str | None:
    """The action numbered `number` (from 1) in the choices last offered, if any."""
    offered = await session.scalar(
        select(ChannelChoice.choices).where(
            ChannelChoice.channel == channel, ChannelChoice.external_id == external_id
        )
    )
    if not offered or not 1 <= number <= len(offered):
        return None
    return str(offered[number - 1])
