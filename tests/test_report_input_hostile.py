"""Hostile input to the report dialog: control characters are dropped when a member's report
text is stored (on SQLite and PostgreSQL alike), a dialog's state and a quick report's waiting
messages stay bounded, and a refused first file leaves no empty draft.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.channels import telegram_account
from bot.tryout import SimUser
from storage import dialogs, reports
from storage.db import Database
from storage.models import DialogState, Member, Report
from storage.reports import Limits
from tests.exports_hostile_support import FIRST_ACCOUNT, FIRST_MEMBER
from tests.support import Harness

# -- input: what the report dialog stores -------------------------------------------------------


async def test_report_text_is_stored_without_control_characters(bot: Harness) -> None:
    member_id = await bot.add_member("林文华", "+8613800138001", telegram_user_id=FIRST_MEMBER)
    user = bot.emu.user(FIRST_MEMBER)
    await user.send_text("📝 提交社情民意")
    await bot.emu.wait_for(FIRST_MEMBER, "第 1/5 步")
    await user.send_text("路灯\x0b不亮\x00")
    categories = await bot.emu.wait_for(FIRST_MEMBER, "第 2/5 步")
    await user.tap(categories, "民生保障")
    await bot.emu.wait_for(FIRST_MEMBER, "第 3/5 步")
    await user.send_text("第一段\x0b第二段\x1f完\x0c第三段")
    await bot.emu.wait_for(FIRST_MEMBER, "第 4/5 步")
    async with bot.db.transaction() as s:
        draft = await s.scalar(select(Report).where(Report.member_id == member_id))
    assert draft is not None
    assert draft.title == "路灯 不亮"  # the soft break became a space in a one-line title
    assert draft.situation == "第一段\n第二段完\n第三段"
    await user.send_command("cancel")

    # A quick report from pasted Word text: its soft breaks split title and situation.
    other = await bot.add_member("陈静", "+8613800138002", telegram_user_id=FIRST_MEMBER + 1)
    quick = bot.emu.user(FIRST_MEMBER + 1)
    await quick.send_text("背街小巷路灯不亮\x0b三条小巷晚上漆黑一片\x00，居民出行不便。")
    await bot.emu.wait_for(FIRST_MEMBER + 1, "存为社情民意草稿")
    async with bot.db.transaction() as s:
        report = await s.scalar(select(Report).where(Report.member_id == other))
    assert report is not None
    assert report.title == "背街小巷路灯不亮"
    assert report.situation == "三条小巷晚上漆黑一片，居民出行不便。"


async def test_report_text_is_cleaned_before_either_database_sees_it(db: Database) -> None:
    """PostgreSQL refuses a NUL in text and a lone surrogate in any string: the same report
    text is stored cleaned on both, as what the member meant."""
    async with db.transaction() as s:
        member = Member(name="林文华", phone="+8613800138001")
        s.add(member)
        await s.flush()
        member_id = member.id
        saved = await reports.save_text(
            s, member_id, "situation", "第一段\x0b第二段\x00完\ud800", Limits()
        )
        assert saved.ok
        merged = await reports.merge_quick(
            s, member_id, "标题：路灯\x00不亮\n存在问题：缺\x1f维护\x0c无人管", Limits()
        )
        assert merged.ok
        suggestions = await reports.save_text(s, member_id, "suggestions", "\x08建立机制", Limits())
        assert suggestions.ok
    async with db.transaction() as s:
        report = await s.scalar(select(Report).where(Report.member_id == member_id))
    assert report is not None
    assert (report.title, report.situation) == ("路灯不亮", "第一段\n第二段完")
    assert (report.problem, report.suggestions) == ("缺维护\n无人管", "建立机制")


async def test_a_dialog_never_keeps_more_than_its_bound(db: Database) -> None:
    """The last line of defence behind the quick report's own limit: whatever a flow tries to
    keep, the state rewritten on every message stays small, and what was kept stays."""
    async with db.transaction() as s:
        await dialogs.set(s, FIRST_ACCOUNT, "report_quick", "merge", {"pending": {"texts": ["a"]}})
    with pytest.raises(dialogs.DialogStateTooLarge):
        async with db.transaction() as s:
            big = {"pending": {"texts": ["情况" * 20_000]}}
            await dialogs.set(s, FIRST_ACCOUNT, "report_quick", "merge", big)
    async with db.transaction() as s:
        kept = await dialogs.get(s, FIRST_ACCOUNT)
    assert kept is not None and kept.data == {"pending": {"texts": ["a"]}}


# -- the quick report's waiting messages ----------------------------------------------------------


async def _state_size(bot: Harness, user_id: int) -> int:
    async with bot.db.transaction() as s:
        row = await s.get(DialogState, telegram_account(user_id).key)
        return len(json.dumps(row.data if row else {}, ensure_ascii=False).encode())


async def test_messages_waiting_for_the_merge_answer_stay_bounded(bot: Harness) -> None:
    member_id = await bot.add_member("林文华", "+8613800138001", telegram_user_id=FIRST_MEMBER)
    async with bot.db.transaction() as s:
        for name, text in (("title", "老旧小区加装电梯"), ("situation", "全市老旧小区约三百个")):
            await reports.save_text(s, member_id, name, text, Limits())
    user = bot.emu.user(FIRST_MEMBER)
    await user.send_text("另外，电梯维保费用也应明确。")
    await bot.emu.wait_for(FIRST_MEMBER, "要把刚才这条消息加入这份草稿吗")
    # Long messages, each for one section: three fit what the draft can hold (a title and
    # three sections of 2,000 characters), the rest are refused.
    body = "加装电梯需要全体业主同意，" * 146  # 1,898 characters
    sections = ("存在问题：", "意见建议：", "基本情况：")
    sizes = []
    for number in range(12):
        bot.clock.advance(minutes=1)  # typed one by one (a burst updates one question)
        await user.send_text(sections[number % 3] + body)
        reply = await bot.emu.wait_for(
            FIRST_MEMBER, lambda m: "加入这份草稿" in (m.text or "") or "没有保存" in (m.text or "")
        )
        sizes.append(await _state_size(bot, FIRST_MEMBER))
        assert reply.buttons() == ["➕ 加入草稿", "✖ 不用了"]
    # Each refusal asks to answer first and says what waits; the state stopped growing.
    refusals = [
        m for m in bot.emu.messages_to(FIRST_MEMBER) if "这条消息没有保存" in (m.text or "")
    ]
    assert len(refusals) == 9
    assert "之前发送的 4 条消息已保留" in (refusals[-1].text or "")
    assert max(sizes) < 32 * 1024 and len(set(sizes[2:])) == 1
    # Answering adds everything that waited, and the draft's own text is still there.
    await user.tap(refusals[-1], "➕ 加入草稿")
    await bot.emu.wait_for(FIRST_MEMBER, "已把您的消息存为社情民意草稿")
    async with bot.db.transaction() as s:
        draft = await s.scalar(select(Report).where(Report.member_id == member_id))
    assert draft is not None and draft.title == "老旧小区加装电梯"
    assert draft.situation == f"全市老旧小区约三百个\n另外，电梯维保费用也应明确。\n{body}"
    assert draft.problem == body and draft.suggestions == body


# -- a refused first file -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "mime", "answer"),
    [
        ("big.pdf", b"%PDF" + b"0" * (1024 * 1024), "application/pdf", "文件太大了"),
        ("tool.exe", b"MZ-binary", "application/octet-stream", "不支持这种文件"),
    ],
)
async def test_a_refused_first_file_leaves_no_empty_draft(
    bot: Harness, name: str, data: bytes, mime: str, answer: str
) -> None:
    await bot.stop()
    bot.settings = bot.settings.model_copy(update={"report_max_attachment_mb": 1})
    await bot.start()
    await bot.add_member("林文华", "+8613800138001", telegram_user_id=FIRST_MEMBER)
    user: SimUser = bot.emu.user(FIRST_MEMBER)
    await user.send_document(data, name, mime)
    await bot.emu.wait_for(FIRST_MEMBER, answer)
    await user.send_text("📋 我的社情民意")
    await bot.emu.wait_for(FIRST_MEMBER, "还没有提交过")
    async with bot.db.transaction() as s:
        assert await s.scalar(select(func.count(Report.id))) == 0
        assert await s.get(DialogState, FIRST_ACCOUNT) is None
    assert not any("无标题" in (m.text or "") for m in bot.emu.messages_to(FIRST_MEMBER))
