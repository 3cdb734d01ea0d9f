"""Hostile text in the cell writer (bot/exports/cells.py): what cannot reach a file through
the bot (a lone surrogate, 100,000 characters) in both kinds of workbook openpyxl writes and in
Word, and the cells of an imported activity spreadsheet that start like formulas, in the
activity's roster export. (Every export through the bot: test_exports_hostile_e2e.py.)
"""

from __future__ import annotations

import io
from datetime import date, datetime

import docx
from openpyxl import Workbook, load_workbook

from bot.exports.cells import add_run, append_row, cell
from storage.models import Role
from tests.exports_hostile_support import (
    HOSTILE,
    LONG,
    STAFF,
    _book_strings,
    _document,
    _docx_text,
    _has_button,
    _utf16,
    _visible,
)
from tests.support import Harness


def test_the_cell_writer_keeps_text_numbers_and_dates() -> None:
    """Text that cannot reach a file through the bot (a lone surrogate, 100,000 characters),
    in both kinds of workbook openpyxl writes and in Word: the file is written and opens."""
    hostile = [*HOSTILE, "\x00=2+2", "孤立\ud800代理", "\ufffe反字节序", LONG]
    plain = [3, -2, 2.5, date(2026, 11, 25), datetime(2026, 11, 25, 9, 30), None]
    for write_only in (False, True):
        book = Workbook(write_only=write_only)
        sheet = book.create_sheet("x") if write_only else book.active
        assert sheet is not None
        append_row(sheet, hostile)
        append_row(sheet, [*plain, cell(sheet, 0.25, number_format="0.0%")])
        out = io.BytesIO()
        book.save(out)
        values = _book_strings(out.getvalue())
        assert values[:-1] == [_visible(v) for v in hostile[:-1]]
        assert values[-1].endswith("…") and _utf16(values[-1]) <= 32_000
        back = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
        numbers = [c.value for c in back[2]]
        assert numbers[:3] == [3, -2, 2.5] and numbers[5] is None and numbers[6] == 0.25
        assert numbers[3] == datetime(2026, 11, 25) and numbers[4] == datetime(2026, 11, 25, 9, 30)
        assert back.cell(2, 7).number_format == "0.0%"

    document = docx.Document()
    for value in hostile:
        add_run(document.add_paragraph(), value)
    out = io.BytesIO()
    document.save(out)
    text = _docx_text(out.getvalue())
    for value in hostile:
        # Word has no carriage return: python-docx writes it as a line break, read back as \n.
        assert _visible(value).replace("\r", "\n") in text, value[:20]


# -- an imported spreadsheet's cells ----------------------------------------------------------


async def test_cells_of_an_imported_activity_stay_text_in_its_export(bot: Harness) -> None:
    """Staff import activities from a spreadsheet whose cells start like formulas (as text:
    that is how a clerk's sheet holds them); the roster export shows them as written."""
    await bot.add_member("审核员", "+8615000150000", role=Role.staff, telegram_user_id=STAFF)
    staff = bot.emu.user(STAFF)
    upload = Workbook()
    sheet = upload.active
    assert sheet is not None
    sheet.append(["类型", "标题", "说明", "开始时间", "结束时间", "地点", "人数", "邀请范围"])
    sheet.append(
        [
            "视察调研",
            "=1+1 导入的视察",
            "+cmd|' /C calc'!A0",
            "2026-12-10 09:00",
            "12:00",
            "-2 号楼 <b>会议室</b>",
            20,
            "全体",
        ]
    )
    # A title typed as text (Excel's apostrophe), not a formula: openpyxl needs telling.
    sheet["B2"].data_type = "s"
    out = io.BytesIO()
    upload.save(out)
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, "活动管理")
    await staff.tap(home, "📥 批量导入")
    await bot.emu.wait_for(STAFF, _document("activities-template.xlsx"))
    await staff.send_document(out.getvalue(), "plan.xlsx", "application/vnd.ms-excel")
    done = await bot.emu.wait_for(STAFF, "已导入 1 个活动")
    await staff.tap(done, "🚀 全部发布并通知")
    await bot.emu.wait_for(STAFF, "已发布 1 个活动")
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, "活动管理")
    await staff.tap(home, next(b for b in home.buttons() if "导入的视察" in b))
    card = await bot.emu.wait_for(STAFF, _has_button("📥 导出名单"), after=0)
    await staff.tap(card, "📥 导出名单")
    roster = await bot.emu.wait_for(STAFF, _document("-roster.xlsx"))
    assert roster.data is not None
    values = _book_strings(roster.data)
    assert "=1+1 导入的视察" in values and "-2 号楼 <b>会议室</b>" in values
