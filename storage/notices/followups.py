"""What staff do with a notice once it is queued: cancel what is not sent yet, remind
the members who have not answered, put failed messages back in the queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, identities, outbox
from storage.audit import Actor
from storage.identities import Address
from storage.members import MemberRef
from storage.models import DeliveryStatus, Identity, Member, OutboxMessage, Priority
from storage.models.notices import AckMode, NoticeRecipient, NoticeStatus
from storage.notices.loading import is_staff, notice_row
from storage.notices.views import OPEN, REMIND_SOURCE, SOURCE, UNSENT, Compose, NoticeView, Problem


async def cancel(
    session: AsyncSession, actor: MemberRef, notice_id: int, *, now: datetime
) -> tuple[NoticeView, int] | Problem:
    """Stop a scheduled or half-sent notice: whatever is not sent yet is not sent."""
    if not is_staff(actor):
        return Problem.forbidden
    notice = await notice_row(session, notice_id, lock=True)
    if notice is None:
        return Problem.not_found
    if notice.status not in OPEN:
        return Problem.not_open
    # Rows a worker already holds are cancelled too: it checks before sending and drops them.
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.source_type.in_((SOURCE, REMIND_SOURCE)),
            OutboxMessage.source_id == notice.id,
            OutboxMessage.status.in_(UNSENT),
        )
        .values(status=DeliveryStatus.cancelled)
        .execution_options(synchronize_session=False)
    )
    stopped = int(result.rowcount)  # type: ignore[attr-defined]
    notice.status = NoticeStatus.cancelled
    notice.cancelled_at = now
    await audit.record(
        session,
        actor.actor,
        "notice.cancel",
        object_type="notice",
        object_id=notice.id,
        not_sent=stopped,
    )
    await session.flush()
    return NoticeView.of(notice), stopped


async def remind(
    session: AsyncSession,
    actor: MemberRef | None,
    notice_id: int,
    *,
    now: datetime,
    message: Compose,
    not_before: datetime | None = None,
) -> int | Problem:
    """Send the notice again, as a reminder, to members who have not answered: those who got
    it, and those it failed to reach (Telegram unreachable past the horizon) — for them the
    reminder, which carries the whole text, is the notice.

    actor None is the scheduler's automatic re-remind (storage.reminders); anyone else must be
    staff. not_before holds the reminders back (quiet hours)."""
    if actor is not None and not is_staff(actor):
        return Problem.forbidden
    notice = await notice_row(session, notice_id, lock=True)
    if notice is None:
        return Problem.not_found
    if notice.ack_mode is AckMode.none:
        return Problem.no_ack
    if notice.status in (NoticeStatus.draft, NoticeStatus.cancelled):
        return Problem.not_open
    silent = (
        await session.execute(
            select(NoticeRecipient.id, Member.id, Identity.channel, Identity.address)
            .join(Member, Member.id == NoticeRecipient.member_id)
            .join(Identity, identities.preferred(Member.id))
            .join(OutboxMessage, OutboxMessage.id == NoticeRecipient.outbox_id)
            .where(
                NoticeRecipient.notice_id == notice.id,
                NoticeRecipient.acked_at.is_(None),
                OutboxMessage.status.in_((DeliveryStatus.sent, DeliveryStatus.failed)),
                Member.active.is_(True),
            )
        )
    ).all()
    if not silent:
        return Problem.nobody_silent
    await outbox.fan_out(
        session,
        message(NoticeView.of(notice)),
        [(member_id, Address(channel, address)) for _, member_id, channel, address in silent],
        kind=REMIND_SOURCE,
        priority=Priority.bulk,
        source_type=REMIND_SOURCE,
        source_id=notice.id,
        now=now,
        not_before=not_before,
    )
    await session.execute(
        update(NoticeRecipient)
        .where(NoticeRecipient.id.in_([r for r, *_ in silent]))
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    notice.reminders += 1
    await audit.record(
        session,
        actor.actor if actor is not None else Actor(),
        "notice.remind",
        object_type="notice",
        object_id=notice.id,
        recipients=len(silent),
    )
    return len(silent)


async def resend_failed(
    session: AsyncSession, actor: MemberRef, notice_id: int, *, now: datetime
) -> int | Problem:
    """Staff: put the notice's failed messages back in the queue, due now (a fresh horizon).

    Only rows that failed (never unreachable ones: the member blocked the bot), only for a
    notice that went out, and the rows are reused, so the statistics follow them."""
    if not is_staff(actor):
        return Problem.forbidden
    notice = await notice_row(session, notice_id, lock=True)
    if notice is None:
        return Problem.not_found
    if notice.status not in (NoticeStatus.sending, NoticeStatus.done):
        return Problem.not_open
    failed = select(NoticeRecipient.outbox_id).where(
        NoticeRecipient.notice_id == notice.id, NoticeRecipient.outbox_id.is_not(None)
    )
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(failed),
            OutboxMessage.source_type == SOURCE,
            OutboxMessage.source_id == notice.id,
            OutboxMessage.status == DeliveryStatus.failed,
        )
        .values(
            status=DeliveryStatus.pending,
            not_before=now,
            attempts=0,
            claimed_at=None,
            claimed_by=None,
        )
        .execution_options(synchronize_session=False)
    )
    n = int(result.rowcount)  # type: ignore[attr-defined]
    if not n:
        return Problem.nothing_failed
    await audit.record(
        session,
        actor.actor,
        "notice.resend_failed",
        object_type="notice",
        object_id=notice.id,
        recipients=n,
    )
    return n
