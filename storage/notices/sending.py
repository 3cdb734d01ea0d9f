"""Sending: queueing the notice as one outbox row per recipient (now or at a time), with the
message the caller composed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, identities, outbox
from storage.identities import Address
from storage.members import MemberRef
from storage.models import Identity, Member, Priority
from storage.models.notices import NoticeRecipient, NoticeStatus
from storage.notices.audience import audience_filter
from storage.notices.loading import draft_row
from storage.notices.views import SOURCE, Compose, NoticeView, Problem


async def queue(
    session: AsyncSession,
    actor: MemberRef,
    notice_id: int,
    *,
    now: datetime,
    message: Compose,
    at: datetime | None = None,
) -> NoticeView | Problem:
    """Put one outbox row per recipient in the outbox (due at `at`, or now); the draft is final."""
    notice = await draft_row(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    if not notice.body and notice.attachment is None:
        return Problem.empty
    if notice.audience_kind is None:
        return Problem.no_audience
    if at is not None and at <= now:
        return Problem.in_the_past
    where = audience_filter(notice.audience_kind, list(notice.audience_ids or []))
    people = (
        await session.execute(
            select(Member.id, Identity.channel, Identity.address)
            .join(Identity, identities.preferred(Member.id))
            .where(where)
            .order_by(Member.id)
        )
    ).all()
    if not people:
        return Problem.no_recipients
    outbox_ids = await outbox.fan_out(
        session,
        message(NoticeView.of(notice)),
        [(member_id, Address(channel, address)) for member_id, channel, address in people],
        kind=SOURCE,
        priority=Priority.bulk,
        source_type=SOURCE,
        source_id=notice.id,
        now=now,
        not_before=at,
    )
    recipients = [
        {"notice_id": notice.id, "member_id": member_id, "outbox_id": outbox_ids.get(member_id)}
        for member_id, _, _ in people
    ]
    for start in range(0, len(recipients), outbox.FAN_OUT_BATCH):
        await session.execute(
            insert(NoticeRecipient), recipients[start : start + outbox.FAN_OUT_BATCH]
        )
    notice.status = NoticeStatus.scheduled if at is not None else NoticeStatus.sending
    notice.scheduled_at = at
    notice.queued_at = now
    notice.recipient_count = len(people)
    await audit.record(
        session,
        actor.actor,
        "notice.schedule" if at is not None else "notice.send",
        object_type="notice",
        object_id=notice.id,
        recipients=len(people),
        audience=notice.audience_kind.value,
        at=at.isoformat() if at else None,
    )
    await session.flush()
    return NoticeView.of(notice)
