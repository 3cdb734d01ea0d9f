"""Activities end to end through the Bot API emulator, the staff side: the whole lifecycle
(created in the guided dialog, published, signed up for to a waiting list, leave, check-in,
the roster export), edits and postponing, the batch import, and a draft left half way.
(The members' side: test_activities_member_e2e.py.)
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from storage.models import Activity, ActivitySignup, ActivityStatus, LiaisonPoint, SignupStatus
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
    question = await emu.wait_for(A, "确认取消报名？", after=0)
    await emu.user(A).tap(question, "确认")
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


# -- staff edits ----------------------------------------------------------------------------


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
    await bot.emu.wait_for(STAFF, "已保存")  # places are no news to those signed up
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
