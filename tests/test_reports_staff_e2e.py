"""Opinion reports end to end through the Bot API emulator, the staff side: every review
decision and the author's notice of it (and revising a returned report), members refused the
review, and search and exports. (The members' side: test_reports_member_e2e.py.)
"""

from __future__ import annotations

import io

import docx
from openpyxl import load_workbook
from sqlalchemy import func, select

from storage import reports
from storage.audit import Actor
from storage.models import AuditLog, OutboxMessage, ReportStatus
from tests.reports_e2e_support import (
    AUTHOR,
    OTHER,
    PHOTO,
    REVIEW,
    STAFF,
    _alert,
    _has_button,
    _member,
    _report,
    _staff,
    _submitted,
)
from tests.support import Harness

# -- staff side ----------------------------------------------------------------------------------


async def test_each_review_action_notifies_the_author(bot: Harness) -> None:
    author_id = await _member(bot)
    first = await _submitted(bot, author_id, "老旧小区加装电梯")
    bot.clock.advance(minutes=5)
    await _submitted(bot, author_id, "背街小巷路灯不亮")
    staff = await _staff(bot)

    await staff.send_text(REVIEW)
    home = await bot.emu.wait_for(STAFF, "待审核 2 篇")
    await staff.tap(home, "▶️ 下一篇待审核")
    card = await bot.emu.wait_for(STAFF, _has_button("✅ 采用"))  # type: ignore[arg-type]
    assert "老旧小区加装电梯" in card.text and "林文华" in card.text
    await staff.tap(card, "✅ 采用")
    await bot.emu.wait_for(STAFF, "如需给作者留言")
    await staff.send_text("写得很好，已转住建局")
    await bot.emu.wait_for(STAFF, "已通知作者")
    adopted = await bot.emu.wait_for(AUTHOR, "状态更新为：已采用")
    assert "写得很好，已转住建局" in adopted.text and "SQ-2026-000001" in adopted.text

    await staff.send_command("reports", "SQ-2026-000001")
    card = await bot.emu.wait_for(STAFF, _has_button("📤 报送"))  # type: ignore[arg-type]
    assert "✅ 采用" not in card.buttons()
    await staff.tap(card, "📤 报送")
    ask = await bot.emu.wait_for(STAFF, "如需给作者留言")
    await staff.tap(ask, "不留言")
    await bot.emu.wait_for(AUTHOR, "状态更新为：已报送")

    await staff.tap(card, "📝 领导批示")
    await bot.emu.wait_for(STAFF, "请输入批示领导")
    await staff.send_text("王副市长")
    await bot.emu.wait_for(STAFF, "请输入批示内容")
    await staff.send_text("请住建局研究办理")
    instructed = await bot.emu.wait_for(AUTHOR, "获得领导批示")
    assert "批示人：王副市长" in instructed.text and "请住建局研究办理" in instructed.text

    await staff.tap(card, "⭐ 评为优秀")
    await bot.emu.wait_for(AUTHOR, "被评为优秀社情民意信息")

    await staff.send_command("reports", "SQ-2026-000002")
    second = await bot.emu.wait_for(
        STAFF, lambda m: "背街小巷" in (m.text or "") and bool(m.buttons())
    )
    await staff.tap(second, "↩️ 退回")
    await bot.emu.wait_for(STAFF, "请输入退回理由")
    await staff.send_text("   ")
    await bot.emu.wait_for(STAFF, "退回必须写明理由")
    await staff.send_text("请补充具体路段")
    returned = await bot.emu.wait_for(AUTHOR, "已退回")
    assert "退回理由：请补充具体路段" in returned.text

    async with bot.db.transaction() as session:
        audits = list(await session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
        queued = await session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "report_status")
        )
    assert audits == [
        "report.adopt",
        "report.forward",
        "report.instruct",
        "report.excellent",
        "report.return",
    ]
    assert queued == 5
    assert (await _report(bot, first)).status is ReportStatus.instructed

    # The author opens the notice's button and can revise the returned report.
    await _author_revises(bot)


async def _author_revises(bot: Harness) -> None:
    user = bot.emu.user(AUTHOR)
    returned = [m for m in bot.emu.messages_to(AUTHOR) if "已退回" in (m.text or "")][-1]
    await user.tap(returned, "查看详情")
    detail = await bot.emu.wait_for(AUTHOR, "请补充具体路段")
    await user.tap(detail, "✏️ 修改后重新提交")
    preview = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    await user.tap(preview, "✏️ 修改")
    sections = await bot.emu.wait_for(AUTHOR, "要修改哪一部分")
    await user.tap(sections, "基本情况")
    await bot.emu.wait_for(AUTHOR, "第 3/5 步")
    await user.send_text("涉及五一路、八一七路。")
    again = await bot.emu.wait_for(AUTHOR, _has_button("✅ 确认提交"))  # type: ignore[arg-type]
    await user.tap(again, "✅ 确认提交")
    done = await bot.emu.wait_for(AUTHOR, "已重新提交")
    assert "SQ-2026-000002" in done.text


async def test_members_cannot_review(bot: Harness) -> None:
    author_id = await _member(bot)
    report_id = await _submitted(bot, author_id)
    user = bot.emu.user(AUTHOR)
    await user.send_command("reports", "SQ-2026-000001")
    await bot.emu.wait_for(AUTHOR, "仅限机关工作人员")
    await user.send_callback(1, f"rrv:decide:{report_id}:adopt")
    await _alert(bot, "仅限机关工作人员")
    assert (await _report(bot, report_id)).status is ReportStatus.submitted


async def test_staff_search_and_exports(bot: Harness) -> None:
    author_id = await _member(bot)
    other_id = await _member(bot, OTHER, "陈静")
    a = await _submitted(bot, author_id, "老旧小区加装电梯", photo=True)
    bot.clock.advance(days=2)
    await _submitted(bot, other_id, "背街小巷路灯不亮")
    staff = await _staff(bot)
    async with bot.db.transaction() as session:
        await reports.review(
            session,
            Actor(None),
            a,
            reports.ReviewAction.instruct,
            note="请研究",
            instructed_by="王副市长",
            now=bot.clock.now,
        )

    await staff.send_command("reports", "SQ-2026-000001")
    photo = await bot.emu.wait_for(STAFF, lambda m: m.kind == "photo")
    assert photo.data == PHOTO and "site.jpg" in (photo.text or "")
    await bot.emu.wait_for(STAFF, _has_button("📄 Word 文稿"))  # type: ignore[arg-type]

    await staff.send_command("reports", "status=已批示")
    results = await bot.emu.wait_for(STAFF, "找到 1 篇")
    assert "老旧小区加装电梯" in results.text and "背街小巷" not in results.text
    await staff.send_command("reports", "状态=外星")
    await bot.emu.wait_for(STAFF, "没有“外星”这个状态")
    await staff.send_command("reports", "委员=陈静 从=2026-11-26")
    by_member = await bot.emu.wait_for(STAFF, "找到 1 篇")
    assert "背街小巷路灯不亮" in by_member.text

    await staff.send_command("reports", "类别=民生保障")
    everything = await bot.emu.wait_for(STAFF, "找到 2 篇")
    await staff.tap(everything, "📊 导出 Excel")
    sheet_msg = await bot.emu.wait_for(STAFF, lambda m: (m.file_name or "").endswith(".xlsx"))
    assert sheet_msg.data is not None
    book = load_workbook(io.BytesIO(sheet_msg.data))
    rows = list(book["社情民意"].iter_rows(values_only=True))
    assert rows[0][0] == "回执编号" and len(rows) == 3
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["回执编号"] == "SQ-2026-000001" and first["状态"] == "已批示"
    assert "领导批示" in str(first["办理记录"]) and "王副市长" in str(first["办理记录"])
    history = list(book["办理记录"].iter_rows(values_only=True))
    assert len(history) == 4  # header, two submissions, one instruction

    await staff.tap(everything, "📄 导出 Word 汇编")
    doc_msg = await bot.emu.wait_for(STAFF, lambda m: (m.file_name or "").endswith(".docx"))
    assert doc_msg.data is not None
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(doc_msg.data)).paragraphs)
    for expected in ("老旧小区加装电梯", "一、基本情况", "三、意见建议", "建立协商机制", "陈静"):
        assert expected in text, expected
