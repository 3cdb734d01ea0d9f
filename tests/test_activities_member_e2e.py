"""Activities end to end through the Bot API emulator, the members' side: deep links, the
calendar file, browsing, My activities, check-in by location and by link, and refusals (after
the deadline, a cancelled activity, staff buttons, forged and garbage button data).
(Staff: test_activities_staff_e2e.py.)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar
from sqlalchemy import func, select

from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityType,
    Member,
    Sector,
    SignupStatus,
    TargetKind,
)
from tests.activities_e2e_support import (
    STAFF,
    VENUE,
    A,
    B,
    C,
    _activity,
    _alert,
    _has_buttons,
    _people,
    _signups,
)
from tests.support import Harness

# -- deep link, calendar, browsing ---------------------------------------------------------


async def test_deep_link_opens_the_card_and_refuses_the_uninvited_and_forged(bot: Harness) -> None:
    ids = await _people(bot)
    async with bot.db.transaction() as s:
        sector = Sector(name="经济界")
        s.add(sector)
        await s.flush()
        sector_id = sector.id
    async with bot.db.transaction() as s:
        member = await s.get(Member, ids[A])
        assert member is not None
        member.sector_id = sector_id
    activity_id = await _activity(bot, targets=[(TargetKind.sector, sector_id)], capacity=None)

    await bot.emu.user(A).send_command("start", f"act_{activity_id}")
    card = await bot.emu.wait_for(A, "走进政协开放日")
    assert "名额：已报名 0 人（不限名额）" in (card.text or "")
    assert f"t.me/cppcc_test_bot?start=act_{activity_id}" in (card.text or "")
    assert "✅ 报名" in card.buttons()

    await bot.emu.user(B).send_command("start", f"act_{activity_id}")
    await bot.emu.wait_for(B, "仅限受邀委员参加")
    for forged in ("act_999999", "act_abc", "act_0", f"act_{activity_id}x"):
        await bot.emu.user(B).send_command("start", forged)
        await bot.emu.wait_for(B, "没有找到这个活动")
    # A forged sign-up button for an activity B is not invited to changes nothing.
    await bot.emu.user(B).send_callback(card.message_id, f"act:signup:{activity_id}")
    await _alert(bot, "仅限受邀委员参加")
    assert await _signups(bot, activity_id) == {}
    # A stranger following the link is asked to bind first.
    await bot.emu.user(5555).send_command("start", f"act_{activity_id}")
    await bot.emu.wait_for(5555, "分享手机号")


async def test_calendar_file_parses_with_the_configured_time_zone(bot: Harness) -> None:
    await _people(bot)
    starts = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
    activity_id = await _activity(bot, starts_at=starts, description="请带身份证")
    user = bot.emu.user(A)
    await user.send_command("start", f"act_{activity_id}")
    card = await bot.emu.wait_for(A, "走进政协开放日")
    await user.tap(card, "📆 加入日历")
    doc = await bot.emu.wait_for(A, lambda m: m.kind == "document")
    assert doc.file_name == f"activity-{activity_id}.ics" and doc.data

    calendar = Calendar.from_ical(doc.data)
    (event,) = calendar.walk("VEVENT")
    (zone,) = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Asia/Shanghai"
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    start = event.decoded("DTSTART")
    assert start.utcoffset() == timedelta(hours=8)
    assert (start.hour, start.minute) == (14, 30)
    assert start.astimezone(UTC) == starts
    assert event.decoded("DTEND").astimezone(UTC) == starts + timedelta(hours=2)
    assert str(event["SUMMARY"]) == "走进政协开放日"
    assert str(event["LOCATION"]) == "政协大楼"
    assert f"start=act_{activity_id}" in str(event["URL"])


async def test_browse_is_paged_newest_first_and_filters_by_type(bot: Harness) -> None:
    await _people(bot)
    ids = []
    for i in range(7):
        kind = ActivityType.micro_consultation if i == 3 else ActivityType.visit
        ids.append(
            await _activity(
                bot,
                title=f"活动{i}",
                type=kind,
                published_at=bot.clock.now + timedelta(minutes=i),
            )
        )
    user = bot.emu.user(A)
    await user.send_text("📅 活动报名")
    first = await bot.emu.wait_for(A, "共 7 个，第 1/2 页")
    assert [b.split(" (")[0].split(" ", 2)[-1] for b in first.buttons()[:5]] == [
        "活动6",
        "活动5",
        "活动4",
        "活动3",
        "活动2",
    ]
    await user.tap(first, "下一页 ›")
    await bot.emu.wait_for(A, "第 2/2 页", after=0)
    await user.tap(first, "微协商")
    micro = await bot.emu.wait_for(A, "微协商（共 1 个", after=0)
    assert any("活动3" in b for b in micro.buttons())
    # A forged filter is a stale button.
    await user.send_callback(first.message_id, "act:list:party:1")
    await _alert(bot, "按钮已失效")


async def test_my_activities_lists_upcoming_and_past_with_my_status(bot: Harness) -> None:
    ids = await _people(bot)
    past = await _activity(
        bot,
        title="上月视察",
        starts_at=bot.clock.now - timedelta(days=20),
        type=ActivityType.inspection,
    )
    upcoming = await _activity(bot, title="下周开放日")
    waiting = await _activity(bot, title="小型座谈", capacity=1)
    async with bot.db.transaction() as s:
        s.add(
            ActivitySignup(
                activity_id=past,
                member_id=ids[A],
                status=SignupStatus.checked_in,
                position=1,
                checked_in_at=bot.clock.now - timedelta(days=20),
            )
        )
        s.add(
            ActivitySignup(
                activity_id=waiting, member_id=ids[B], status=SignupStatus.signed_up, position=1
            )
        )
    user = bot.emu.user(A)
    await user.send_command("start", f"act_{upcoming}")
    card = await bot.emu.wait_for(A, "下周开放日")
    await user.tap(card, "✅ 报名")
    await _alert(bot, "报名成功")
    await user.send_command("start", f"act_{waiting}")
    card2 = await bot.emu.wait_for(A, "小型座谈")
    assert "⏳ 加入候补" in card2.buttons()
    await user.tap(card2, "⏳ 加入候补")
    await _alert(bot, "排第 1 位")

    await user.send_text("🗓 我的活动")
    mine = await bot.emu.wait_for(A, "我的活动")
    text = mine.text or ""
    assert "即将开始" in text and "已结束" in text
    assert re.search(r"下周开放日 — ✅ 已报名", text)
    assert re.search(r"小型座谈 — ⏳ 候补第 1 位", text)
    assert re.search(r"上月视察 — ✅ 已签到", text)
    assert text.index("即将开始") < text.index("下周开放日") < text.index("已结束")


# -- check-in by location and by deep link ------------------------------------------------


async def test_check_in_by_location_near_the_venue_and_by_code_link(bot: Harness) -> None:
    ids = await _people(bot)
    starts = bot.clock.now + timedelta(minutes=30)
    activity_id = await _activity(
        bot, starts_at=starts, latitude=VENUE[0], longitude=VENUE[1], checkin_code="482913"
    )
    async with bot.db.transaction() as s:
        for tg in (A, B):
            s.add(
                ActivitySignup(
                    activity_id=activity_id,
                    member_id=ids[tg],
                    status=SignupStatus.signed_up,
                    position=tg,
                )
            )
    user = bot.emu.user(A)
    await user.send_location(26.1000, 119.3000)  # about 3 km away
    far = await bot.emu.wait_for(A, "距离活动地点约")
    assert "500 米以内" in (far.text or "")
    assert (await _signups(bot, activity_id))[ids[A]] is SignupStatus.signed_up
    await user.send_location(VENUE[0] + 0.0005, VENUE[1])
    await bot.emu.wait_for(A, "签到成功")
    assert (await _signups(bot, activity_id))[ids[A]] is SignupStatus.checked_in

    # The check-in link: a wrong code is refused, the right one checks in.
    await bot.emu.user(B).send_command("start", f"act_{activity_id}_111111")
    await bot.emu.wait_for(B, "签到码不正确")
    await bot.emu.user(B).send_command("start", f"act_{activity_id}_482913")
    await bot.emu.wait_for(B, "签到成功")
    # Too late: the window closed two hours after the start.
    bot.clock.now = starts + timedelta(hours=2, minutes=1)
    await bot.emu.user(C).send_command("start", f"act_{activity_id}_482913")
    await bot.emu.wait_for(C, "签到时间已过")
    assert ids[C] not in await _signups(bot, activity_id)


# -- refusals -------------------------------------------------------------------------------


async def test_signup_refused_after_deadline_and_for_a_cancelled_activity(bot: Harness) -> None:
    await _people(bot)
    closed = await _activity(bot, signup_deadline=bot.clock.now - timedelta(hours=1))
    called_off = await _activity(bot, title="已取消的活动")
    user = bot.emu.user(A)
    await user.send_command("start", f"act_{closed}")
    card = await bot.emu.wait_for(A, "走进政协开放日")
    assert "✅ 报名" not in card.buttons()  # no sign-up button after the deadline
    await user.send_callback(card.message_id, f"act:signup:{closed}")  # an old button still tapped
    await _alert(bot, "报名已截止")

    await user.send_command("start", f"act_{called_off}")
    card2 = await bot.emu.wait_for(A, "已取消的活动")
    staff = bot.emu.user(STAFF)
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, "活动管理（共 2 个")
    await staff.tap(home, next(b for b in home.buttons() if "已取消的活动" in b))
    staff_card = await bot.emu.wait_for(STAFF, _has_buttons("❌ 取消活动"), after=0)
    await staff.tap(staff_card, "❌ 取消活动")
    await bot.emu.wait_for(STAFF, "请输入取消原因")
    await staff.send_text("   ")
    await bot.emu.wait_for(STAFF, "请用文字输入")
    await staff.send_text("场地维修")
    await bot.emu.wait_for(STAFF, "活动已取消，已通知 0 位")
    await user.tap(card2, "✅ 报名")
    await _alert(bot, "这个活动已取消")
    assert await _signups(bot, closed) == {} and await _signups(bot, called_off) == {}


async def test_members_cannot_use_staff_buttons_and_forged_ids_change_nothing(
    bot: Harness,
) -> None:
    await _people(bot)
    activity_id = await _activity(bot)
    user = bot.emu.user(A)
    await user.send_command("start", f"act_{activity_id}")
    card = await bot.emu.wait_for(A, "走进政协开放日")
    for data in (f"acs:publish:{activity_id}:1", f"acs:cancel:{activity_id}", "acs:new"):
        await user.send_callback(card.message_id, data)
        await _alert(bot, "仅限机关工作人员")
    for data in ("act:signup:999999", "act:signup:abc", "act:cancel:-3", "act:zz:1", "act"):
        await user.send_callback(card.message_id, data)
        await _alert(bot, "按钮已失效")
    await user.send_command("activities")
    await bot.emu.wait_for(A, "仅限机关工作人员")
    async with bot.db.transaction() as s:
        activity = await s.get(Activity, activity_id)
        assert activity is not None and activity.status is ActivityStatus.published
    assert await _signups(bot, activity_id) == {}


async def test_cancelling_asks_once_before_the_place_is_given_away(bot: Harness) -> None:
    ids = await _people(bot)
    activity_id = await _activity(bot, capacity=1)
    cards = {}
    for tg in (A, B):
        await bot.emu.user(tg).send_command("start", f"act_{activity_id}")
        cards[tg] = await bot.emu.wait_for(tg, "走进政协开放日")
        await bot.emu.user(tg).tap(cards[tg], "✅ 报名" if tg == A else "⏳ 加入候补")
        await _alert(bot, "报名成功" if tg == A else "排第 1 位")
    before = await _signups(bot, activity_id)
    assert before == {ids[A]: SignupStatus.signed_up, ids[B]: SignupStatus.waiting}
    user = bot.emu.user(A)

    # The first tap only asks, in place of the card; nothing is given away yet.
    await user.tap(cards[A], "↩️ 取消报名")
    question = await bot.emu.wait_for(A, "确认取消报名？", after=0)
    assert question.message_id == cards[A].message_id
    assert "「走进政协开放日」" in (question.text or "") and "名额会让给其他委员" in question.text
    assert question.buttons() == ["确认", "返回"]
    assert await _signups(bot, activity_id) == before
    # Back: the card again, still signed up.
    await user.tap(question, "返回")
    await bot.emu.wait_for(A, lambda m: "我的状态：✅ 已报名" in (m.text or ""), after=0)
    assert await _signups(bot, activity_id) == before
    # Confirmed: the place goes to the first waiting member, who is told.
    await user.tap(cards[A], "↩️ 取消报名")
    question = await bot.emu.wait_for(A, "确认取消报名？", after=0)
    await user.tap(question, "确认")
    await _alert(bot, "已取消报名")
    await bot.emu.wait_for(A, lambda m: "我的状态：未报名" in (m.text or ""), after=0)
    await bot.emu.wait_for(B, "已从候补递补")
    assert await _signups(bot, activity_id) == {
        ids[A]: SignupStatus.cancelled,
        ids[B]: SignupStatus.signed_up,
    }
    # The waiting list's question says so; confirming twice (an old button) changes nothing.
    await bot.emu.user(C).send_command("start", f"act_{activity_id}")
    card_c = await bot.emu.wait_for(C, "走进政协开放日")
    await bot.emu.user(C).tap(card_c, "⏳ 加入候补")
    await bot.emu.wait_for(C, "候补第 1 位", after=0)
    await bot.emu.user(C).tap(card_c, "↩️ 取消报名")
    waiting = await bot.emu.wait_for(C, "退出候补名单（现排第 1 位）", after=0)
    await bot.emu.user(C).tap(waiting, "确认")
    await _alert(bot, "已取消报名")
    await bot.emu.user(C).send_callback(card_c.message_id, f"act:cancel_yes:{activity_id}")
    await _alert(bot, "您没有报名这个活动")
    await bot.emu.user(C).send_callback(card_c.message_id, f"act:cancel:{activity_id}")
    await _alert(bot, "您没有报名这个活动")
    assert (await _signups(bot, activity_id))[ids[C]] is SignupStatus.cancelled


async def test_a_refusal_the_press_can_no_longer_take_is_said_in_the_chat(bot: Harness) -> None:
    """A press Telegram no longer lets us answer (handled late, e.g. after a restart): the
    refusal, which would have been a pop-up, arrives as a message instead of being lost."""
    await _people(bot)
    activity_id = await _activity(bot)
    user = bot.emu.user(A)
    await user.send_command("start", f"act_{activity_id}")
    card = await bot.emu.wait_for(A, "走进政协开放日")
    bot.emu.fail_next(
        "answerCallbackQuery",
        error_code=400,
        description="Bad Request: query is too old and response timeout expired",
    )
    await user.send_callback(card.message_id, "act:signup:999999")
    await bot.emu.wait_for(A, "这个按钮已失效")
    assert await _signups(bot, activity_id) == {}


async def test_every_button_with_garbage_arguments_gets_a_polite_answer(
    bot: Harness, caplog: Any
) -> None:
    await _people(bot)
    activity_id = await _activity(bot)
    member_actions = [
        "open", "list", "mine", "signup", "cancel", "cancel_yes", "leave", "leave_no_reason",
        "checkin", "calendar", "v", "j", "l",
    ]  # fmt: skip
    staff_actions = [
        "home", "card", "new_type", "continue", "edit", "edit_field", "skip", "audience", "pick",
        "pick_done", "reply_required", "publish", "postpone", "cancel", "roster", "export",
        "checkin_code", "publish_batch",
    ]  # fmt: skip
    garbage = ["", ":", "abc", "-1", "0", "999999", f"{activity_id}:bogus", f"{activity_id}:"]
    user, staff = bot.emu.user(A), bot.emu.user(STAFF)
    await user.send_command("start", f"act_{activity_id}")
    card = await bot.emu.wait_for(A, "走进政协开放日")
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, "活动管理")
    sent = 0
    for feature, actions, who, message in (
        ("act", member_actions, user, card),
        ("acs", staff_actions, staff, home),
    ):
        for action in actions:
            for arg in garbage:
                data = f"{feature}:{action}:{arg}"[:64]
                await who.send_callback(message.message_id, data)
                await bot.emu.wait_for_call("answerCallbackQuery")  # one answer per tap
                sent += 1
    assert sent == len(garbage) * (len(member_actions) + len(staff_actions))
    # No handler raised (the error handler logs every update that failed).
    failed = [r for r in caplog.records if r.levelname == "ERROR" and r.name.startswith("handlers")]
    assert not failed
    async with bot.db.transaction() as s:
        activity = await s.get(Activity, activity_id)
        assert activity is not None and activity.status is ActivityStatus.published
        assert await s.scalar(select(func.count()).select_from(Activity)) == 1
