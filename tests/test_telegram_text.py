"""Telegram's lengths (UTF-16 units of the visible text) in the helpers the bot counts, cuts and
splits with, and in the Bot API emulator, which refuses what Telegram refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.telegram_text import (
    parse_html,
    split_html,
    split_html_lines,
    truncate_html,
    truncate_utf16,
    utf16_len,
    visible_len,
)
from bot.tryout import BotApiEmulator, run_emulator

TOKEN = "123456:TEST-TOKEN"
EMOJI = "😀"  # one character, two UTF-16 units


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with run_emulator(TOKEN) as emulator:
        yield emulator


async def test_the_emulator_counts_visible_utf16_units_as_telegram_does(
    emu: BotApiEmulator,
) -> None:
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as bot:
        # 2,049 characters, 4,098 units: refused although len() says it fits.
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(1001, EMOJI * 2049)
        await bot.send_message(1001, EMOJI * 2048)
        # Tags take no room: 4,096 visible units inside <b> are fine.
        await bot.send_message(1001, f"<b>{'x' * 4095}&amp;</b>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
            await bot.send_document(1001, b"d", filename="a.txt", caption=EMOJI * 513)
        await bot.send_document(1001, b"d", filename="a.txt", caption=EMOJI * 512)


def test_truncation_never_cuts_an_emoji_an_entity_or_a_tag() -> None:
    assert truncate_utf16(EMOJI * 10, 5) == EMOJI * 2 + "…"
    assert truncate_utf16("short", 5) == "short"
    html = "<b>" + "a&amp;" * 10 + "</b><i>" + EMOJI * 10 + "</i>"
    for limit in range(1, visible_len(html)):
        cut = truncate_html(html, limit)
        text, _ = parse_html(cut, strict=True)  # still valid, every tag closed
        assert utf16_len(text) <= limit and text.endswith("…")
    assert truncate_html(html, 1000) == html


def test_splitting_loses_nothing_and_every_piece_fits() -> None:
    html = "<b>标题</b>\n" + EMOJI * 3000 + "\n<i>" + "x&lt;" * 3000 + "</i>"
    pieces = split_html(html, 4096)
    assert len(pieces) > 1 and all(visible_len(p) <= 4096 for p in pieces)
    joined = "".join(parse_html(p, strict=True)[0] for p in pieces)
    assert joined.replace("\n", "") == parse_html(html)[0].replace("\n", "")
    lines = [f"· 委员{i} {EMOJI * 60}" for i in range(100)]
    messages = split_html_lines(lines)
    assert all(visible_len(m) <= 4096 for m in messages)
    assert "\n".join(messages).split("\n") == lines
