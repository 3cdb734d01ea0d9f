"""Activities run on a second channel through the seam alone (tests/channel_plain.py): members
there find an activity from the main-menu label, open its card, sign up, take its calendar
file, check in with the venue's code sent as a bare message, and ask for leave in a dialog,
with the same feature code Telegram drives and nothing of Telegram in between."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from sqlalchemy import select

from storage import identities
from storage.identities import Account
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    SignupStatus,
    TargetKind,
)
from tests.channel_plain import PLAIN, PlainChannel
from tests.support import Harness

TITLE = "走进政协开放日 <第3期> & 座谈"
CODE = "482913"


async def _published_activity(bot: Harness) -> int:
    """Published, everyone invited, starting in half an hour (its check-in window is open)."""
    starts = bot.clock.now + timedelta(minutes=30)
    async with bot.db.transaction() as session:
        activity = Activity(
            type=ActivityType.visit,
            status=ActivityStatus.published,
            title=TITLE,
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            place="政协大楼",
            capacity=30,
            published_at=bot.clock.now,
            checkin_code=CODE,
        )
        session.add(activity)
        await session.flush()
        session.add(ActivityTarget(activity_id=activity.id, kind=TargetKind.everyone))
        return activity.id


async def _standing(bot: Harness, activity_id: int, member_id: int) -> SignupStatus | None:
    async with bot.db.read() as session:
        return await session.scalar(
            select(ActivitySignup.status).where(
                ActivitySignup.activity_id == activity_id, ActivitySignup.member_id == member_id
            )
        )


async def test_members_sign_up_check_in_and_ask_leave_on_a_second_channel(bot: Harness) -> None:
    activity_id = await _published_activity(bot)
    chen = await bot.add_member("陈静", "+8613900139000")
    lin = await bot.add_member("林文华", "+8613800138000")
    async with bot.db.transaction() as session:
        await identities.attach(session, chen, Account(PLAIN, "chen", "chen"))
        await identities.attach(session, lin, Account(PLAIN, "lin", "lin"))
    assert bot.app is not None
    plain = PlainChannel(bot.app.bot_data)

    # The main-menu label, typed on this channel, lists the activity; its button opens the card.
    await plain.send("chen", "📅 活动报名")
    listed = plain.last("chen")
    assert "可报名的活动" in listed.text
    [label] = [label for label in listed.labels() if TITLE in label]
    await plain.press("chen", label)
    card = plain.last("chen")
    # The card's title line is our own markup around the typed title: shown as typed here.
    assert f"📅 {TITLE}" in card.text and "<b>" not in card.text
    assert f"plain://start/act_{activity_id}" in card.text
    assert "✅ 报名" in card.labels()

    # Signing up: the acknowledgement (a pop-up on Telegram) and the refreshed card.
    await plain.press("chen", "✅ 报名")
    assert any("报名成功" in shown.text for shown in plain.shown["chen"][-2:])
    assert "我的状态：✅ 已报名" in plain.last("chen").text
    assert await _standing(bot, activity_id, chen) is SignupStatus.signed_up

    # The calendar file comes through the channel, caption and all.
    await plain.press("chen", "📆 加入日历")
    sent = plain.last("chen")
    assert sent.file is not None and sent.file[0] == f"activity-{activity_id}.ics"
    assert f"「{TITLE}」日历文件" in sent.text
    event = next(iter(Calendar.from_ical(sent.file[1]).walk("VEVENT")))
    assert str(event["summary"]) == TITLE

    # A bare code outside any dialog checks in (a free message on the seam).
    await plain.send("chen", CODE)
    assert any("签到成功" in shown.text for shown in plain.shown["chen"][-2:])
    assert "我的状态：✅ 已签到" in plain.last("chen").text
    assert await _standing(bot, activity_id, chen) is SignupStatus.checked_in

    # Leave: the button opens a dialog, the typed reason (kept as typed) answers it.
    await plain.send("lin", "📅 活动报名")
    [label] = [label for label in plain.last("lin").labels() if TITLE in label]
    assert label.endswith("(1/30)")  # chen's place counts
    await plain.press("lin", label)
    await plain.press("lin", "📝 请假")
    assert "请输入请假原因" in plain.last("lin").text
    await plain.send("lin", "外出开会 <市里>")
    assert any("请假已登记" in shown.text for shown in plain.shown["lin"][-2:])
    assert "我的状态：📝 已请假（外出开会 <市里>）" in plain.last("lin").text
    assert await _standing(bot, activity_id, lin) is SignupStatus.leave
