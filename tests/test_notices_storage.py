"""Notice operations on SQLite and PostgreSQL: audiences, queueing, acknowledgement, cancel."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

from openpyxl import Workbook
from sqlalchemy import func, select, update

from bot.channels import TELEGRAM
from handlers.notices import messages as notice_messages
from storage import notices, outbox
from storage.db import Database
from storage.members import MemberRef
from storage.models import (
    AckMode,
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityType,
    AudienceKind,
    Committee,
    DeliveryStatus,
    LiaisonPoint,
    Member,
    NoticeRecipient,
    NoticeStatus,
    OutboxMessage,
    Priority,
    Role,
    Sector,
    SignupStatus,
    member_committee,
)
from storage.notices import AckOutcome, Category, NoticeView, Problem
from tests.support import bind_telegram

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


async def roster(db: Database) -> dict[str, int]:
    """Staff, five members (one without Telegram) in two sectors, a committee, a point."""
    async with db.transaction() as session:
        economy, farming = Sector(name="经济界"), Sector(name="农业界")
        committee, point = Committee(name="提案委"), LiaisonPoint(name="鼓楼联系点")
        session.add_all([economy, farming, committee, point])
        await session.flush()
        people = {
            "staff": Member(name="王干部", phone="+8615000150000", role=Role.staff),
            "a": Member(name="甲", phone="+8613800000001", sector_id=economy.id),
            "b": Member(
                name="乙",
                phone="+8613800000002",
                sector_id=economy.id,
                liaison_point_id=point.id,
            ),
            "c": Member(name="丙", phone="+8613800000003", sector_id=farming.id),
            "d": Member(name="丁", phone="+8613800000004", sector_id=economy.id),
            "gone": Member(name="戊", phone="+8613800000005", active=False),
        }
        session.add_all(people.values())
        await session.flush()
        for key, chat in {"staff": 9, "a": 101, "b": 102, "c": 103, "gone": 105}.items():
            await bind_telegram(session, people[key].id, chat)
        await session.execute(
            member_committee.insert().values(member_id=people["c"].id, committee_id=committee.id)
        )
        ids = {k: m.id for k, m in people.items()}
        ids |= {"economy": economy.id, "farming": farming.id}
        ids |= {"committee": committee.id, "point": point.id}
        return ids


async def staff_ref(db: Database, ids: dict[str, int], key: str = "staff") -> MemberRef:
    async with db.transaction() as session:
        member = await session.get(Member, ids[key])
        assert member is not None
        return MemberRef.of(member)


async def draft(
    db: Database,
    staff: MemberRef,
    kind: AudienceKind,
    audience: list[int] | tuple[int, ...] = (),
    ack: AckMode = AckMode.received,
    options: tuple[str, ...] = (),
) -> NoticeView:
    async with db.transaction() as session:
        view = await notices.open_draft(session, staff)
        assert isinstance(view, NoticeView)
        await notices.set_body(session, staff, view.id, html="<b>开会</b>", visible_length=2)
        assert isinstance(
            await notices.set_audience(session, staff, view.id, kind, audience), NoticeView
        )
        result = await notices.set_ack(session, staff, view.id, ack, options)
        assert isinstance(result, NoticeView)
        return result


async def send(
    db: Database, staff: MemberRef, view: NoticeView, at: datetime | None = None
) -> NoticeView:
    async with db.transaction() as session:
        queued = await notices.queue(
            session, staff, view.id, now=NOW, message=notice_messages.message, at=at
        )
    assert isinstance(queued, NoticeView), queued
    return queued


async def rows_of(db: Database, notice_id: int) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.source_id == notice_id, OutboxMessage.source_type == "notice")
                .order_by(OutboxMessage.id)
            )
        )


def chats_of(rows: list[OutboxMessage]) -> set[int]:
    """The Telegram chats the rows go to (every row must go to Telegram)."""
    assert {r.channel for r in rows} <= {TELEGRAM}
    return {int(r.address) for r in rows}


async def deliver_all(db: Database) -> None:
    """Pretend the worker sent every due row."""
    async with db.transaction() as session:
        claimed = await outbox.claim(session, worker="w", now=NOW, limit=1000)
        await outbox.record(
            session,
            [
                outbox.Outcome(c.id, outbox.Result.sent, sent_message_id=str(c.id), at=NOW)
                for c in claimed
            ],
            worker="w",
        )


async def test_audiences_pick_the_right_bound_active_members(db: Database) -> None:
    ids = await roster(db)
    staff = await staff_ref(db, ids)
    cases = {
        AudienceKind.everyone: ([], {9, 101, 102, 103}),
        AudienceKind.sectors: ([ids["economy"]], {101, 102}),
        AudienceKind.committees: ([ids["committee"]], {103}),
        AudienceKind.points: ([ids["point"]], {102}),
        AudienceKind.phones: ([ids["a"], ids["c"]], {101, 103}),
    }
    for kind, (audience, chats) in cases.items():
        view = await send(db, staff, await draft(db, staff, kind, audience))
        rows = await rows_of(db, view.id)
        assert chats_of(rows) == chats, kind
        assert view.recipient_count == len(chats)
        assert all(
            r.priority == Priority.bulk and r.template == "notices.message_ack" for r in rows
        )
        assert rows[0].buttons == [
            [{"key": "notices.ack_button", "data": notice_messages.ack_data(view.id, 0)}]
        ]
        # The body is the staff member's formatting: marked so delivery does not escape it.
        assert rows[0].params == {"body": {"formatted": "<b>开会</b>"}}


async def test_count_reports_members_not_using_the_bot(db: Database) -> None:
    ids = await roster(db)
    staff = await staff_ref(db, ids)
    view = await draft(db, staff, AudienceKind.sectors, [ids["economy"]])
    async with db.transaction() as session:
        count = await notices.count_audience(session, view.id)
    assert (count.recipients, count.not_bound) == (2, 1)


async def test_activity_sign_ups_are_an_audience(db: Database) -> None:
    ids = await roster(db)
    staff = await staff_ref(db, ids)
    async with db.transaction() as session:
        activity = Activity(
            type=ActivityType.meeting,
            status=ActivityStatus.published,
            title="协商会",
            starts_at=NOW,
        )
        session.add(activity)
        await session.flush()
        session.add_all(
            [
                ActivitySignup(
                    activity_id=activity.id, member_id=ids["a"], status=SignupStatus.signed_up
                ),
                ActivitySignup(
                    activity_id=activity.id, member_id=ids["b"], status=SignupStatus.cancelled
                ),
                ActivitySignup(
                    activity_id=activity.id, member_id=ids["c"], status=SignupStatus.checked_in
                ),
            ]
        )
        activity_id = activity.id
        choices = await notices.choices(session, AudienceKind.activity)
    assert [c.name for c in choices] == ["协商会"]
    view = await send(db, staff, await draft(db, staff, AudienceKind.activity, [activity_id]))
    assert chats_of(await rows_of(db, view.id)) == {101, 103}


async def test_forged_or_bad_input_changes_nothing(db: Database) -> None:
    ids = await roster(db)
    staff = await staff_ref(db, ids)
    member = await staff_ref(db, ids, "a")
    async with db.transaction() as session:
        assert await notices.open_draft(session, member) is Problem.forbidden
        view = await notices.open_draft(session, staff)
        assert isinstance(view, NoticeView)
        assert (
            await notices.set_body(session, staff, view.id, html="  ", visible_length=0)
            is Problem.empty
        )
        assert (
            await notices.set_body(session, staff, view.id, html="x" * 3801, visible_length=3801)
            is Problem.too_long
        )
        assert (
            await notices.set_audience(session, staff, view.id, AudienceKind.sectors, [999])
            is Problem.unknown_names
        )
        assert (
            await notices.set_audience(session, staff, view.id, AudienceKind.sectors, [])
            is Problem.no_audience
        )
        assert (
            await notices.set_audience(session, member, view.id, AudienceKind.everyone)
            is Problem.forbidden
        )
        assert (
            await notices.set_ack(session, staff, view.id, AckMode.options, ["来"])
            is Problem.too_few_options
        )
        assert (
            await notices.set_ack(
                session, staff, view.id, AckMode.options, ["1", "2", "3", "4", "5"]
            )
            is Problem.too_many_options
        )
        ids_found, unknown = await notices.ids_for_names(
            session, AudienceKind.sectors, "经济界，火星界"
        )
        assert ids_found == [ids["economy"]] and unknown == ["火星界"]
        # Nobody bound in the selection: queueing is refused.
        empty = Sector(name="特邀")
        session.add(empty)
        await session.flush()
        await notices.set_body(session, staff, view.id, html="开会", visible_length=2)
        await notices.set_audience(session, staff, view.id, AudienceKind.sectors, [empty.id])
        assert (
            await notices.queue(session, staff, view.id, now=NOW, message=notice_messages.message)
            is Problem.no_recipients
        )
        await notices.set_audience(session, staff, view.id, AudienceKind.everyone)
        assert (
            await notices.queue(
                session,
                staff,
                view.id,
                now=NOW,
                message=notice_messages.message,
                at=NOW - timedelta(minutes=1),
            )
            is Problem.in_the_past
        )
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_acknowledgement_is_recorded_once_even_when_pressed_together(db: Database) -> None:
    ids = await roster(db)
    staff = await staff_ref(db, ids)
    view = await send(
        db,
        staff,
        await draft(
            db, staff, AudienceKind.everyone, ack=AckMode.options, options=("参加", "请假")
        ),
    )

    async def press(option: int, delay: float) -> AckOutcome:
        await asyncio.sleep(delay)
        async with db.transaction() as session:
            result = await notices.acknowledge(session, view.id, ids["a"], option, now=NOW)
        return result.outcome

    outcomes = await asyncio.gather(*(press(i % 2, 0) for i in range(6)))
    assert sorted(outcomes).count(AckOutcome.recorded) == 1
    async with db.transaction() as session:
        forged = await notices.acknowledge(session, view.id, ids["a"], 5, now=NOW)
        stranger = await notices.acknowledge(session, view.id, ids["d"], 0, now=NOW)
        unknown = await notices.acknowledge(session, 9999, ids["a"], 0, now=NOW)
        answered = await session.scalar(
            select(func.count())
            .select_from(NoticeRecipient)
            .where(NoticeRecipient.acked_at.is_not(None))
        )
    assert forged.outcome is stranger.outcome is unknown.outcome is AckOutcome.not_recipient
    assert answered == 1


async def test_stats_lists_and_reminder_only_for_delivered_silent_members(db: Database) -> None:
    ids = await roster(db)
    staff = await staff_ref(db, ids)
    view = await send(db, staff, await draft(db, staff, AudienceKind.sectors, [ids["economy"]]))
    # Member b blocked the bot: unreachable.
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.member_id == ids["b"])
            .values(
                status=DeliveryStatus.unreachable,
                last_error="Forbidden: bot was blocked by the user",
            )
        )
    await deliver_all(db)
    async with db.transaction() as session:
        nothing_yet = await notices.remind(
            session, staff, view.id, now=NOW, message=notice_messages.reminder
        )
        stats = await notices.stats(session, view.id)
        silent = await notices.recipients(session, view.id, Category.silent)
        unreachable = await notices.recipients(session, view.id, Category.unreachable)
    assert nothing_yet == 1  # a got it and is silent; b is unreachable
    assert (stats.total, stats.delivered, stats.unreachable, stats.silent) == (2, 1, 1, 1)
    assert [line.name for line in silent] == ["甲"]
    assert unreachable[0].name == "乙" and "blocked" in (unreachable[0].error or "")
    async with db.transaction() as session:
        reminders = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.source_type == "notice_remind")
            )
        )
    assert [(r.channel, r.address) for r in reminders] == [(TELEGRAM, "101")]
    assert reminders[0].template == "notices.reminder"

    member = await staff_ref(db, ids, "a")
    async with db.transaction() as session:
        await notices.acknowledge(session, view.id, ids["a"], 0, now=NOW)
        assert (
            await notices.remind(session, staff, view.id, now=NOW, message=notice_messages.reminder)
            is Problem.nobody_silent
        )
        assert (
            await notices.remind(
                session, member, view.id, now=NOW, message=notice_messages.reminder
            )
            is Problem.forbidden
        )


async def test_cancel_stops_pending_and_held_rows_but_keeps_what_went(db: Database) -> None:
    ids = await roster(db)
    staff = await staff_ref(db, ids)
    view = await send(db, staff, await draft(db, staff, AudienceKind.everyone))
    async with db.transaction() as session:
        held = await outbox.claim(session, worker="w", now=NOW, limit=2)
        await outbox.record(
            session, [outbox.Outcome(held[0].id, outbox.Result.sent, at=NOW)], worker="w"
        )
    async with db.transaction() as session:
        result = await notices.cancel(session, staff, view.id, now=NOW)
    assert not isinstance(result, Problem)
    cancelled_view, stopped = result
    assert cancelled_view.status is NoticeStatus.cancelled and stopped == 3
    # The held row's send was on the wire already: its result still counts as sent.
    async with db.transaction() as session:
        written = await outbox.record(
            session, [outbox.Outcome(held[1].id, outbox.Result.sent, at=NOW)], worker="w"
        )
        again = await notices.cancel(session, staff, view.id, now=NOW)
    assert written == 1 and again is Problem.not_open
    statuses = sorted(r.status.value for r in await rows_of(db, view.id))
    assert statuses == ["cancelled", "cancelled", "sent", "sent"]


async def test_scheduled_notice_waits_and_finishes_once(db: Database) -> None:
    ids = await roster(db)
    staff = await staff_ref(db, ids)
    at = NOW + timedelta(hours=3)
    view = await send(
        db, staff, await draft(db, staff, AudienceKind.sectors, [ids["economy"]]), at=at
    )
    assert view.status is NoticeStatus.scheduled
    rows = await rows_of(db, view.id)
    assert {r.not_before for r in rows} == {at}
    async with db.transaction() as session:
        # Nobody has it yet: an answer (from forged button data) is refused and not recorded.
        assert rows[0].member_id is not None
        early = await notices.acknowledge(session, view.id, rows[0].member_id, 0, now=NOW)
        acked = await session.scalar(
            select(func.count())
            .select_from(NoticeRecipient)
            .where(NoticeRecipient.acked_at.is_not(None))
        )
        assert early.outcome is AckOutcome.not_recipient and acked == 0
        assert await outbox.claim(session, worker="w", now=NOW, limit=10) == []
        assert await notices.in_progress(session, now=NOW) == []
        progress = await notices.in_progress(session, now=at)
    assert [p.notice.id for p in progress] == [view.id]
    async with db.transaction() as session:
        claimed = await outbox.claim(session, worker="w", now=at, limit=10)
        await outbox.record(
            session, [outbox.Outcome(c.id, outbox.Result.sent, at=at) for c in claimed], worker="w"
        )
    async with db.transaction() as session:
        first = await notices.finish(session, view.id, now=at)
        second = await notices.finish(session, view.id, now=at)
        assert first is not None and first.summary is not None
        await outbox.post(session, first.summary, notice_messages.summary(first.summary))
        summaries = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.source_type == "notice_summary")
        )
    assert first.stats.delivered == 2 and second is None and summaries == 1


def test_phone_lists_in_xlsx_csv_and_text() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "手机号"])
    sheet.append(["甲", 13800000001])
    sheet.append(["乙", "138-0000-0002"])
    data = io.BytesIO()
    book.save(data)
    assert notices.phone_cells(data.getvalue(), "list.xlsx") == ["13800000001", "138-0000-0002"]
    csv = "姓名,手机\n丙,+86 138 0000 0003\n丁,12345\n".encode("gb18030")
    assert notices.phone_cells(csv, "list.csv") == ["+86 138 0000 0003", "12345"]
    assert notices.phone_cells(b"13800000001\n\n13800000009\n", "list.txt") == [
        "13800000001",
        "13800000009",
    ]


async def test_phone_list_matches_roster_and_names_the_unknown(db: Database) -> None:
    await roster(db)
    async with db.transaction() as session:
        match = await notices.match_phones(
            session, ["13800000001", "+86 138-0000-0003", "13800000009", "12345", "13800000001"]
        )
    assert len(match.member_ids) == 2
    assert match.unknown == ("13800000009",) and match.unreadable == 1


async def test_member_sees_only_notices_delivered_to_them(db: Database) -> None:
    ids = await roster(db)
    staff = await staff_ref(db, ids)
    view = await send(db, staff, await draft(db, staff, AudienceKind.sectors, [ids["economy"]]))
    async with db.transaction() as session:
        assert await notices.received_by(session, ids["a"]) == []  # not delivered yet
    await deliver_all(db)
    async with db.transaction() as session:
        mine = await notices.received_by(session, ids["a"])
        theirs = await notices.received_one(session, ids["c"], view.id)
    assert [item.notice.id for item in mine] == [view.id] and theirs is None
