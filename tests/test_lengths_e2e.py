"""Message lengths counted as Telegram counts them: UTF-16 code units of the visible text.

An emoji outside the BMP is one character in Python but two units for Telegram. A report preview
measured in characters once came to 4,099 units: Telegram refused it and the Submit button never
came. The emulator refuses such messages exactly as Telegram does, so these previews only arrive
when the bot counts, splits and shortens in units.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.telegram_text import MAX_TEXT_LENGTH, utf16_len
from bot.tryout import BotApiEmulator, SentMessage, SimUser
from storage import reports
from storage.models import Role
from storage.reports import Limits
from tests.support import FakeClock, Harness, fresh_database, make_settings

AUTHOR, STAFF = 3001, 4001
SUBMIT = "📝 提交社情民意"
MINE = "📋 我的社情民意"
CONFIRM = "✅ 确认提交"
SECTIONS = ("situation", "problem", "suggestions")


def _emoji_text(name: str, length: int) -> str:
    """``length`` characters, nearly all emoji (2 UTF-16 units each), with recognisable ends."""
    return f"「{name}" + "😀" * (length - 2 * len(name) - 2) + f"{name}」"


async def _draft_at_the_limits(bot: Harness) -> tuple[int, dict[str, str]]:
    """A complete draft whose title and three sections are as long as the settings allow."""
    settings = bot.settings
    limits = Limits(
        title=settings.report_title_max_chars, section=settings.report_section_max_chars
    )
    member_id = await bot.add_member("林文华", "+8613800138001", telegram_user_id=AUTHOR)
    texts = {"title": "🏙" * limits.title}
    texts |= {name: _emoji_text(name, limits.section) for name in SECTIONS}
    async with bot.db.transaction() as session:
        for name, text in texts.items():
            saved = await reports.save_text(session, member_id, name, text, limits)
            assert saved.ok, (name, saved.outcome)
        chosen = await reports.save_category(session, member_id, "livelihood", ["livelihood"])
        assert chosen.report is not None
    return chosen.report.id, texts


async def _open_preview(bot: Harness, user: SimUser) -> SentMessage:
    await user.send_text(SUBMIT)
    offer = await bot.emu.wait_for(AUTHOR, "未完成的社情民意草稿")
    await user.tap(offer, "▶️ 继续填写")
    return await bot.emu.wait_for(AUTHOR, lambda m: CONFIRM in m.buttons())


def _shown(bot: Harness, after: int) -> list[SentMessage]:
    return bot.emu.messages_to(AUTHOR)[after:]


async def test_preview_at_the_default_limits_in_emoji_arrives_whole_with_submit(
    bot: Harness,
) -> None:
    _, texts = await _draft_at_the_limits(bot)
    # 2000 characters, but about 4000 units: each section alone nearly fills a message.
    assert all(utf16_len(texts[name]) > 3900 for name in SECTIONS)
    user = bot.emu.user(AUTHOR)
    before = len(bot.emu.messages_to(AUTHOR))
    preview = await _open_preview(bot, user)
    pages = _shown(bot, before)
    assert all(utf16_len(page.text or "") <= MAX_TEXT_LENGTH for page in pages)
    shown = "\n".join(page.text or "" for page in pages)
    for text in texts.values():  # each section fits a message of its own: nothing is cut
        assert text in shown
    await user.tap(preview, CONFIRM)
    done = await bot.emu.wait_for(AUTHOR, "提交成功")
    assert "SQ-2026-000001" in (done.text or "")


@pytest.fixture
async def roomy_bot(emulator: BotApiEmulator, tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot with sections as long as the settings allow (3500 characters, 7000 units)."""
    async with fresh_database("sqlite", tmp_path) as database:
        settings = make_settings(
            emulator,
            database.url,
            tmp_path,
            report_section_max_chars=3500,
            report_title_max_chars=200,
        )
        harness = Harness(emulator, database, settings, FakeClock())
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()


async def test_preview_of_sections_longer_than_a_message_is_shortened_and_keeps_submit(
    roomy_bot: Harness,
) -> None:
    bot = roomy_bot
    _, texts = await _draft_at_the_limits(bot)
    user = bot.emu.user(AUTHOR)
    before = len(bot.emu.messages_to(AUTHOR))
    preview = await _open_preview(bot, user)
    shown = "\n".join(page.text or "" for page in _shown(bot, before))
    for name in SECTIONS:  # each section begins as written and ends in an ellipsis
        assert f"「{name}😀" in shown
        assert texts[name] not in shown
    assert shown.count("😀…") == len(SECTIONS) and "suggestions」" not in shown
    await user.tap(preview, CONFIRM)
    await bot.emu.wait_for(AUTHOR, "提交成功")

    # My reports shows the whole report, each long section over several messages.
    before = len(bot.emu.messages_to(AUTHOR))
    await user.send_text(MINE)
    listing = await bot.emu.wait_for(AUTHOR, "SQ-2026-000001", after=before)
    await user.tap(listing, listing.buttons()[0])
    await bot.emu.wait_for(AUTHOR, "状态", after=before + 1)
    await bot.emu.wait_for(AUTHOR, "suggestions」", after=before + 1)
    whole = "".join((page.text or "").replace("\n", "") for page in _shown(bot, before + 1))
    for name in SECTIONS:
        assert texts[name] in whole


async def test_a_notice_is_measured_in_units_before_anyone_is_sent_it(bot: Harness) -> None:
    # 2,040 emoji are 4,080 units: Telegram takes them from staff, but with the notice's header
    # and footer every member's copy would be over 4,096 and refused. They are refused here,
    # while composing, instead; 1,900 emoji (3,800 units) fit.
    await bot.add_member("王干部", "+8615000150000", role=Role.staff, telegram_user_id=STAFF)
    staff = bot.emu.user(STAFF)
    await staff.send_text("📢 发通知")
    await bot.emu.wait_for(STAFF, "请发送通知内容")
    await staff.send_text("😀" * 2040)
    await bot.emu.wait_for(STAFF, "太长了（4080 字）")
    await staff.send_text("😀" * 1900)
    await bot.emu.wait_for(STAFF, "通知内容已保存")
