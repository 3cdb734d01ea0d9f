"""The rough edges of the member's report flows, end to end through the Bot API emulator: a
quick report in one long line, no attachments step for a member with nothing to attach, one
short acknowledgement for a burst of files, small talk, what /cancel says, adding oneself as a
co-author, and English that counts right.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.tryout import SentMessage
from storage.models import Report, ReportAttachment
from tests.reports_e2e_support import (
    AUTHOR,
    OTHER,
    PHOTO,
    SUBMIT,
    _count_reports,
    _draft,
    _has_button,
    _index,
    _member,
    _preview,
)
from tests.support import Harness

ONE_LINE = (
    "鼓楼区老旧小区加装电梯进展缓慢，部分小区居民意见不一，协调难度大。"
    "问题是资金缺口明显，审批流程长。建议设立专项资金，简化审批。"
)


async def _report(bot: Harness) -> Report:
    async with bot.db.transaction() as session:
        report = await session.scalar(select(Report))
    assert report is not None
    return report


def _after(bot: Harness, message: SentMessage) -> list[SentMessage]:
    """The bot's messages to the author after message, as they read now (edits applied)."""
    return bot.emu.messages_to(AUTHOR)[_index(bot, message) + 1 :]


# -- 1. a quick report in one line --------------------------------------------------------------


async def test_one_long_line_becomes_a_titled_draft_with_its_three_sections(bot: Harness) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_text(ONE_LINE)
    saved = await bot.emu.wait_for(AUTHOR, "存为社情民意草稿")
    assert "草稿「鼓楼区老旧小区加装电梯进展缓慢」" in saved.text
    assert "已填写：标题、基本情况、存在问题、意见建议" in saved.text
    assert "还需补充：类别" in saved.text
    report = await _report(bot)
    assert report.title == "鼓楼区老旧小区加装电梯进展缓慢"
    assert report.situation == "鼓楼区老旧小区加装电梯进展缓慢，部分小区居民意见不一，协调难度大。"
    assert report.problem == "资金缺口明显，审批流程长。"
    assert report.suggestions == "建议设立专项资金，简化审批。"

    # Category is all that is left: one tap, then the preview.
    await user.tap(saved, "✍️ 现在补全")
    categories = await bot.emu.wait_for(AUTHOR, "第 2/5 步")
    await user.tap(categories, "社会治理")
    preview = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    await user.tap(preview, "✅ 确认提交")
    await bot.emu.wait_for(AUTHOR, "提交成功")


async def test_markers_across_lines_and_unrecognised_text_stays_the_situation(
    bot: Harness,
) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    text = (
        "菜市场周边停车难\n早高峰车辆乱停，占用人行道 <b>&</b>。\n主要问题在于缺少车位。\n"
        "希望有关部门划设限时停车位😀"
    )
    await user.send_text(text)
    saved = await bot.emu.wait_for(AUTHOR, "存为社情民意草稿")
    assert "「菜市场周边停车难」" in saved.text and "还需补充：类别" in saved.text
    report = await _report(bot)
    assert report.title == "菜市场周边停车难"
    assert report.situation == "早高峰车辆乱停，占用人行道 <b>&</b>。"
    assert (report.problem, report.suggestions) == ("缺少车位。", "希望有关部门划设限时停车位😀")


# -- 2. no attachments step when there is nothing to attach ---------------------------------------


async def test_the_last_answer_leads_straight_to_the_preview(bot: Harness) -> None:
    """A member with nothing to attach: the fifth answer, then "submit" (no "✅ 完成" first);
    the preview says files can be sent right there."""
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_text(SUBMIT)
    await bot.emu.wait_for(AUTHOR, "第 1/5 步")
    await user.send_text("公交站台缺少遮雨棚")
    categories = await bot.emu.wait_for(AUTHOR, "第 2/5 步")
    await user.tap(categories, "民生保障")
    for step, answer in (("3/5", "城区近百个站台"), ("4/5", "雨天候车淋雨"), ("5/5", "增设雨棚")):
        await bot.emu.wait_for(AUTHOR, f"第 {step} 步")
        await user.send_text(answer)
    preview = await bot.emu.wait_for(AUTHOR, "请核对您的社情民意信息")
    assert "✅ 确认提交" in preview.buttons()
    assert "需要附上照片、语音或文件？直接发送即可" in preview.text
    assert not any("可以发送照片" in (m.text or "") for m in bot.emu.messages_to(AUTHOR))
    await user.tap(preview, "✅ 确认提交")
    await bot.emu.wait_for(AUTHOR, "提交成功")


# -- 3. one short acknowledgement for a burst of files -------------------------------------------


async def test_an_album_gets_one_running_acknowledgement_and_the_prompt_once(
    bot: Harness,
) -> None:
    member_id = await _member(bot)
    await _draft(bot, member_id)
    user = bot.emu.user(AUTHOR)
    preview = await _preview(bot, user)
    await user.tap(preview, "✏️ 修改")
    sections = await bot.emu.wait_for(AUTHOR, "要修改哪一部分")
    await user.tap(sections, "附件")
    prompt = await bot.emu.wait_for(AUTHOR, "可以发送照片、语音或文件作为附件")
    for _ in range(5):
        await user.send_photo(PHOTO)  # an album: five messages at once
    await bot.emu.wait_for(AUTHOR, "已收到 5 个附件（最多 6 个）")
    (ack,) = _after(bot, prompt)  # five files, one message: no prompt repeated
    assert ack.buttons() == ["✅ 完成", "🗑 删除全部附件"]

    bot.clock.advance(minutes=2)  # a file sent later: a new line below it
    await user.send_voice(b"OggS-voice-note", duration=5)
    later = await bot.emu.wait_for(AUTHOR, "已收到 6 个附件")
    assert _after(bot, prompt) == [ack, later] and "已收到 5 个附件" in (ack.text or "")
    await user.tap(later, "✅ 完成")
    done = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    assert "附件（6）" in done.text
    assert "直接发送即可" not in done.text  # the draft holds all it may
    async with bot.db.transaction() as session:
        kinds = list(await session.scalars(select(ReportAttachment.kind)))
    assert sorted(kinds) == ["photo"] * 5 + ["voice"]


async def test_files_sent_at_a_question_keep_the_question_open(bot: Harness) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_text(SUBMIT)
    await bot.emu.wait_for(AUTHOR, "第 1/5 步")
    await user.send_text("河道垃圾清理不及时")
    categories = await bot.emu.wait_for(AUTHOR, "第 2/5 步")
    await user.tap(categories, "生态环境")
    await bot.emu.wait_for(AUTHOR, "第 3/5 步")
    await user.send_text("河道沿线垃圾堆积。")
    question = await bot.emu.wait_for(AUTHOR, "第 4/5 步")
    for _ in range(3):
        await user.send_photo(PHOTO)
    ack = await bot.emu.wait_for(AUTHOR, "已收到 3 个附件")
    assert "请接着填写「存在问题」" in ack.text and ack.buttons() == []
    assert _after(bot, question) == [ack]  # the long question is not asked three times
    await user.send_text("清运频次不够。")
    await bot.emu.wait_for(AUTHOR, "第 5/5 步")


async def test_an_album_as_a_quick_report_makes_one_summary(bot: Harness) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_photo(PHOTO, caption="路面坑洼，雨后多处积水难以通行")
    for _ in range(3):
        await user.send_photo(PHOTO)
    summary = await bot.emu.wait_for(AUTHOR, "附件：4 个")
    assert len(bot.emu.messages_to(AUTHOR)) == 1
    assert "「路面坑洼」" in summary.text and summary.buttons()[0] == "✍️ 现在补全"
    assert await _count_reports(bot) == 1


# -- 4. small talk -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("谢谢", "不客气"),
        ("谢谢您的帮助！", "不客气"),
        ("好的，谢谢 🙏", "不客气"),
        ("Thank you!!", "不客气"),
        ("好的", "好的 👌"),
        ("收到。", "好的 👌"),
        ("👍", "好的 👌"),
        ("👍🏻👍🏻", "好的 👌"),
        ("ＯＫ", "好的 👌"),
        ("您好", "您好！"),
    ],
)
async def test_small_talk_gets_a_friendly_answer_and_no_draft(
    bot: Harness, text: str, answer: str
) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_text(text)
    reply = await bot.emu.wait_for(AUTHOR, answer)
    assert "没有理解" not in reply.text and "已把您的消息" not in reply.text
    assert await _count_reports(bot) == 0


async def test_small_talk_after_a_quick_draft_is_not_added_to_it(bot: Harness) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_text("背街小巷路灯不亮\n三条小巷晚上漆黑一片。")
    await bot.emu.wait_for(AUTHOR, "存为社情民意草稿")
    bot.clock.advance(minutes=1)
    await user.send_text("谢谢您的帮助！")
    await bot.emu.wait_for(AUTHOR, "不客气")
    report = await _report(bot)
    assert report.situation == "三条小巷晚上漆黑一片。"
    # A real sentence is still a report.
    await user.send_text("另外，路灯维修责任不清。")
    await bot.emu.wait_for(AUTHOR, "已填写：标题、基本情况")
    assert (await _report(bot)).situation == "三条小巷晚上漆黑一片。\n另外，路灯维修责任不清。"


# -- 5. what /cancel says ------------------------------------------------------------------------


async def test_cancel_mentions_a_draft_only_where_there_is_one(bot: Harness) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_text(SUBMIT)
    await bot.emu.wait_for(AUTHOR, "第 1/5 步")
    await user.send_command("cancel")
    nothing = await bot.emu.wait_for(AUTHOR, "已取消当前操作")
    assert "草稿" not in nothing.text  # nothing was typed: there is no draft
    assert await _count_reports(bot) == 0

    await user.send_text(SUBMIT)
    await bot.emu.wait_for(AUTHOR, "第 1/5 步")
    await user.send_text("公交站台缺少遮雨棚")
    await bot.emu.wait_for(AUTHOR, "第 2/5 步")
    await user.send_command("cancel")
    kept = await bot.emu.wait_for(AUTHOR, "已取消")
    assert "保存在草稿「公交站台缺少遮雨棚」中" in kept.text

    # Messages waiting for "add to your draft?" are not added: it says so.
    await user.send_text("另外，站台座椅也坏了多处。")
    await bot.emu.wait_for(AUTHOR, "要把刚才这条消息加入这份草稿吗")
    await user.send_command("cancel")
    dropped = await bot.emu.wait_for(AUTHOR, "已取消")
    assert "没有加入草稿" in dropped.text and "保持原样" in dropped.text
    assert (await _report(bot)).situation is None

    await user.send_command("cancel")
    await bot.emu.wait_for(AUTHOR, "当前没有进行中的操作")


# -- 6. oneself as a co-author -------------------------------------------------------------------


async def test_typing_your_own_name_as_co_author_says_you_are_the_author(bot: Harness) -> None:
    member_id = await _member(bot, name="林文华")
    await _member(bot, OTHER, "林文")
    await _draft(bot, member_id)
    user = bot.emu.user(AUTHOR)
    preview = await _preview(bot, user)
    await user.tap(preview, "👥 联名委员")
    await bot.emu.wait_for(AUTHOR, "要添加联名委员")
    await user.send_text("林文华")
    told = await bot.emu.wait_for(AUTHOR, "不用把自己添加为联名委员")
    assert "没有找到" not in told.text and "« 返回预览" in told.buttons()
    await user.send_text("林文")  # the author and another member: the other is offered
    matches = await bot.emu.wait_for(AUTHOR, "点击即可添加为联名委员")
    assert "您是这份社情民意的作者" in matches.text
    assert matches.buttons() == ["林文", "« 返回预览"]


# -- 7. English counts right ---------------------------------------------------------------------


async def test_english_says_one_message_and_two_messages(bot: Harness) -> None:
    member_id = await bot.add_member(
        "Lin Wenhua", "+8613800138001", telegram_user_id=AUTHOR, locale="en"
    )
    await _draft(bot, member_id, "Lifts for old housing estates")
    user = bot.emu.user(AUTHOR)
    await user.send_text("The lifts also need a maintenance budget.")
    one = await bot.emu.wait_for(AUTHOR, "Add the message you just sent to it?")
    await user.send_text("Residents on the top floors wait the longest.")
    at = _index(bot, one)  # the same question, counting
    await bot.emu.wait_for(AUTHOR, "Add the 2 messages you just sent to it?", after=at)
    await user.send_photo(PHOTO)
    await bot.emu.wait_for(AUTHOR, "Add the 3 messages you just sent to it?", after=at)
    assert len(bot.emu.messages_to(AUTHOR)) == 1


def test_english_texts_never_say_s_in_brackets() -> None:
    root = Path(__file__).parent.parent
    for path in (
        root / "handlers/reports/locales/en/reports.toml",
        root / "bot/locales/en/common.toml",
    ):
        assert "(s)" not in path.read_text(encoding="utf-8"), path
