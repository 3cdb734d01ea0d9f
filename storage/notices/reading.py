"""Staff reading notices: one notice, the recent ones, its statistics, and its recipients
with their delivery and answer (all, or one category)."""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.members import MemberRef
from storage.models import DeliveryStatus, Identity, Member, OutboxMessage, Sector
from storage.models.notices import Notice, NoticeRecipient, NoticeStatus
from storage.notices.audience import audience_filter
from storage.notices.loading import delivery_join, is_staff, notice_row
from storage.notices.views import UNSENT, NoticeView, Problem


class Category(enum.StrEnum):
    """Lists staff can open on a notice's statistics."""

    delivered = "delivered"
    acknowledged = "acknowledged"
    silent = "silent"  # delivered, not acknowledged
    unreachable = "unreachable"
    failed = "failed"
    waiting = "waiting"  # not sent yet


@dataclass(frozen=True)
class Stats:
    total: int
    delivered: int
    waiting: int
    failed: int
    unreachable: int
    cancelled: int
    acknowledged: int
    silent: int
    by_option: tuple[int, ...]

    @property
    def finished(self) -> bool:
        return self.waiting == 0


@dataclass(frozen=True)
class RecipientLine:
    member_id: int
    name: str
    phone: str | None
    sector: str | None
    delivery: DeliveryStatus | None
    sent_at: datetime | None
    error: str | None
    ack_option: int | None
    acked_at: datetime | None
    # False for a member of the audience the notice never went to (see not_reached).
    on_bot: bool = True


async def get(session: AsyncSession, actor: MemberRef, notice_id: int) -> NoticeView | Problem:
    if not is_staff(actor):
        return Problem.forbidden
    notice = await notice_row(session, notice_id)
    return NoticeView.of(notice) if notice is not None else Problem.not_found


async def recent(session: AsyncSession, actor: MemberRef, *, limit: int = 10) -> list[NoticeView]:
    """The latest notices that were sent or scheduled (staff only; members get [])."""
    if not is_staff(actor):
        return []
    rows = await session.scalars(
        select(Notice)
        .where(Notice.status != NoticeStatus.draft)
        .order_by(Notice.id.desc())
        .limit(limit)
    )
    return [NoticeView.of(n) for n in rows]


async def stats(session: AsyncSession, notice_id: int) -> Stats:
    rows = await session.execute(
        select(OutboxMessage.status, NoticeRecipient.ack_option, func.count())
        .select_from(NoticeRecipient)
        .outerjoin(OutboxMessage, delivery_join())
        .where(NoticeRecipient.notice_id == notice_id)
        .group_by(OutboxMessage.status, NoticeRecipient.ack_option)
    )
    delivery: Counter[DeliveryStatus | None] = Counter()
    options: Counter[int] = Counter()
    silent = 0
    total = 0
    for status, option, n in rows:
        total += n
        delivery[status] += n
        if option is not None:
            options[option] += n
        elif status is DeliveryStatus.sent:
            silent += n
    notice = await notice_row(session, notice_id)
    width = NoticeView.of(notice).option_count() if notice else 1
    return Stats(
        total=total,
        delivered=delivery[DeliveryStatus.sent],
        waiting=delivery[DeliveryStatus.pending] + delivery[DeliveryStatus.sending],
        failed=delivery[DeliveryStatus.failed],
        unreachable=delivery[DeliveryStatus.unreachable],
        cancelled=delivery[DeliveryStatus.cancelled],
        acknowledged=sum(options.values()),
        silent=silent,
        by_option=tuple(options[i] for i in range(width)),
    )


_CATEGORY_FILTERS: dict[Category, Any] = {
    Category.delivered: OutboxMessage.status == DeliveryStatus.sent,
    Category.acknowledged: NoticeRecipient.acked_at.is_not(None),
    Category.silent: and_(
        OutboxMessage.status == DeliveryStatus.sent, NoticeRecipient.acked_at.is_(None)
    ),
    Category.unreachable: OutboxMessage.status == DeliveryStatus.unreachable,
    Category.failed: OutboxMessage.status == DeliveryStatus.failed,
    Category.waiting: or_(OutboxMessage.status.in_(UNSENT), OutboxMessage.id.is_(None)),
}


async def recipients(
    session: AsyncSession, notice_id: int, category: Category | None = None
) -> list[RecipientLine]:
    """Recipients of a notice with their delivery and answer, ordered by name."""
    stmt = (
        select(
            Member.id,
            Member.name,
            Member.phone,
            Sector.name,
            OutboxMessage.status,
            OutboxMessage.sent_at,
            OutboxMessage.last_error,
            NoticeRecipient.ack_option,
            NoticeRecipient.acked_at,
        )
        .select_from(NoticeRecipient)
        .join(Member, Member.id == NoticeRecipient.member_id)
        .outerjoin(Sector, Sector.id == Member.sector_id)
        .outerjoin(OutboxMessage, delivery_join())
        .where(NoticeRecipient.notice_id == notice_id)
        .order_by(Member.name, Member.id)
    )
    if category is not None:
        stmt = stmt.where(_CATEGORY_FILTERS[category])
    return [RecipientLine(*row) for row in await session.execute(stmt)]


async def not_reached(session: AsyncSession, notice_id: int) -> list[RecipientLine]:
    """Members of the notice's audience it was not sent to, ordered by name: they were on no
    channel when it went out (not using the bot yet), so staff tell them another way. A line's
    on_bot says whether the member has started using the bot since."""
    notice = await notice_row(session, notice_id)
    if notice is None or notice.status is NoticeStatus.draft:
        return []
    where = audience_filter(notice.audience_kind, list(notice.audience_ids or []))
    sent = select(NoticeRecipient.member_id).where(NoticeRecipient.notice_id == notice_id)
    bound = exists().where(Identity.member_id == Member.id)
    rows = await session.execute(
        select(Member.id, Member.name, Member.phone, Sector.name, bound)
        .outerjoin(Sector, Sector.id == Member.sector_id)
        .where(where, Member.id.not_in(sent))
        .order_by(Member.name, Member.id)
    )
    return [
        RecipientLine(
            member_id, name, phone, sector, None, None, None, None, None, on_bot=bool(on_bot)
        )
        for member_id, name, phone, sector, on_bot in rows
    ]
