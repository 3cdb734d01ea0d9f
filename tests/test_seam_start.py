"""Binding and the duty record on a second channel, through the seam alone
(tests/channel_plain.py): staff there make an invitation with /invite, a stranger opens it with
/start and is bound, sees their duty record card from the menu, and staff get the statistics
(chart and text) and the year's export as files. None of it may need Telegram."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from storage import identities, members
from storage.identities import Account
from storage.models import Role
from tests.channel_plain import PLAIN, PlainChannel
from tests.support import Harness


async def test_an_invited_member_binds_and_reads_their_record_on_a_second_channel(
    bot: Harness,
) -> None:
    staff_id = await bot.add_member("王干部", "+8615000150000", role=Role.staff)
    lin_id = await bot.add_member("林文华", "+8613800138001")
    async with bot.db.transaction() as session:
        await identities.attach(session, staff_id, Account(PLAIN, "wang", "wang"))
    assert bot.app is not None
    plain = PlainChannel(bot.app.bot_data)

    # Staff make the invitation on this channel: the link is the channel's own.
    await plain.send("wang", "/invite +8613800138001")
    shown = plain.last("wang").text
    assert "林文华的一次性绑定链接" in shown
    code = shown.split("plain://start/")[1].strip()

    # A stranger opens it: bound to the roster member, welcomed by name.
    await plain.send("lin", "/start")
    assert "分享手机号" in plain.last("lin").text  # unbound: told how to bind
    await plain.send("lin", f"/start {code}")
    assert "林文华委员，您好！身份绑定成功" in plain.last("lin").text
    async with bot.db.read() as session:
        bound = await members.by_account(session, Account(PLAIN, "lin", "lin"))
    assert bound is not None and bound.id == lin_id

    # The menu entry works on this channel: the card, as plain text.
    await plain.send("lin", "📋 我的履职")
    card = plain.last("lin").text
    assert "林文华 · 2026年履职档案" in card and "<b>" not in card
    # ... and the staff statistics are refused to a member.
    await plain.send("lin", "/stats")
    assert plain.last("lin").text == "抱歉，此功能仅限机关工作人员使用。"

    # Staff: the chart comes as a file, the statistics with their buttons after it.
    await plain.send("wang", "📊 履职统计")
    chart, stats = plain.shown["wang"][-2:]
    assert chart.file is not None and chart.file[1].startswith(b"\x89PNG")
    assert "2026年履职统计" in stats.text
    assert "📥 导出2026年档案" in stats.labels()
    await plain.press("wang", "📥 导出2026年档案")
    working, export = plain.shown["wang"][-2:]
    assert working.text == "正在生成，请稍候……"
    assert export.file is not None and export.file[0] == "履职档案-2026.xlsx"
    assert "2026年委员履职档案" in export.text
    sheet = load_workbook(io.BytesIO(export.file[1])).worksheets[0]
    names = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert "林文华" in names
