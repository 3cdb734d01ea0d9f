"""Activities end to end through the Bot API emulator, the rough edges staff meet: editing a
draft says "saved" (nobody can have been told), zero places and titles of only emoji are
refused with a clear answer, postponing refuses an earlier start, an unreadable time is
answered with examples, and English texts count in proper plurals."""

from __future__ import annotations

from sqlalchemy import select

from bot.tryout import SentMessage
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    Member,
    SignupStatus,
    TargetKind,
)
from tests.activities_e2e_support import STAFF, A, _activity, _has_buttons, _people
from tests.support import Harness


async def _open_staff_card(bot: Harness, title: str, edit_label: str = "✏️ 修改") -> SentMessage:
    """The staff card of the activity titled title, opened from /activities."""
    staff = bot.emu.user(STAFF)
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, lambda m: any(title in b for b in m.buttons()))
    await staff.tap(home, next(b for b in home.buttons() if title in b))
    buttons = _has_buttons(edit_label)
    return await bot.emu.wait_for(STAFF, lambda m: title in (m.text or "") and buttons(m), after=0)


async def _sign_up(bot: Harness, activity_id: int, member_id: int) -> None:
    async with bot.db.transaction() as s:
        s.add(
            ActivitySignup(
                activity_id=activity_id,
                member_id=member_id,
                status=SignupStatus.signed_up,
                position=1,
            )
        )


async def test_editing_a_draft_says_saved_and_refuses_zero_places_and_emoji_titles(
    bot: Harness,
) -> None:
    await _people(bot)
    draft_id = await _activity(
        bot, status=ActivityStatus.draft, published_at=None, title="营商环境协商会"
    )
    staff = bot.emu.user(STAFF)
    emu = bot.emu

    card = await _open_staff_card(bot, "营商环境协商会")
    await staff.tap(card, "✏️ 修改")
    menu = await emu.wait_for(STAFF, "请选择要修改的项目", after=0)
    await staff.tap(menu, "名称")
    await emu.wait_for(STAFF, "当前：营商环境协商会")
    for emoji in ("🎉🎉🎉", "……！！", "🇨🇳"):
        await staff.send_text(emoji)
        await emu.wait_for(STAFF, "名称须包含文字，不能只有表情或标点")
    await staff.send_text("🎉 营商环境专题协商会")
    saved = await emu.wait_for(STAFF, "已保存")
    assert "通知" not in (saved.text or "")

    card = await emu.wait_for(STAFF, _has_buttons("✏️ 修改"))
    await staff.tap(card, "✏️ 修改")
    menu = await emu.wait_for(STAFF, "请选择要修改的项目", after=0)
    await staff.tap(menu, "人数上限")
    await emu.wait_for(STAFF, "当前：30")
    for zero in ("0", "０", "0人"):
        await staff.send_text(zero)
        refused = await emu.wait_for(STAFF, "人数上限不能是 0")
        assert "不限" in (refused.text or "")
    await staff.send_text("不限")
    saved = await emu.wait_for(STAFF, "已保存")
    assert "通知" not in (saved.text or "")
    async with bot.db.transaction() as s:
        draft = await s.get(Activity, draft_id)
    assert draft is not None
    assert (draft.title, draft.capacity) == ("🎉 营商环境专题协商会", None)
    transcript = emu.transcript(STAFF)
    assert "已通知 0 位" not in transcript and "已修改" not in transcript


async def test_an_edit_nobody_signed_up_for_says_saved_and_one_they_did_counts(
    bot: Harness,
) -> None:
    ids = await _people(bot)
    activity_id = await _activity(bot)
    staff = bot.emu.user(STAFF)
    card = await _open_staff_card(bot, "走进政协开放日")
    await staff.tap(card, "✏️ 修改")
    menu = await bot.emu.wait_for(STAFF, "请选择要修改的项目", after=0)
    await staff.tap(menu, "地点")
    await staff.send_text("新会场")
    await bot.emu.wait_for(STAFF, "已保存")

    await _sign_up(bot, activity_id, ids[A])
    card = await bot.emu.wait_for(STAFF, _has_buttons("✏️ 修改"))
    await staff.tap(card, "✏️ 修改")
    menu = await bot.emu.wait_for(STAFF, "请选择要修改的项目", after=0)
    await staff.tap(menu, "地点")
    await staff.send_text("政协大楼")
    await bot.emu.wait_for(STAFF, "已修改。已通知 1 位已报名或候补的委员")
    await bot.emu.wait_for(A, "地点：新会场 → 政协大楼")


async def test_postpone_refuses_an_earlier_start_and_explains_unreadable_times(
    bot: Harness,
) -> None:
    ids = await _people(bot)
    activity_id = await _activity(bot)  # 2026-12-02 10:00 in Shanghai, a week from now
    await _sign_up(bot, activity_id, ids[A])
    staff = bot.emu.user(STAFF)
    card = await _open_staff_card(bot, "走进政协开放日")
    await staff.tap(card, "⏰ 延期")
    await bot.emu.wait_for(STAFF, "请输入新的开始时间")
    for unreadable in ("13月5日 10:00", "明天25点", "明天3点", "下周"):
        await staff.send_text(unreadable)
        answer = await bot.emu.wait_for(STAFF, "没看懂这个时间")
        assert "明天下午3点" in (answer.text or "") and "周五上午9:30" in (answer.text or "")
    for earlier in ("明天下午3点", "2026-12-02 10:00", "12月1日 9:00"):
        await staff.send_text(earlier)
        refused = await bot.emu.wait_for(STAFF, "延期后的开始时间须晚于现在的开始时间")
        assert "2026-12-02 10:00" in (refused.text or "")
    async with bot.db.transaction() as s:
        activity = await s.get(Activity, activity_id)
        assert activity is not None and activity.status is ActivityStatus.published
    assert "已延期" not in bot.emu.transcript(A)

    await staff.send_text("下周五下午3点")
    await bot.emu.wait_for(STAFF, "已延期，已通知 1 位委员")
    notice = await bot.emu.wait_for(A, "已延期")
    assert "新时间：2026-12-04 15:00–17:00" in (notice.text or "")


async def test_english_texts_count_in_proper_plurals(bot: Harness) -> None:
    ids = await _people(bot)
    async with bot.db.transaction() as s:
        staff_member = await s.get(Member, ids[STAFF])
        assert staff_member is not None
        staff_member.locale = "en"
    one = await _activity(bot, title="Open day", targets=[(TargetKind.member, ids[A])])
    await _sign_up(bot, one, ids[A])
    staff = bot.emu.user(STAFF)
    card = await _open_staff_card(bot, "Open day", "✏️ Edit")
    assert "Invited: named members: 委员甲 (1 member)" in (card.text or "")
    await staff.tap(card, "✏️ Edit")
    menu = await bot.emu.wait_for(STAFF, "what do you want to change", after=0)
    await staff.tap(menu, "Place")
    await staff.send_text("New hall")
    await bot.emu.wait_for(STAFF, "Changed. 1 member signed up or waiting was told.")
    card = await bot.emu.wait_for(STAFF, _has_buttons("⏰ Postpone"))
    await staff.tap(card, "⏰ Postpone")
    await staff.send_text("2026-12-20 10:00")
    await bot.emu.wait_for(STAFF, "⏰ Postponed; 1 member was told.")

    everyone = await _activity(bot, title="Members' day")
    card = await _open_staff_card(bot, "Members' day", "✏️ Edit")
    assert "Invited: all members (4 members)" in (card.text or "")
    async with bot.db.transaction() as s:
        assert await s.get(Activity, everyone) is not None
        assert list(await s.scalars(select(ActivitySignup.member_id))) == [ids[A]]
    transcript = bot.emu.transcript(STAFF)
    assert "(s)" not in transcript and "1 members" not in transcript
