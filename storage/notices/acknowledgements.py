"""A member's answer to a notice: recorded once, and read back."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.notices import AckMode, Notice, NoticeRecipient, NoticeStatus
from storage.notices.loading import notice_row
from storage.notices.views import NoticeView


class AckOutcome(enum.StrEnum):
    recorded = "recorded"
    already = "already"
    not_recipient = "not_recipient"  # also: notice unknown, forged option, no receipt asked


@dataclass(frozen=True)
class AckResult:
    outcome: AckOutcome
    notice: NoticeView | None = None
    option: int | None = None  # the answer on record
    at: datetime | None = None


async def acknowledge(
    session: AsyncSession, notice_id: int, member_id: int, option: int, *, now: datetime
) -> AckResult:
    """Record a member's answer once; a second press changes nothing and says what is on record."""
    notice = await notice_row(session, notice_id)
    if notice is None or notice.ack_mode is AckMode.none:
        return AckResult(AckOutcome.not_recipient)
    if notice.status in (NoticeStatus.draft, NoticeStatus.scheduled):
        # Not sent to anyone yet: an answer can only come from forged button data.
        return AckResult(AckOutcome.not_recipient)
    view = NoticeView.of(notice)
    if not 0 <= option < view.option_count():
        return AckResult(AckOutcome.not_recipient, view)
    result = await session.execute(
        update(NoticeRecipient)
        .where(
            NoticeRecipient.notice_id == notice_id,
            NoticeRecipient.member_id == member_id,
            NoticeRecipient.acked_at.is_(None),
        )
        .values(ack_option=option, acked_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return AckResult(AckOutcome.recorded, view, option, now)
    earlier = (
        await session.execute(
            select(NoticeRecipient.ack_option, NoticeRecipient.acked_at).where(
                NoticeRecipient.notice_id == notice_id, NoticeRecipient.member_id == member_id
            )
        )
    ).first()
    if earlier is None:
        return AckResult(AckOutcome.not_recipient, view)
    return AckResult(AckOutcome.already, view, earlier[0], earlier[1])


async def answer(session: AsyncSession, notice_id: int, member_id: int) -> AckResult:
    """What a member answered to a notice (outcome `already`), if anything."""
    row = (
        await session.execute(
            select(Notice, NoticeRecipient.ack_option, NoticeRecipient.acked_at)
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .where(Notice.id == notice_id, NoticeRecipient.member_id == member_id)
        )
    ).first()
    if row is None or row[2] is None:
        return AckResult(AckOutcome.not_recipient)
    return AckResult(AckOutcome.already, NoticeView.of(row[0]), row[1], row[2])
