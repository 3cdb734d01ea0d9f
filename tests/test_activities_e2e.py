"""Activities end to end through the Bot API emulator: the whole lifecycle, deep links, the
calendar file, check-in, My activities, the batch import, and bad input that changes nothing."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.tryout import SentMessage
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    LiaisonPoint,
    Member,
    Role,
    Sector,
    SignupStatus,
    TargetKind,
)
from tests.support import Harness

STAFF = 3001
A, B, C = 4001, 4002, 4003
VENUE = (26.0745, 119.2965)


async def _people(bot: Harness) -> dict[int, int]:
    """A staff member and three bound members; returns telegram id -> member id."""
    ids = {
        STAFF: await bot.add_member(
            "王干事", "+8615000150001", role=Role.staff, telegram_user_id=STAFF
        )
    }
    for n, tg in enumerate((A, B, C)):
        ids[tg] = await bot.add_member(
            f"委员{'甲乙丙'[n]}", f"+861380013800{n}", telegram_user_id=tg
        )
    return ids


async def _activity(bot: Harness, **fields: Any) -> int:
    """A published activity a week ahead (everyone invited unless targets are given)."""
    targets = fields.pop("targets", [(TargetKind.everyone, None)])
    starts = fields.pop("starts_at", bot.clock.now + timedelta(days=7))
    values: dict[str, Any] = {
        "type": ActivityType.visit,
        "status": ActivityStatus.published,
        "title": "走进政协开放日",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
        "place": "政协大楼",
        "capacity": 30,
        "published_at": bot.clock.now,
        **fields,
    }
    async with bot.db.transaction() as s:
        activity = Activity(**values)
        s.add(activity)
        await s.flush()
        for kind, ref in targets:
            s.add(ActivityTarget(activity_id=activity.id, kind=kind, ref_id=ref))
        return activity.id


async def _signups(bot: Harness, activity_id: int) -> dict[int, SignupStatus]:
    async with bot.db.transaction() as s:
        rows = await s.execute(
            select(ActivitySignup.member_id, ActivitySignup.status).where(
                ActivitySignup.activity_id == activity_id
            )
        )
        return {member_id: status for member_id, status in rows}


async def _alert(bot: Harness, text: str) -> None:
    """Wait for a button answer (toast or alert) containing text."""
    await bot.emu.wait_for_call(
        "answerCallbackQuery", lambda c: text in str(c.params.get("text") or "")
    )


def _has_buttons(*labels: str) -> Any:
    def match(m: SentMessage) -> bool:
        return all(label in m.buttons() for label in labels)

    return match


# -- the whole lifecycle -------------------------------------------------------------------


async def test_lifecycle_publish_notify_signup_full_waiting_promotion_leave_checkin_export(
    bot: Harness,
) -> None:
    ids = await _people(bot)
    async with bot.db.transaction() as s:
        s.add(LiaisonPoint(name="鼓楼区委员联系点", latitude=VENUE[0], longitude=VENUE[1]))
    staff = bot.emu.user(STAFF)
    emu = bot.emu

    # Staff create the activity in the guided dialog, with some wrong answers on the way.
    await staff.send_text("🗂 活动管理")
    home = await emu.wait_for(STAFF, "活动管理（共 0 个")
    await staff.tap(home, "➕ 新建活动")
    types = await emu.wait_for(STAFF, "请选择活动类型")
    await staff.tap(types, "微协商")
    await emu.wait_for(STAFF, "请输入活动名称")
    await staff.send_text("社区养老服务微协商")
    skip = await emu.wait_for(STAFF, "请输入活动说明")
    await staff.tap(skip, "跳过")
    await emu.wait_for(STAFF, "请输入开始时间")
    await staff.send_text("下周五下午")
    wrong = await emu.wait_for(STAFF, "没看懂这个时间")
    assert "2026-12-02 14:30" in wrong.text  # an example in the wanted format
    await staff.send_text("2026-12-05 14:30")
    await emu.wait_for(STAFF, "请输入结束时间")
    await staff.send_text("13:00")
    await emu.wait_for(STAFF, "结束时间必须晚于开始时间")
    await staff.send_text("16:30")
    await emu.wait_for(STAFF, "请输入活动地点")
    await staff.send_text("鼓楼区委员联系点")
    await emu.wait_for(STAFF, "请输入人数上限")
    await staff.send_text("两个")
    await emu.wait_for(STAFF, "人数上限请输入 1 到 100000")
    await staff.send_text("2")
    await emu.wait_for(STAFF, "请输入报名截止时间")
    await staff.send_text("12月6日 10:00")
    await emu.wait_for(STAFF, "报名截止时间不能晚于活动开始时间")
    await staff.send_text("2026/12/4 18:00")
    audience = await emu.wait_for(STAFF, "请选择邀请范围")
    await staff.tap(audience, "全体委员")
    reply = await emu.wait_for(STAFF, "是否必须回复")
    await staff.tap(reply, "否")
    await emu.wait_for(STAFF, "草稿已填写完整")
    draft = await emu.wait_for(STAFF, _has_buttons("🚀 发布并通知"))
    assert "邀请：全体委员（4 人）" in draft.text and "2026-12-05 14:30–16:30" in draft.text
    async with bot.db.transaction() as s:
        activity_id = int(await s.scalar(select(func.max(Activity.id))) or 0)
    # Members cannot see a draft, not even by a deep link.
    await bot.emu.user(A).send_command("start", f"act_{activity_id}")
    await emu.wait_for(A, "没有找到这个活动")

    # Publish: every invited member gets the invitation with sign-up buttons.
    await staff.tap(draft, "🚀 发布并通知")
    await emu.wait_for(STAFF, "已发布，正在通知 4 位")
    invitations = {tg: await emu.wait_for(tg, "新活动：社区养老服务微协商") for tg in (A, B, C)}
    assert invitations[A].buttons() == ["✅ 报名", "📝 请假", "查看活动"]

    # Sign up from the invitation: two places, the third member goes on the waiting list.
    for tg in (A, B):
        await emu.user(tg).tap(invitations[tg], "✅ 报名")
        await _alert(bot, "报名成功")
    await emu.user(C).tap(invitations[C], "✅ 报名")
    await _alert(bot, "排第 1 位")
    # The invitation turned into the live card (after=0: an edited message counts again).
    card_c = await emu.wait_for(C, "候补第 1 位", after=0)
    assert "名额：2/2，1 人候补" in card_c.text
    # Signing up again (an old button) changes nothing.
    await emu.user(A).send_callback(invitations[A].message_id, f"act:signup:{activity_id}")
    await _alert(bot, "无需重复报名")
    # ... also with the button's name before the rename (messages already in members' chats).
    await emu.user(A).send_callback(invitations[A].message_id, f"act:j:{activity_id}")
    await _alert(bot, "无需重复报名")

    # A cancels: C moves up and is told, exactly once.
    card_a = await emu.wait_for(A, "我的状态：✅ 已报名", after=0)
    await emu.user(A).tap(card_a, "↩️ 取消报名")
    await _alert(bot, "已取消报名")
    promoted = await emu.wait_for(C, "已从候补递补")
    assert "查看活动" in promoted.buttons()
    signups = await _signups(bot, activity_id)
    assert signups[ids[A]] is SignupStatus.cancelled
    assert signups[ids[C]] is SignupStatus.signed_up

    # After the deadline, B's cancel turns into a leave request with a reason.
    bot.clock.now = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, on the day
    await emu.user(B).send_command("start", f"act_{activity_id}")
    card_b = await emu.wait_for(B, _has_buttons("↩️ 取消报名"))
    await emu.user(B).tap(card_b, "↩️ 取消报名")
    await emu.wait_for(B, "报名已截止，不能直接取消")
    await emu.user(B).send_text("临时出差")
    await emu.wait_for(B, "请假已登记")
    assert (await _signups(bot, activity_id))[ids[B]] is SignupStatus.leave

    # Check-in: staff show the code; a wrong code is refused, the right one checks C in.
    staff_card = await emu.wait_for(STAFF, _has_buttons("🔑 签到码"))
    await staff.tap(staff_card, "🔑 签到码")
    code_msg = await emu.wait_for(STAFF, "签到码：")
    code = re.search(r"签到码：(\d{6})", code_msg.text or "")
    assert code is not None
    assert f"start=act_{activity_id}_{code.group(1)}" in (code_msg.text or "")
    bot.clock.now = datetime(2026, 12, 5, 6, 20, tzinfo=UTC)  # 14:20 local
    wrong_code = "123456" if code.group(1) != "123456" else "654321"
    await emu.user(C).send_text(wrong_code)
    await emu.wait_for(C, "签到码不正确")
    assert (await _signups(bot, activity_id))[ids[C]] is SignupStatus.signed_up
    await emu.user(C).send_text(code.group(1))
    await emu.wait_for(C, "签到成功")
    assert (await _signups(bot, activity_id))[ids[C]] is SignupStatus.checked_in

    # The roster and its export show everyone's standing.
    await staff.tap(staff_card, "📋 名单")
    roster = await emu.wait_for(STAFF, "名单：社区养老服务微协商")
    assert "请假 1 人：委员乙（临时出差）" in (roster.text or "")
    assert "已签到 1 人：委员丙" in (roster.text or "")
    await staff.tap(staff_card, "📥 导出名单")
    sheet_msg = await emu.wait_for(STAFF, lambda m: m.kind == "document")
    assert sheet_msg.file_name == f"activity-{activity_id}-roster.xlsx" and sheet_msg.data
    book = load_workbook(io.BytesIO(sheet_msg.data))
    rows = {r[1]: r for r in book["名单"].iter_rows(min_row=2, values_only=True)}
    assert rows["委员丙"][4] == "已签到" and rows["委员丙"][8] == "签到码"
    assert rows["委员乙"][4] == "请假" and rows["委员乙"][10] == "临时出差"
    assert rows["委员甲"][4] == "已取消"
    assert rows["王干事"][4] == "未回复"


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


async def test_capacity_below_signed_up_is_refused_and_postpone_tells_members(bot: Harness) -> None:
    ids = await _people(bot)
    activity_id = await _activity(bot, capacity=5)
    async with bot.db.transaction() as s:
        for n, tg in enumerate((A, B)):
            s.add(
                ActivitySignup(
                    activity_id=activity_id,
                    member_id=ids[tg],
                    status=SignupStatus.signed_up,
                    position=n + 1,
                )
            )
    staff = bot.emu.user(STAFF)
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, "活动管理")
    await staff.tap(home, next(b for b in home.buttons() if "走进政协开放日" in b))
    card = await bot.emu.wait_for(STAFF, _has_buttons("✏️ 修改"), after=0)
    await staff.tap(card, "✏️ 修改")
    menu = await bot.emu.wait_for(STAFF, "请选择要修改的项目", after=0)
    await staff.tap(menu, "人数上限")
    await bot.emu.wait_for(STAFF, "当前：5")
    await staff.send_text("1")
    await bot.emu.wait_for(STAFF, "已有 2 人报名，人数上限不能少于 2")
    await staff.send_text("10")
    await bot.emu.wait_for(STAFF, "已修改")
    async with bot.db.transaction() as s:
        activity = await s.get(Activity, activity_id)
        assert activity is not None and activity.capacity == 10

    card = await bot.emu.wait_for(STAFF, _has_buttons("⏰ 延期"))  # the card sent after the edit
    assert "名额：2/10" in (card.text or "")
    await staff.tap(card, "⏰ 延期")
    await bot.emu.wait_for(STAFF, "请输入新的开始时间")
    await staff.send_text("2025-01-01 10:00")
    await bot.emu.wait_for(STAFF, "开始时间已经过去了")
    await staff.send_text("12月20日 9:30")
    await bot.emu.wait_for(STAFF, "已延期，已通知 2 位")
    for tg in (A, B):
        notice = await bot.emu.wait_for(tg, "已延期")
        assert "新时间：2026-12-20 09:30–11:30" in (notice.text or "")


# -- batch import ---------------------------------------------------------------------------


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["类型", "标题", "开始时间", "结束时间", "地点", "人数", "邀请范围"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_batch_import_checks_every_row_then_publishes_all(bot: Harness) -> None:
    await _people(bot)
    staff = bot.emu.user(STAFF)
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, "活动管理")
    await staff.tap(home, "📥 批量导入")
    await bot.emu.wait_for(STAFF, "批量导入活动")
    template = await bot.emu.wait_for(STAFF, lambda m: m.kind == "document")
    assert template.file_name == "activities-template.xlsx"

    await staff.send_document(b"MZ", "tool.exe", "application/octet-stream")
    await bot.emu.wait_for(STAFF, "只支持 xlsx")
    bad = _xlsx(
        [
            ["视察调研", "河道治理视察", "2026-12-10 09:00", "12:00", "闽江", 20, "全体"],
            [
                "走进政协",
                "开放日",
                "2026-12-11 09:00",
                "08:00",
                "政协大楼",
                "很多",
                "界别:不存在界",
            ],
        ]
    )
    await staff.send_document(bad, "plan.xlsx", "application/vnd.ms-excel")
    failed = await bot.emu.wait_for(STAFF, "未导入任何活动")
    text = failed.text or ""
    assert "第 3 行：结束时间早于开始时间" in text and "不存在界" in text and "很多" in text
    async with bot.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Activity)) == 0

    good = _xlsx(
        [
            ["视察调研", "河道治理视察", "2026-12-10 09:00", "12:00", "闽江", 20, "全体"],
            ["走进政协", "开放日", "2026/12/11 9:00", "11:00", "政协大楼", "不限", ""],
        ]
    )
    await staff.send_document(good, "plan.xlsx", "application/vnd.ms-excel")
    done = await bot.emu.wait_for(STAFF, "已导入 2 个活动")
    await staff.tap(done, "🚀 全部发布并通知")
    await bot.emu.wait_for(STAFF, "已发布 2 个活动，正在通知 8 人次")
    await bot.emu.wait_for(A, "新活动：河道治理视察")
    await bot.emu.wait_for(A, "新活动：开放日")
    async with bot.db.transaction() as s:
        statuses = set(await s.scalars(select(Activity.status)))
    assert statuses == {ActivityStatus.published}


async def test_a_draft_survives_cancel_continues_where_it_stopped_and_can_be_discarded(
    bot: Harness,
) -> None:
    await _people(bot)
    staff = bot.emu.user(STAFF)
    await staff.send_text("🗂 活动管理")
    home = await bot.emu.wait_for(STAFF, "活动管理（共 0 个")
    await staff.tap(home, "➕ 新建活动")
    types = await bot.emu.wait_for(STAFF, "请选择活动类型")
    await staff.tap(types, "专题协商会")
    await bot.emu.wait_for(STAFF, "请输入活动名称")
    await staff.send_text("  ")
    await bot.emu.wait_for(STAFF, "请用文字输入")
    await staff.send_text("长" * 101)
    await bot.emu.wait_for(STAFF, "名称太长了")
    await staff.send_text("营商环境专题协商会")
    await bot.emu.wait_for(STAFF, "请输入活动说明")
    await staff.send_command("cancel")
    await bot.emu.wait_for(STAFF, "已取消当前操作")

    await staff.send_command("activities")
    listing = await bot.emu.wait_for(STAFF, "活动管理（共 1 个")
    await staff.tap(listing, next(b for b in listing.buttons() if "营商环境" in b))
    draft = await bot.emu.wait_for(STAFF, "还需填写：开始时间", after=0)
    assert "草稿（委员看不到）" in (draft.text or "")
    await staff.tap(draft, "✏️ 继续填写")
    await bot.emu.wait_for(STAFF, "请输入开始时间")
    await staff.send_command("cancel")
    await staff.tap(draft, "🗑 作废草稿")
    await bot.emu.wait_for(STAFF, "草稿已作废")
    async with bot.db.transaction() as s:
        activity = await s.scalar(select(Activity))
    assert activity is not None
    assert activity.title == "营商环境专题协商会" and activity.status is ActivityStatus.cancelled


async def test_every_button_with_garbage_arguments_gets_a_polite_answer(
    bot: Harness, caplog: Any
) -> None:
    await _people(bot)
    activity_id = await _activity(bot)
    member_actions = [
        "open", "list", "mine", "signup", "cancel", "leave", "leave_no_reason", "checkin",
        "calendar", "v", "j", "l",
    ]  # fmt: skip
    staff_actions = [
        "home", "card", "new_type", "continue", "edit", "edit_field", "skip", "audience",
        "reply_required", "publish", "postpone", "cancel", "roster", "export", "checkin_code",
        "publish_batch",
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
