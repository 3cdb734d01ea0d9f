"""The audit log of staff actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditLog

if TYPE_CHECKING:
    from storage.identities import Account


@dataclass(frozen=True)
class Actor:
    """Who did something: a roster member, an account on a channel (channel, external_id), or
    the command line (all None)."""

    member_id: int | None = None
    channel: str | None = None
    external_id: str | None = None

    @classmethod
    def cli(cls) -> Actor:
        return cls()

    @classmethod
    def of(cls, member_id: int | None, account: Account | None) -> Actor:
        if account is None:
            return cls(member_id)
        return cls(member_id, account.channel, account.external_id)

    @property
    def is_cli(self) -> bool:
        return self.member_id is None and self.external_id is None


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
            actor_channel=actor.channel,
            actor_external_id=actor.external_id,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            details={k: v for k, v in details.items() if v is not None},
        )
    )
