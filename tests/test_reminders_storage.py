"""Reminders derived from the data at a moment: right local times, quiet hours, exactly once,
caught up after downtime, moved with the activity. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox_render, scheduler
from bot.app import REMINDER_TEXTS
from bot.channels import TELEGRAM
from bot.i18n import Texts
from handlers.notices import messages as notice_messages
from storage import reminders
from storage.db import Database
from storage.models import DeliveryStatus, Member, OutboxMessage, Role
from storage.models.activities import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityType,
    SignupStatus,
)
from storage.reminders import ReminderPolicy
from storage.timing import QuietHours
from tests.support import bind_telegram

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def policy(tz: ZoneInfo = SHANGHAI) -> ReminderPolicy:
    return ReminderPolicy(tz=tz, quiet=QuietHours(time(22, 0), time(7, 30), tz))


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


async def _setup(db: Database, starts_at: datetime, members: int = 2) -> int:
    async with db.transaction() as s:
        activity = Activity(
            type=ActivityType.visit,
            status=ActivityStatus.published,
            title="走进政协",
            place="政协大楼",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
        )
        s.add(activity)
        await s.flush()
        for i in range(members):
            member = Member(name=f"委员{i}", phone=None)
            s.add(member)
            await s.flush()
            await bind_telegram(s, member.id, 100 + i)
            s.add(
                ActivitySignup(
                    activity_id=activity.id,
                    member_id=member.id,
                    status=SignupStatus.signed_up,
                    position=i + 1,
                )
            )
        return activity.id


async def _posted(
    scan: scheduler.ReminderScan, s: AsyncSession, now: datetime, p: ReminderPolicy
) -> int:
    """What the scan finds, composed and posted as the scheduler does."""
    return await scheduler.posting(scan)(s, now, p, REMINDER_TEXTS)


async def _scan(db: Database, now: datetime, p: ReminderPolicy | None = None) -> int:
    async with db.transaction() as s:
        await reminders.cancel_stale(s)
        return await _posted(reminders.activity_reminders, s, now, p or policy())


def _shown(row: OutboxMessage) -> str:
    """The message as the member reads it (rendered as the delivery worker renders it)."""
    texts = Texts("zh-CN")
    return outbox_render.text_of(
        texts, "zh-CN", template=row.template, params=row.params, text=row.text, html=False
    )


async def _queued(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as s:
        return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_reminders_fire_at_local_times_and_only_once(db: Database) -> None:
    start = local(SHANGHAI, 2026, 12, 5, 14, 30)
    await _setup(db, start)
    assert await _scan(db, local(SHANGHAI, 2026, 12, 4, 16, 59)) == 0
    assert await _scan(db, local(SHANGHAI, 2026, 12, 4, 17, 0)) == 2
    assert await _scan(db, local(SHANGHAI, 2026, 12, 4, 17, 1)) == 0  # the scan ran again
    assert await _scan(db, local(SHANGHAI, 2026, 12, 5, 12, 29)) == 0
    assert await _scan(db, local(SHANGHAI, 2026, 12, 5, 12, 30)) == 2
    assert await _scan(db, local(SHANGHAI, 2026, 12, 5, 12, 31)) == 0
    rows = await _queued(db)
    assert [r.template for r in rows] == ["reminders.activity_day_before"] * 2 + [
        "reminders.activity_soon"
    ] * 2
    assert rows[0].params["start"] == "2026-12-05 14:30"


async def test_reminders_follow_another_configured_zone(db: Database) -> None:
    start = local(BERLIN, 2026, 7, 10, 10, 0)  # summer time in Berlin
    await _setup(db, start, members=1)
    assert await _scan(db, local(BERLIN, 2026, 7, 9, 16, 59), policy(BERLIN)) == 0
    assert await _scan(db, local(BERLIN, 2026, 7, 9, 17, 0), policy(BERLIN)) == 1
    assert (await _queued(db))[0].params["start"] == "2026-07-10 10:00"


async def test_quiet_hours_hold_an_early_reminder_until_morning(db: Database) -> None:
    start = local(SHANGHAI, 2026, 12, 5, 8, 30)  # the 2-hours-before reminder is due at 06:30
    await _setup(db, start, members=1)
    await _scan(db, local(SHANGHAI, 2026, 12, 4, 17, 0))
    assert await _scan(db, local(SHANGHAI, 2026, 12, 5, 6, 30)) == 1
    soon = (await _queued(db))[-1]
    assert soon.template == "reminders.activity_soon"
    assert soon.not_before == local(SHANGHAI, 2026, 12, 5, 7, 30)


async def test_after_downtime_stale_reminders_are_dropped_useful_ones_caught_up(
    db: Database,
) -> None:
    start = local(SHANGHAI, 2026, 12, 5, 14, 30)
    await _setup(db, start, members=1)
    # The bot was down from before the day-before slot until after the 2-hours-before slot.
    assert await _scan(db, local(SHANGHAI, 2026, 12, 5, 13, 0)) == 1
    assert [r.template for r in await _queued(db)] == ["reminders.activity_soon"]
    # Down until after the start: nothing at all is sent late.
    other = await _setup(db, local(SHANGHAI, 2026, 12, 6, 9, 0), members=1)
    assert await _scan(db, local(SHANGHAI, 2026, 12, 6, 9, 5)) == 0
    assert all(r.source_id != other for r in await _queued(db))


async def test_postponing_moves_pending_reminders(db: Database) -> None:
    start = local(SHANGHAI, 2026, 12, 5, 8, 30)
    activity_id = await _setup(db, start, members=1)
    await _scan(db, local(SHANGHAI, 2026, 12, 5, 6, 30))  # held by quiet hours until 07:30
    async with db.transaction() as s:
        activity = await s.get(Activity, activity_id)
        assert activity is not None
        activity.starts_at = local(SHANGHAI, 2026, 12, 12, 8, 30)
        activity.status = ActivityStatus.postponed
    assert await _scan(db, local(SHANGHAI, 2026, 12, 5, 6, 31)) == 0
    held = await _queued(db)
    assert [r.status for r in held] == [DeliveryStatus.cancelled]
    assert await _scan(db, local(SHANGHAI, 2026, 12, 11, 17, 0)) == 1
    moved = (await _queued(db))[-1]
    assert moved.params["start"] == "2026-12-12 08:30"
    assert moved.status is DeliveryStatus.pending


async def test_cancelled_activity_and_cancelled_signup_get_no_reminder(db: Database) -> None:
    start = local(SHANGHAI, 2026, 12, 5, 14, 30)
    activity_id = await _setup(db, start, members=2)
    async with db.transaction() as s:
        signup = await s.scalar(select(ActivitySignup).where(ActivitySignup.position == 1))
        assert signup is not None
        signup.status = SignupStatus.cancelled
    assert await _scan(db, local(SHANGHAI, 2026, 12, 4, 17, 0)) == 1
    async with db.transaction() as s:
        activity = await s.get(Activity, activity_id)
        assert activity is not None
        activity.status = ActivityStatus.cancelled
    await _scan(db, local(SHANGHAI, 2026, 12, 4, 17, 1))
    assert await _scan(db, local(SHANGHAI, 2026, 12, 5, 12, 30)) == 0


async def _invite_setup(db: Database, starts_at: datetime, deadline: datetime) -> dict[str, int]:
    """Sector 经济界 is invited; 甲 signed up, 乙 asked for leave, 丙 silent, 丁 other sector."""
    from storage.models import Sector
    from storage.models.activities import ActivityTarget, TargetKind

    ids: dict[str, int] = {}
    async with db.transaction() as s:
        economy, farming = Sector(name="经济界"), Sector(name="农业界")
        s.add_all([economy, farming])
        await s.flush()
        activity = Activity(
            type=ActivityType.meeting,
            status=ActivityStatus.published,
            title="专题协商会",
            place="三楼会议室",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            signup_deadline=deadline,
            reply_required=True,
        )
        s.add(activity)
        await s.flush()
        ids["activity"] = activity.id
        s.add(ActivityTarget(activity_id=activity.id, kind=TargetKind.sector, ref_id=economy.id))
        for i, name in enumerate("甲乙丙丁"):
            sector = farming if name == "丁" else economy
            member = Member(name=name, sector_id=sector.id)
            s.add(member)
            await s.flush()
            await bind_telegram(s, member.id, 200 + i)
            ids[name] = member.id
        s.add(
            ActivitySignup(
                activity_id=activity.id,
                member_id=ids["甲"],
                status=SignupStatus.signed_up,
                position=1,
            )
        )
        s.add(
            ActivitySignup(
                activity_id=activity.id, member_id=ids["乙"], status=SignupStatus.leave, position=2
            )
        )
        staff = Member(name="工作人员", role=Role.staff)
        s.add(staff)
        await s.flush()
        await bind_telegram(s, staff.id, 299)
        ids["staff"] = staff.id
    return ids


async def test_deadline_reminder_reaches_only_the_silent_invited(db: Database) -> None:
    start = local(SHANGHAI, 2026, 12, 10, 9, 0)
    deadline = local(SHANGHAI, 2026, 12, 8, 18, 0)
    ids = await _invite_setup(db, start, deadline)
    async with db.transaction() as s:
        assert (
            await _posted(
                reminders.deadline_reminders, s, local(SHANGHAI, 2026, 12, 7, 17, 59), policy()
            )
            == 0
        )
    async with db.transaction() as s:
        assert (
            await _posted(
                reminders.deadline_reminders, s, local(SHANGHAI, 2026, 12, 7, 18, 0), policy()
            )
            == 1
        )
    async with db.transaction() as s:
        assert (
            await _posted(
                reminders.deadline_reminders, s, local(SHANGHAI, 2026, 12, 7, 18, 5), policy()
            )
            == 0
        )
    rows = await _queued(db)
    assert [r.member_id for r in rows] == [ids["丙"]]
    assert rows[0].params["deadline"] == "2026-12-08 18:00"


async def test_weekly_schedule_gives_each_member_their_part_and_staff_all(db: Database) -> None:
    start = local(SHANGHAI, 2026, 12, 2, 9, 0)  # Wednesday
    ids = await _invite_setup(db, start, local(SHANGHAI, 2026, 12, 1, 18, 0))
    other = await _setup(db, local(SHANGHAI, 2026, 12, 3, 15, 0), members=1)  # 委员0 signed up
    monday = local(SHANGHAI, 2026, 11, 30, 8, 0)
    async with db.transaction() as s:
        assert (
            await _posted(reminders.weekly_schedule, s, monday - timedelta(minutes=1), policy())
            == 0
        )
    async with db.transaction() as s:
        sent = await _posted(reminders.weekly_schedule, s, monday, policy())
    async with db.transaction() as s:
        assert (
            await _posted(reminders.weekly_schedule, s, monday + timedelta(hours=3), policy()) == 0
        )
    by_member = {r.member_id: r for r in await _queued(db)}
    assert sent == len(by_member) == 5  # 甲 乙 丙 (invited), 委员0 (signed up), staff; not 丁
    assert ids["丁"] not in by_member
    assert "✅" in _shown(by_member[ids["甲"]])
    assert "专题协商会" in _shown(by_member[ids["丙"]])
    assert "走进政协" not in _shown(by_member[ids["丙"]])
    staff = by_member[ids["staff"]]
    assert staff.template == "reminders.weekly_staff" and staff.params["count"] == 2
    assert other


async def test_staff_digest_once_a_day_with_tomorrows_numbers(db: Database) -> None:
    start = local(SHANGHAI, 2026, 12, 2, 9, 0)
    ids = await _invite_setup(db, start, local(SHANGHAI, 2026, 12, 1, 18, 0))
    morning = local(SHANGHAI, 2026, 12, 1, 8, 30)
    async with db.transaction() as s:
        assert await _posted(reminders.staff_digest, s, morning, policy()) == 1
    async with db.transaction() as s:
        assert await _posted(reminders.staff_digest, s, morning + timedelta(hours=1), policy()) == 0
    digest = (await _queued(db))[0]
    assert digest.member_id == ids["staff"]
    assert "专题协商会 @ 三楼会议室  1/∞ (+0, -1)" in _shown(digest)
    assert digest.params["reports_waiting"] == 0
    assert "回执率偏低的通知：\n—" in _shown(digest)  # no notice asked for acknowledgement


async def test_staff_digest_quotes_notices_acknowledged_by_too_few(db: Database) -> None:
    from storage.models.notices import AckMode, Notice, NoticeRecipient, NoticeStatus

    morning = local(SHANGHAI, 2026, 12, 1, 8, 30)
    async with db.transaction() as s:
        staff = Member(name="王秘书", phone="+8613600136000", role=Role.staff)
        people = [Member(name=f"委员{i}", phone=f"+86137001370{i:02d}") for i in range(10)]
        s.add_all([staff, *people])
        await s.flush()
        await bind_telegram(s, staff.id, 901)
        notice = Notice(
            author_id=staff.id,
            status=NoticeStatus.done,
            body=(
                "<b>周五</b> 全体会议 &lt;务必&gt;\n"
                "请准时参加，带好材料和笔记本电脑，迟到请提前请假"
            ),
            ack_mode=AckMode.received,
            queued_at=morning - timedelta(days=1),
        )
        s.add(notice)
        await s.flush()
        s.add_all(
            NoticeRecipient(
                notice_id=notice.id,
                member_id=person.id,
                acked_at=morning if i < 7 else None,
            )
            for i, person in enumerate(people)
        )
    async with db.transaction() as s:
        assert await _posted(reminders.staff_digest, s, morning, policy()) == 1
    shown = _shown((await _queued(db))[0])
    # The body's start as the staff member reads it, on one line, tags gone, `<务必>` as typed.
    # ... and at most 30 characters of it.
    assert f"• #{notice.id} 周五 全体会议 <务必> 请准时参加，带好材料和笔记本电脑，  7/10" in shown


async def test_silent_notice_recipients_are_re_reminded_after_the_delay_at_most_twice(
    db: Database,
) -> None:
    from storage.models.notices import AckMode, Notice, NoticeRecipient, NoticeStatus

    sent_at = local(SHANGHAI, 2026, 12, 1, 10, 0)
    async with db.transaction() as s:
        notice = Notice(
            body="<b>关于召开全体会议的通知</b>",
            status=NoticeStatus.done,
            ack_mode=AckMode.received,
            queued_at=sent_at,
        )
        s.add(notice)
        await s.flush()
        silent_id = 0
        for i, acked in enumerate([False, True]):
            member = Member(name=f"委员{i}")
            s.add(member)
            await s.flush()
            await bind_telegram(s, member.id, 300 + i)
            delivered = OutboxMessage(
                kind="notice", channel=TELEGRAM, address=str(300 + i), member_id=member.id,
                text="x", status=DeliveryStatus.sent,
            )  # fmt: skip
            s.add(delivered)
            await s.flush()
            s.add(
                NoticeRecipient(
                    notice_id=notice.id, member_id=member.id, outbox_id=delivered.id,
                    acked_at=sent_at if acked else None, ack_option=0 if acked else None,
                )
            )  # fmt: skip
            if not acked:
                silent_id = member.id
    p = ReminderPolicy(
        tz=SHANGHAI,
        quiet=QuietHours(time(22, 0), time(7, 30), SHANGHAI),
    )

    async def scan(now: datetime) -> int:
        async with db.transaction() as s:
            return await reminders.notice_reminders(s, now, p, notice_messages.reminder)

    assert await scan(sent_at + timedelta(hours=23)) == 0
    assert await scan(sent_at + timedelta(hours=24)) == 1
    assert await scan(sent_at + timedelta(hours=25)) == 0  # scanned again: nothing more
    late_evening = local(SHANGHAI, 2026, 12, 3, 23, 0)  # second round falls in quiet hours
    assert await scan(late_evening) == 1
    assert await scan(late_evening + timedelta(days=3)) == 0  # at most twice
    reminders_sent = [r for r in await _queued(db) if r.kind != "notice"]
    assert [r.member_id for r in reminders_sent] == [silent_id, silent_id]
    assert reminders_sent[1].not_before == local(SHANGHAI, 2026, 12, 4, 7, 30)
