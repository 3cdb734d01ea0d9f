"""The spreadsheets staff download are what an office works with: times are Excel datetimes in
the office's time zone (naive, with a number format), every table has an autofilter and column
widths, booleans read 是/否, phone numbers are written as staff dial them, no database ids,
and the people the bot does not reach are named (with their phones) in the exports and the
statistics. Every file is fetched through the bot (the emulator) and opened with openpyxl.
(Hostile text in the same files: test_exports_hostile_e2e.py.)
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.exports.sheets import display_phone
from storage import notices
from storage.db import Database
from storage.models import Identity, Member, Sector
from storage.models.notices import AudienceKind, Notice, NoticeRecipient, NoticeStatus
from tests.support import Harness
from tests.test_notices_e2e import STAFF, notice_id, setup_roster, to_economy_with_ack

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
HOSTILE_BODY = '=HYPERLINK("http://evil.example","x") <b>通知</b> & 第一行\n第二行'


def _table(sheet: Worksheet) -> list[dict[str, Any]]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _check_table(sheet: Worksheet) -> None:
    """An autofilter over exactly the table, a frozen header, and a width for every column."""
    last = sheet.cell(1, sheet.max_column).column_letter
    assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}", sheet.title
    assert sheet.freeze_panes == "A2", sheet.title
    for column in range(1, sheet.max_column + 1):
        letter = sheet.cell(1, column).column_letter
        assert sheet.column_dimensions[letter].width, (sheet.title, letter)


def _check_time(sheet: Worksheet, header: str, row: int) -> datetime:
    column = [c.value for c in sheet[1]].index(header) + 1
    cell = sheet.cell(row, column)
    assert isinstance(cell.value, datetime) and cell.value.tzinfo is None, cell.value
    assert cell.number_format == DATETIME_FORMAT
    return cell.value


def test_phones_are_written_as_staff_dial_them() -> None:
    assert display_phone("+8613800138000") == "138 0013 8000"
    assert display_phone("13800138000") == "138 0013 8000"
    assert display_phone("+85291234567") == "+852 9123 4567"
    assert display_phone("+886912345678") == "+886 912 345 678"
    assert display_phone("0591-87654321") == "0591-87654321"  # not a mobile: as stored
    assert display_phone(None) == "" and display_phone("") == ""


async def test_notice_export_names_the_silent_and_those_not_on_the_bot(bot: Harness) -> None:
    await setup_roster(bot)  # 林文华, 陈静 (economy, on the bot), 赵丽 (economy, not on the bot)
    staff = bot.emu.user(STAFF)
    summary = await to_economy_with_ack(bot, HOSTILE_BODY)
    await staff.tap(summary, "🚀 立即发送")
    lin_copy = await bot.emu.wait_for(1001, "第二行")
    await bot.emu.user(1001).tap(lin_copy, "✅ 收到")
    done = await bot.emu.wait_for(STAFF, "已全部处理完毕", timeout=15)

    # The statistics card names the member the notice could not reach ...
    await staff.tap(done, "📊 查看统计")
    card = await bot.emu.wait_for(STAFF, "已回执 1 · 未回执 1")
    assert "未使用本助手、没有收到的 1 人" in (card.text or "") and "赵丽" in (card.text or "")
    # ... and the 未回执 list gives the silent one's phone, to call.
    await staff.tap(card, "未回执")
    silent = await bot.emu.wait_for(STAFF, "未回执（1 人）")
    assert "陈静" in (silent.text or "") and "138 0013 8002" in (silent.text or "")

    await staff.tap(card, "📥 导出 Excel")
    export = await bot.emu.wait_for(STAFF, lambda m: m.kind == "document")
    assert export.data is not None
    book = load_workbook(io.BytesIO(export.data))
    assert book.sheetnames == ["接收情况", "通知内容"]
    sheet = book["接收情况"]
    _check_table(sheet)
    rows = {row["姓名"]: row for row in _table(sheet)}
    assert set(rows) == {"林文华", "陈静", "赵丽"}
    assert rows["林文华"]["手机号"] == "138 0013 8001" and rows["赵丽"]["手机号"] == "138 0013 8004"
    assert [rows[n]["使用本助手"] for n in ("林文华", "陈静", "赵丽")] == ["是", "是", "否"]
    assert rows["林文华"]["回执"] == "收到" and rows["陈静"]["回执"] == "未回执"
    assert rows["赵丽"]["送达情况"] == "未发送：未使用本助手，请电话通知"
    assert rows["赵丽"]["送达时间"] is None and rows["赵丽"]["回执"] is None
    lin_row = next(i for i, r in enumerate(_table(sheet), start=2) if r["姓名"] == "林文华")
    sent = _check_time(sheet, "送达时间", lin_row)
    acked = _check_time(sheet, "回执时间", lin_row)
    # The office's wall clock: the test clock is 2026-11-25 02:00 UTC = 10:00 in Shanghai.
    assert sent.date().isoformat() == "2026-11-25" and 10 <= sent.hour <= 11 and acked >= sent
    assert all("id" not in str(header).lower() for header in rows["林文华"])

    about = {row[0]: row[1] for row in book["通知内容"].iter_rows(values_only=True)}
    assert about["正文"] == HOSTILE_BODY  # the text as typed, a formula only in appearance
    assert about["需要回执"] == "是" and about["发送人数"] == 2 and about["未使用本助手人数"] == 1
    assert book["通知内容"]["B8"].data_type == "s" and book["通知内容"]["B8"].quotePrefix
    assert (
        isinstance(about["发出时间"], datetime) and about["通知编号"] == f"#{await notice_id(bot)}"
    )


async def test_not_reached_lists_the_audience_the_notice_never_went_to(db: Database) -> None:
    """On SQLite and PostgreSQL: audience members without a recipient row, by name, saying
    whether they use the bot now; drafts, other sectors and inactive members are not listed."""
    async with db.transaction() as s:
        economy, farming = Sector(name="经济界"), Sector(name="农业界")
        s.add_all([economy, farming])
        await s.flush()
        people = {
            name: Member(name=name, phone=f"+86138001380{n:02d}", sector_id=sector.id, active=on)
            for n, (name, sector, on) in enumerate(
                (
                    ("林文华", economy, True),  # got it
                    ("赵丽", economy, True),  # not on the bot
                    ("钱进", economy, True),  # started using the bot afterwards
                    ("孙红", economy, False),  # no longer on the roster
                    ("黄志强", farming, True),  # not in the audience
                )
            )
        }
        s.add_all(people.values())
        await s.flush()
        s.add(
            Identity(member_id=people["钱进"].id, channel="telegram", external_id="9", address="9")
        )
        sent = Notice(
            status=NoticeStatus.done,
            body="开会",
            audience_kind=AudienceKind.sectors,
            audience_ids=[economy.id],
        )
        draft = Notice(audience_kind=AudienceKind.everyone, audience_ids=[])
        s.add_all([sent, draft])
        await s.flush()
        s.add(NoticeRecipient(notice_id=sent.id, member_id=people["林文华"].id))
    async with db.transaction() as s:
        lines = await notices.not_reached(s, sent.id)
        assert await notices.not_reached(s, draft.id) == []
    assert [(line.name, line.on_bot) for line in lines] == [("赵丽", False), ("钱进", True)]
    assert lines[0].phone == "+8613800138001" and lines[0].sector == "经济界"
    assert lines[0].delivery is None and lines[0].acked_at is None
