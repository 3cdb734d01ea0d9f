"""Putting messages in the delivery outbox, in the caller's transaction.

Whatever causes a message (a review decision, a notice, a reminder) and the message itself commit
together: a crash can lose neither alone. The delivery worker (bot/delivery.py) sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import utcnow
from storage.models.outbox import OutboxMessage, Priority

Button = dict[str, Any]


def button(key: str, data: str, **params: Any) -> Button:
    """A callback button whose label is a locale key, rendered in the recipient's language."""
    return {"key": key, "params": params, "data": data} if params else {"key": key, "data": data}


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    member_id: int | None = None,
    template: str | None = None,
    params: dict[str, Any] | None = None,
    text: str | None = None,
    buttons: Sequence[Sequence[Button]] | None = None,
    attachment: dict[str, Any] | None = None,
    priority: int = Priority.normal,
    source_type: str | None = None,
    source_id: int | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Add one message; with a dedupe_key already used, add nothing and return None."""
    if (template is None) == (text is None):
        raise ValueError("give exactly one of template or text")
    if dedupe_key is not None:
        existing = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return None
    message = OutboxMessage(
        chat_id=chat_id,
        kind=kind,
        member_id=member_id,
        template=template,
        params=dict(params or {}),
        text=text,
        buttons=[list(row) for row in buttons] if buttons else None,
        attachment=attachment,
        priority=int(priority),
        source_type=source_type,
        source_id=source_id,
        dedupe_key=dedupe_key,
        not_before=not_before or utcnow(),
    )
    session.add(message)
    await session.flush()
    return message
