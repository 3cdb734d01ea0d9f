"""Opinion reports end to end through the Bot API emulator, the members' side: the guided and
the quick dialog, attachments, co-authors, a draft across restarts, answers sent again, bad
answers and files, stale previews, My reports, and another member's report.
(Staff review: test_reports_staff_e2e.py.)
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.tryout import SimUser
from storage import reports
from storage.audit import Actor
from storage.models import Report, ReportAttachment, ReportStatus, Role
from tests.reports_e2e_support import (
    AUTHOR,
    MINE,
    OTHER,
    PHOTO,
    SUBMIT,
    _alert,
    _count_reports,
    _draft,
    _has_button,
    _index,
    _member,
    _preview,
    _report,
    _submitted,
)
from tests.support import Harness

# -- member side ---------------------------------------------------------------------------------


async def test_full_guided_submission_with_a_photo(bot: Harness) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_text(SUBMIT)
    await bot.emu.wait_for(AUTHOR, "第 1/5 步")
    await user.send_text("老旧小区加装电梯")
    categories = await bot.emu.wait_for(AUTHOR, "第 2/5 步")
    assert "经济发展" in categories.buttons() and "对台港澳" in categories.buttons()
    await user.tap(categories, "民生保障")
    await bot.emu.wait_for(AUTHOR, "第 3/5 步")
    await user.send_text("全市老旧小区约三百个，多数没有电梯。")
    await bot.emu.wait_for(AUTHOR, "第 4/5 步")
    await user.send_text("加装电梯涉及全体业主，协调难。")
    await bot.emu.wait_for(AUTHOR, "第 5/5 步")
    await user.send_text("建立社区协商机制，财政给予补贴。")
    # No attachments step of its own: the preview says files can be sent right there.
    first = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    assert "直接发送即可" in first.text
    await user.send_photo(PHOTO)
    received = await bot.emu.wait_for(AUTHOR, "已收到 1 个附件（最多 6 个）")
    await user.tap(received, "✅ 完成")
    preview = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    for text in (
        "老旧小区加装电梯",
        "民生保障",
        "多数没有电梯",
        "协调难",
        "财政给予补贴",
        "附件（1）",
    ):
        assert text in preview.text, text
    await user.tap(preview, "✅ 确认提交")
    done = await bot.emu.wait_for(AUTHOR, "提交成功")
    assert "SQ-2026-000001" in done.text

    async with bot.db.transaction() as session:
        report = await session.scalar(select(Report))
        attachment = await session.scalar(select(ReportAttachment))
    assert report is not None and report.status is ReportStatus.submitted
    assert report.category == "livelihood" and report.draft_owner_id is None
    assert attachment is not None and attachment.kind == "photo"
    stored = bot.settings.data_dir / attachment.path
    assert stored.read_bytes() == PHOTO


async def test_quick_submission_completed_later(bot: Harness) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_text("背街小巷路灯不亮\n三条小巷晚上漆黑一片，居民出行不便。")
    saved = await bot.emu.wait_for(AUTHOR, "存为社情民意草稿")
    assert "背街小巷路灯不亮" in saved.text and "还需补充：类别、存在问题、意见建议" in saved.text
    await user.tap(saved, "⏰ 稍后再说")
    await bot.emu.wait_for(AUTHOR, "草稿已保存")

    bot.clock.advance(hours=5)
    await user.send_command("start")
    offer = await bot.emu.wait_for(AUTHOR, "未完成的社情民意草稿")
    assert "背街小巷路灯不亮" in offer.text
    await user.tap(offer, "▶️ 继续填写")
    categories = await bot.emu.wait_for(AUTHOR, "第 2/5 步")
    await user.tap(categories, "社会治理")
    await bot.emu.wait_for(AUTHOR, "第 4/5 步")  # the situation was filled from the message
    await user.send_text("维修责任不清。")
    await bot.emu.wait_for(AUTHOR, "第 5/5 步")
    await user.send_text("明确管养单位。")
    preview = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    assert "居民出行不便" in preview.text
    await user.tap(preview, "✅ 确认提交")
    await bot.emu.wait_for(AUTHOR, "SQ-2026-000001")
    async with bot.db.transaction() as session:
        report = await session.scalar(select(Report))
    assert report is not None and report.source.value == "quick"
    assert report.situation == "三条小巷晚上漆黑一片，居民出行不便。"


async def test_quick_voice_note_with_text_keeps_the_voice(bot: Harness) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_voice(b"OggS-voice-note", duration=12)
    saved = await bot.emu.wait_for(AUTHOR, "存为社情民意草稿")
    assert "附件：1 个" in saved.text
    bot.clock.advance(minutes=1)  # (within seconds, the summary above would be updated)
    await user.send_text("标题：工地夜间施工扰民\n基本情况：凌晨仍在施工")
    added = await bot.emu.wait_for(AUTHOR, "工地夜间施工扰民")
    assert "已填写：标题、基本情况" in added.text
    async with bot.db.transaction() as session:
        report = await session.scalar(select(Report))
        attachment = await session.scalar(select(ReportAttachment))
    assert report is not None and report.title == "工地夜间施工扰民"
    assert attachment is not None and attachment.kind == "voice"
    assert (bot.settings.data_dir / attachment.path).read_bytes() == b"OggS-voice-note"


async def test_free_message_with_a_draft_open_is_only_added_when_asked(bot: Harness) -> None:
    member_id = await _member(bot)
    await _draft(bot, member_id)
    user = bot.emu.user(AUTHOR)
    await user.send_text("另外，电梯维保费用也应明确。")
    offer = await bot.emu.wait_for(AUTHOR, "要把刚才这条消息加入这份草稿吗")
    await user.tap(offer, "➕ 加入草稿")
    await bot.emu.wait_for(AUTHOR, "已把您的消息存为社情民意草稿")
    async with bot.db.transaction() as session:
        report = await session.scalar(select(Report))
    assert report is not None
    assert report.situation == "全市老旧小区约三百个\n另外，电梯维保费用也应明确。"
    assert await _count_reports(bot) == 1


async def test_discarding_a_quick_draft_deletes_it_and_small_talk_makes_none(
    bot: Harness,
) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_text("谢谢")
    await bot.emu.wait_for(AUTHOR, "不客气")
    await user.send_photo(PHOTO, caption="路面坑洼，雨后多处积水难以通行")
    saved = await bot.emu.wait_for(AUTHOR, "存为社情民意草稿")
    async with bot.db.transaction() as session:
        attachment = await session.scalar(select(ReportAttachment))
    assert attachment is not None
    stored = bot.settings.data_dir / attachment.path
    assert stored.read_bytes() == PHOTO
    await user.tap(saved, "🗑 放弃草稿")
    confirm = await bot.emu.wait_for(AUTHOR, "确定放弃草稿")
    await user.tap(confirm, "确认放弃")
    await bot.emu.wait_for(AUTHOR, "草稿已放弃")
    assert await _count_reports(bot) == 0
    assert not stored.exists()
    await user.tap(confirm, "确认放弃")  # the old button again: nothing left to discard
    await _alert(bot, "这个按钮已失效")


async def test_a_photo_sent_at_the_preview_or_coauthor_step_is_attached(bot: Harness) -> None:
    member_id = await _member(bot)
    await _draft(bot, member_id)
    user = bot.emu.user(AUTHOR)
    preview = await _preview(bot, user)
    await user.send_photo(PHOTO)
    received = await bot.emu.wait_for(AUTHOR, "已收到 1 个附件")
    await user.tap(received, "✅ 完成")
    again = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    assert "附件（1）" in again.text and again.message_id != preview.message_id
    await user.tap(again, "👥 联名委员")
    await bot.emu.wait_for(AUTHOR, "要添加联名委员")
    await user.send_photo(PHOTO)
    received = await bot.emu.wait_for(AUTHOR, "已收到 2 个附件")
    await user.tap(received, "✅ 完成")
    third = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    assert "附件（2）" in third.text


async def test_coauthors_are_named_and_see_the_report(bot: Harness) -> None:
    member_id = await _member(bot)
    await _member(bot, OTHER, "陈静")
    await _draft(bot, member_id)
    user = bot.emu.user(AUTHOR)
    preview = await _preview(bot, user)
    await user.tap(preview, "👥 联名委员")
    await bot.emu.wait_for(AUTHOR, "要添加联名委员")
    await user.send_text("陈")
    matches = await bot.emu.wait_for(AUTHOR, "点击即可添加为联名委员")
    await user.tap(matches, "陈静")
    listing = await bot.emu.wait_for(AUTHOR, "联名委员：陈静")
    await user.tap(listing, "« 返回预览")
    again = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    assert "联名委员：陈静" in again.text
    await user.tap(again, "✅ 确认提交")
    await bot.emu.wait_for(AUTHOR, "提交成功")

    coauthor = bot.emu.user(OTHER)
    await coauthor.send_text(MINE)
    mine = await bot.emu.wait_for(OTHER, "我的社情民意（共 1 篇）")
    assert "老旧小区加装电梯（联名）" in mine.text


async def _guided_to_problem(bot: Harness, user: SimUser, title: str, situation: str) -> None:
    """Start the guided dialog and answer it up to the question on the problem (step 4)."""
    await user.send_text(SUBMIT)
    await bot.emu.wait_for(user.user_id, "第 1/5 步")
    await user.send_text(title)
    categories = await bot.emu.wait_for(user.user_id, "第 2/5 步")
    await user.tap(categories, "民生保障")
    await bot.emu.wait_for(user.user_id, "第 3/5 步")
    await user.send_text(situation)
    await bot.emu.wait_for(user.user_id, "第 4/5 步")


async def test_draft_survives_a_restart_mid_conversation(bot: Harness) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await _guided_to_problem(bot, user, "菜市场周边停车难", "早高峰车辆乱停。")

    await bot.restart()
    await user.send_text("缺少临时停车位。")  # the open question survives the restart
    await bot.emu.wait_for(AUTHOR, "第 5/5 步")

    await bot.restart()
    await user.send_command("start")
    offer = await bot.emu.wait_for(AUTHOR, "未完成的社情民意草稿")
    assert "菜市场周边停车难" in offer.text
    await user.tap(offer, "▶️ 继续填写")
    await bot.emu.wait_for(AUTHOR, "第 5/5 步")
    await user.send_text("划设限时停车位。")
    preview = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    for text in ("菜市场周边停车难", "早高峰车辆乱停", "缺少临时停车位", "划设限时停车位"):
        assert text in preview.text


async def test_an_answer_sent_again_is_not_taken_for_the_next_one(bot: Harness) -> None:
    """A crash after the bot moved to the next question and before asking it leaves the member
    with no question, so they send their last answer again: it is not put in the next field
    unless they send it once more on purpose."""
    member_id = await _member(bot)
    user = bot.emu.user(AUTHOR)
    await _guided_to_problem(bot, user, "公交站台缺少遮雨棚", "城区近百个站台没有遮雨棚。")

    await user.send_text("城区近百个站台没有遮雨棚。")  # the last answer, again
    told = await bot.emu.wait_for(AUTHOR, "已保存为「基本情况」")
    assert "存在问题" in told.text
    await bot.emu.wait_for(AUTHOR, "第 4/5 步")
    async with bot.db.transaction() as session:
        draft = await reports.open_draft(session, member_id)
    assert draft is not None and draft.problem is None

    await user.send_text("城区近百个站台没有遮雨棚。")  # meant: the same text for this step
    await bot.emu.wait_for(AUTHOR, "第 5/5 步")
    await user.send_text("雨天候车老人淋雨。")  # a new text goes on as usual
    await bot.emu.wait_for(AUTHOR, "请核对您的社情民意信息")
    async with bot.db.transaction() as session:
        draft = await reports.open_draft(session, member_id)
    assert draft is not None
    assert draft.situation == draft.problem == "城区近百个站台没有遮雨棚。"
    assert draft.suggestions == "雨天候车老人淋雨。"


async def test_double_confirm_creates_one_report(bot: Harness) -> None:
    member_id = await _member(bot)
    await _draft(bot, member_id)
    user = bot.emu.user(AUTHOR)
    preview = await _preview(bot, user)
    data = preview.callback_for("✅ 确认提交")
    await user.send_callback(preview.message_id, data)
    await user.send_callback(preview.message_id, data)
    await bot.emu.wait_for(AUTHOR, "提交成功")
    await _alert(bot, "已经提交过了，回执编号 SQ-2026-000001")
    assert await _count_reports(bot) == 1
    assert sum("提交成功" in (m.text or "") for m in bot.emu.messages_to(AUTHOR)) == 1


async def test_bad_answers_change_nothing(bot: Harness) -> None:
    await _member(bot)
    user = bot.emu.user(AUTHOR)
    await user.send_text(SUBMIT)
    await bot.emu.wait_for(AUTHOR, "第 1/5 步")
    await user.send_text("   ")
    await bot.emu.wait_for(AUTHOR, "内容不能为空")
    await user.send_text("标" * 61)
    await bot.emu.wait_for(AUTHOR, "内容太长了（61 字），请控制在 60 字以内")
    assert await _count_reports(bot) == 0
    await user.send_text("河道垃圾清理不及时")
    categories = await bot.emu.wait_for(AUTHOR, "第 2/5 步")
    await user.send_text("航天")
    await bot.emu.wait_for(AUTHOR, "请点击按钮选择类别")
    await user.tap(categories, "生态环境")
    await bot.emu.wait_for(AUTHOR, "第 3/5 步")
    await user.send_text("情" * 2001)
    await bot.emu.wait_for(AUTHOR, "请控制在 2000 字以内")
    await user.send_text("河道沿线垃圾堆积。")
    await bot.emu.wait_for(AUTHOR, "第 4/5 步")
    await user.send_document(b"MZ-binary", "tool.exe", "application/octet-stream")
    await bot.emu.wait_for(AUTHOR, "不支持这种文件")
    async with bot.db.transaction() as session:
        report = await session.scalar(select(Report))
        files = await session.scalar(select(func.count(ReportAttachment.id)))
    assert report is not None and files == 0
    assert (report.title, report.category) == ("河道垃圾清理不及时", "ecology")
    assert report.situation == "河道沿线垃圾堆积。" and report.problem is None


async def test_file_over_the_size_limit_is_refused(bot: Harness) -> None:
    await bot.stop()
    bot.settings = bot.settings.model_copy(update={"report_max_attachment_mb": 1})
    await bot.start()
    member_id = await _member(bot)
    await _draft(bot, member_id)
    user = bot.emu.user(AUTHOR)
    preview = await _preview(bot, user)
    await user.tap(preview, "✏️ 修改")
    sections = await bot.emu.wait_for(AUTHOR, "要修改哪一部分")
    await user.tap(sections, "附件")
    await bot.emu.wait_for(AUTHOR, "可以发送照片、语音或文件")
    await user.send_document(b"%PDF" + b"0" * (1024 * 1024), "big.pdf", "application/pdf")
    await bot.emu.wait_for(AUTHOR, "文件太大了")
    await user.send_document(b"%PDF-small", "plan.pdf", "application/pdf")
    await bot.emu.wait_for(AUTHOR, "已收到 1 个附件（最多 6 个）")
    async with bot.db.transaction() as session:
        names = list(await session.scalars(select(ReportAttachment.file_name)))
    assert names == ["plan.pdf"]


async def test_stale_preview_and_editing_after_submission_are_refused(bot: Harness) -> None:
    member_id = await _member(bot)
    report_id = await _draft(bot, member_id)
    user = bot.emu.user(AUTHOR)
    old = await _preview(bot, user)
    await user.tap(old, "✏️ 修改")
    sections = await bot.emu.wait_for(AUTHOR, "要修改哪一部分")
    await user.tap(sections, "标题")
    ask = await bot.emu.wait_for(AUTHOR, "第 1/5 步")
    assert "老旧小区加装电梯" in ask.text  # the current text is shown when editing
    await user.send_text("老旧小区加装电梯的协调机制")
    fresh = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    assert "协调机制" in fresh.text

    await user.tap(old, "✅ 确认提交")
    await bot.emu.wait_for(AUTHOR, "这个预览已过期")
    assert (await _report(bot, report_id)).status is ReportStatus.draft

    await user.tap(fresh, "✅ 确认提交")
    await bot.emu.wait_for(AUTHOR, "提交成功")
    await user.send_callback(fresh.message_id, f"rep:edit_section:{report_id}:title")
    await bot.emu.wait_for(AUTHOR, "正在审核或已办理，不能再修改")
    assert (await _report(bot, report_id)).title == "老旧小区加装电梯的协调机制"


async def test_unbound_user_cannot_submit(bot: Harness) -> None:
    stranger = bot.emu.user(3999)
    await stranger.send_text(SUBMIT)
    await bot.emu.wait_for(3999, "还没有绑定委员身份")
    await stranger.send_text("这里有一个很长的社情民意想反映一下")
    await bot.emu.wait_for(3999, "请先完成委员身份绑定")
    await stranger.send_callback(1, "rep:confirm:1:1")
    await _alert(bot, "还没有绑定委员身份")
    assert await _count_reports(bot) == 0


async def test_my_reports_pages_history_and_feedback(bot: Harness) -> None:
    member_id = await _member(bot)
    staff_id = await bot.add_member("审核员", "+8615000150000", role=Role.staff)
    ids = []
    for n in range(7):
        bot.clock.advance(minutes=1)
        ids.append(await _submitted(bot, member_id, f"第{n + 1}篇社情民意"))
    async with bot.db.transaction() as session:
        await reports.review(
            session,
            Actor(staff_id),
            ids[6],
            reports.ReviewAction.adopt,
            note="已转交市住建局",
            now=bot.clock.now + timedelta(hours=1),
        )
    user = bot.emu.user(AUTHOR)
    await user.send_text(MINE)
    first = await bot.emu.wait_for(AUTHOR, "我的社情民意（共 7 篇）")
    assert "第 1/2 页" in first.text and "第7篇社情民意" in first.text
    assert "第1篇社情民意" not in first.text
    at = _index(bot, first)
    await user.tap(first, "下一页 ›")
    await bot.emu.wait_for(
        AUTHOR, lambda m: "第 2/2 页" in (m.text or "") and "第1篇" in (m.text or ""), after=at
    )
    await user.tap(first, "‹ 上一页")
    await bot.emu.wait_for(AUTHOR, lambda m: "第 1/2 页" in (m.text or ""), after=at)
    await user.send_callback(first.message_id, f"rep:open:{ids[6]}")
    detail = await bot.emu.wait_for(AUTHOR, "办理记录")
    for text in ("第7篇社情民意", "SQ-2026-000007", "已采用", "已转交市住建局", "建立协商机制"):
        assert text in detail.text, text


async def test_member_cannot_open_another_members_report_by_forged_callback(bot: Harness) -> None:
    author_id = await _member(bot)
    await _member(bot, OTHER, "陈静")
    report_id = await _submitted(bot, author_id, "仅作者可见的标题")
    other = bot.emu.user(OTHER)
    await other.send_text(MINE)
    listing = await bot.emu.wait_for(OTHER, "还没有提交过社情民意")
    for forged in (
        f"rep:open:{report_id}",
        f"rep:revise:{report_id}",
        f"rep:confirm:{report_id}:1",
    ):
        await other.send_callback(listing.message_id, forged)
        await _alert(bot, "这个按钮已失效")
    assert not any("仅作者可见的标题" in (m.text or "") for m in bot.emu.messages_to(OTHER))
    assert (await _report(bot, report_id)).status is ReportStatus.submitted
