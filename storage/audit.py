"""The audit log of staff actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditLog


@dataclass(frozen=True)
class Actor:
    """Who did something: a roster member, a Telegram account, or the command line (both None)."""

    member_id: int | None = None
    telegram_id: int | None = None

    @classmethod
    def cli(cls) -> Actor:
        return cls()


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object = None,
    **details: Any,
) -> None:
    """Add an audit row in the caller's transaction (it commits with the action it describes)."""
    session.add(
        AuditLog(
            actor_member_id=actor.member_id,
            actor_telegram_id=actor.telegram_id,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            details={k: v for k, v in details.items() if v is not None},
        )
    )
