"""Sending: the message and acknowledgement buttons members get, and queueing the
notice as one outbox row per recipient (now or at a time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, identities, outbox
from storage.members import MemberRef
from storage.models import DeliveryStatus, Identity, Member, OutboxMessage, Priority
from storage.models.notices import AckMode, NoticeRecipient, NoticeStatus
from storage.notices.audience import audience_filter
from storage.notices.loading import draft_row
from storage.notices.views import SOURCE, AckData, NoticeView, Problem
from storage.outbox import Button, button


def message_template(view: NoticeView, *, reminder: bool = False) -> str:
    if reminder:
        return "notices.reminder"
    return "notices.message_ack" if view.asks_ack else "notices.message"


def ack_buttons(view: NoticeView, ack_data: AckData) -> list[list[Button]]:
    """The reply buttons members get: "received", or one per staff-written option."""
    if view.ack_mode is AckMode.received:
        return [[button("notices.ack_button", ack_data(view.id, 0))]]
    if view.ack_mode is AckMode.options:
        return [
            [{"label": label, "data": ack_data(view.id, index)}]
            for index, label in enumerate(view.ack_options)
        ]
    return []


async def queue(
    session: AsyncSession,
    actor: MemberRef,
    notice_id: int,
    *,
    now: datetime,
    ack_data: AckData,
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
    view = NoticeView.of(notice)
    buttons = ack_buttons(view, ack_data) or None
    template = message_template(view)
    params = {"body": outbox.formatted(notice.body)}
    rows = [
        {
            "kind": SOURCE,
            "priority": int(Priority.bulk),
            "member_id": member_id,
            "channel": channel,
            "address": address,
            "template": template,
            "params": params,
            "buttons": buttons,
            "attachment": notice.attachment,
            "source_type": SOURCE,
            "source_id": notice.id,
            "not_before": at,
            "status": DeliveryStatus.pending,
            "attempts": 0,
            # The caller's clock: the outage horizon counts from here (or from `at`).
            "created_at": now,
        }
        for member_id, channel, address in people
    ]
    outbox_ids: dict[int, int] = {}
    for start in range(0, len(rows), 2000):
        result = await session.execute(
            insert(OutboxMessage).returning(OutboxMessage.id, OutboxMessage.member_id),
            rows[start : start + 2000],
        )
        outbox_ids.update({int(m or 0): row_id for row_id, m in result})
    recipients = [
        {"notice_id": notice.id, "member_id": member_id, "outbox_id": outbox_ids.get(member_id)}
        for member_id, _, _ in people
    ]
    for start in range(0, len(recipients), 2000):
        await session.execute(insert(NoticeRecipient), recipients[start : start + 2000])
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
