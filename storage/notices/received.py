"""The notices a member received, as they received them ("my notices")."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DeliveryStatus, OutboxMessage
from storage.models.notices import Notice, NoticeRecipient
from storage.notices.loading import delivery_join
from storage.notices.views import NoticeView


@dataclass(frozen=True)
class ReceivedNotice:
    """A notice as one member received it."""

    notice: NoticeView
    sent_at: datetime | None
    ack_option: int | None
    acked_at: datetime | None


async def received_by(
    session: AsyncSession, member_id: int, *, limit: int = 10
) -> list[ReceivedNotice]:
    """The notices a member received, newest first (for "my notices")."""
    rows = await session.execute(
        select(Notice, OutboxMessage.sent_at, NoticeRecipient.ack_option, NoticeRecipient.acked_at)
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .join(OutboxMessage, delivery_join())
        .where(
            NoticeRecipient.member_id == member_id,
            OutboxMessage.status == DeliveryStatus.sent,
        )
        .order_by(OutboxMessage.sent_at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return [ReceivedNotice(NoticeView.of(n), at, opt, acked) for n, at, opt, acked in rows]


async def received_one(
    session: AsyncSession, member_id: int, notice_id: int
) -> ReceivedNotice | None:
    """One notice as this member received it; None if it was never delivered to them."""
    for item in await received_by_ids(session, member_id, [notice_id]):
        return item
    return None


async def received_by_ids(
    session: AsyncSession, member_id: int, notice_ids: Collection[int]
) -> list[ReceivedNotice]:
    rows = await session.execute(
        select(Notice, OutboxMessage.sent_at, NoticeRecipient.ack_option, NoticeRecipient.acked_at)
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .join(OutboxMessage, delivery_join())
        .where(
            NoticeRecipient.member_id == member_id,
            Notice.id.in_(list(notice_ids)),
            OutboxMessage.status == DeliveryStatus.sent,
        )
    )
    return [ReceivedNotice(NoticeView.of(n), at, opt, acked) for n, at, opt, acked in rows]
