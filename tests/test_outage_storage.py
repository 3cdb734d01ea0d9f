"""What an outage leaves behind, on SQLite and PostgreSQL: failed rows staff can resend, the
re-remind that reaches them, and the horizon that fails what waited too long."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.channels import TELEGRAM, telegram_address
from handlers.notices import messages as notice_messages
from storage import notices, outbox
from storage.db import Database
from storage.members import MemberRef
from storage.models import AuditLog, DeliveryStatus, NoticeRecipient, OutboxMessage
from storage.models.notices import AckMode, AudienceKind
from storage.notices import Problem
from tests.support import FakeClock
from tests.test_notices_storage import roster, staff_ref


async def sent_notice(db: Database, staff: MemberRef, clock: FakeClock) -> int:
    """A notice with a "received" button to everyone bound: a (101), b (102), c (103), staff (9)."""
    async with db.transaction() as session:
        draft = await notices.open_draft(session, staff)
        assert not isinstance(draft, Problem)
        await notices.set_body(session, staff, draft.id, html="开会", visible_length=2)
        await notices.set_audience(session, staff, draft.id, AudienceKind.everyone)
        await notices.set_ack(session, staff, draft.id, AckMode.received)
        view = await notices.queue(
            session, staff, draft.id, now=clock(), message=notice_messages.message
        )
        assert not isinstance(view, Problem)
        return view.id


async def settle(db: Database, notice_id: int, by_chat: dict[int, DeliveryStatus]) -> None:
    """Outcomes as the worker records them: chat -> status."""
    async with db.transaction() as session:
        for chat, status in by_chat.items():
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.source_id == notice_id,
                    OutboxMessage.channel == TELEGRAM,
                    OutboxMessage.address == str(chat),
                )
                .values(status=status, last_error="NetworkError: Bad Gateway")
            )


async def test_staff_resend_only_the_failed_rows_once_audited(db: Database) -> None:
    clock = FakeClock()
    ids = await roster(db)
    staff = await staff_ref(db, ids)
    member = await staff_ref(db, ids, "a")
    notice_id = await sent_notice(db, staff, clock)
    await settle(
        db,
        notice_id,
        {9: DeliveryStatus.sent, 101: DeliveryStatus.failed, 102: DeliveryStatus.unreachable},
    )
    await settle(db, notice_id, {103: DeliveryStatus.failed})
    clock.advance(days=3)  # staff come back to it days later: a fresh horizon from now

    async with db.transaction() as session:
        assert await notices.resend_failed(session, member, notice_id, now=clock()) is (
            Problem.forbidden
        )
        assert await notices.resend_failed(session, staff, notice_id, now=clock()) == 2
    async with db.transaction() as session:
        rows = {
            int(chat): (status, not_before, attempts)
            for chat, status, not_before, attempts in await session.execute(
                select(
                    OutboxMessage.address,
                    OutboxMessage.status,
                    OutboxMessage.not_before,
                    OutboxMessage.attempts,
                ).where(OutboxMessage.source_id == notice_id, OutboxMessage.channel == TELEGRAM)
            )
        }
        audit = list(
            await session.scalars(select(AuditLog).where(AuditLog.action == "notice.resend_failed"))
        )
        stats = await notices.stats(session, notice_id)
    assert rows[101] == (DeliveryStatus.pending, clock(), 0)
    assert rows[103] == (DeliveryStatus.pending, clock(), 0)
    assert rows[9][0] is DeliveryStatus.sent and rows[102][0] is DeliveryStatus.unreachable
    assert stats.failed == 0 and stats.waiting == 2  # the card counts them as waiting again
    assert [(a.actor_member_id, a.details["recipients"]) for a in audit] == [(ids["staff"], 2)]
    # Claimed again, the horizon counts from the resend.
    async with db.transaction() as session:
        claimed = await outbox.claim(session, worker="w", now=clock(), limit=10)
    assert {c.to: c.due_at for c in claimed} == {
        telegram_address(101): clock(),
        telegram_address(103): clock(),
    }

    async with db.transaction() as session:
        again = await notices.resend_failed(session, staff, notice_id, now=clock())
    assert again is Problem.nothing_failed


async def test_re_remind_reaches_those_the_notice_failed_to_reach(db: Database) -> None:
    clock = FakeClock()
    ids = await roster(db)
    staff = await staff_ref(db, ids)
    notice_id = await sent_notice(db, staff, clock)
    await settle(
        db,
        notice_id,
        {
            9: DeliveryStatus.sent,
            101: DeliveryStatus.sent,
            102: DeliveryStatus.failed,
            103: DeliveryStatus.unreachable,
        },
    )
    async with db.transaction() as session:
        await session.execute(
            update(NoticeRecipient)
            .where(NoticeRecipient.member_id == ids["staff"])
            .values(acked_at=clock(), ack_option=0)
        )
    async with db.transaction() as session:
        n = await notices.remind(
            session, staff, notice_id, now=clock(), message=notice_messages.reminder
        )
        chats = {
            (channel, address)
            for channel, address in await session.execute(
                select(OutboxMessage.channel, OutboxMessage.address).where(
                    OutboxMessage.source_type == notices.REMIND_SOURCE
                )
            )
        }
    # The silent one who got it and the one it failed to reach; not who answered, not who
    # blocked the bot.
    assert n == 2 and chats == {(TELEGRAM, "101"), (TELEGRAM, "102")}


async def test_the_horizon_fails_what_waited_too_long_and_nothing_else(db: Database) -> None:
    clock = FakeClock()
    async with db.transaction() as session:
        old = await outbox.enqueue(session, kind="t", to=telegram_address(1), text="old")
        later = await outbox.enqueue(
            session,
            kind="t",
            to=telegram_address(2),
            text="scheduled",
            not_before=clock() + timedelta(hours=30),
        )
        assert old is not None and later is not None
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == old.id)
            .values(created_at=clock() - timedelta(hours=25))
        )
    async with db.transaction() as session:
        n = await outbox.expire_overdue(
            session, due_before=clock() - timedelta(hours=24), reason="Telegram unreachable since x"
        )
    assert n == 1
    async with db.transaction() as session:
        result = await session.execute(select(OutboxMessage.text, OutboxMessage.status))
        rows = {text: status for text, status in result}
        error = await session.scalar(
            select(OutboxMessage.last_error).where(OutboxMessage.id == old.id)
        )
    assert rows == {"old": DeliveryStatus.failed, "scheduled": DeliveryStatus.pending}
    assert error == "Telegram unreachable since x"
