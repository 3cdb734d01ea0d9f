"""An activity's files, fetched through the bot (the emulator): the roster spreadsheet staff
phone from (dialled phone numbers, who is not on the bot, Excel datetimes, autofilter, widths)
and the member's calendar file (an alarm at each of the bot's reminder times, valid RFC 5545:
lines folded at 75 octets, commas, semicolons, backslashes and new lines escaped).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from openpyxl import load_workbook

from bot.tryout import BotApiEmulator
from storage.models import ActivitySignup, SignupStatus
from tests.activities_e2e_support import STAFF, A, B, _activity, _has_buttons, _people
from tests.support import FakeClock, Harness, fresh_database, make_settings

TITLE = "微协商：议题一, 议题二; 路径C:\\共享\\材料" + "（加长标题）" * 8
VENUE = "鼓楼区,五一路;3号\\楼"
DESCRIPTION = "第一行：请带身份证\n第二行：8:30 签到"


@pytest.fixture
async def reminding(emulator: BotApiEmulator, tmp_path: Path) -> AsyncIterator[Harness]:
    """The real bot reminding 45 minutes before the start and at 18:30 the day before."""
    async with fresh_database("sqlite", tmp_path) as database:
        settings = make_settings(
            emulator,
            database.url,
            tmp_path,
            reminder_before_start_minutes=45,
            reminder_day_before_at="18:30",
        )
        harness = Harness(emulator, database, settings, FakeClock())
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()


def _unfold(data: bytes) -> list[str]:
    return data.decode().replace("\r\n ", "").split("\r\n")


async def test_calendar_file_has_the_reminders_as_alarms(reminding: Harness) -> None:
    bot = reminding
    await _people(bot)
    starts = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
    activity_id = await _activity(
        bot, starts_at=starts, title=TITLE, place=VENUE, description=DESCRIPTION
    )
    user = bot.emu.user(A)
    await user.send_command("start", f"act_{activity_id}")
    card = await bot.emu.wait_for(A, "加长标题")
    await user.tap(card, "📆 加入日历")
    doc = await bot.emu.wait_for(A, lambda m: m.kind == "document")
    assert doc.data is not None

    # RFC 5545 3.1: CRLF lines of at most 75 octets, continued by a space, characters whole.
    lines = doc.data.split(b"\r\n")
    assert lines[-1] == b"" and all(len(line) <= 75 for line in lines)
    assert all(line.decode() for line in lines[:-1])  # no character split between lines
    unfolded = _unfold(doc.data)
    summary = next(line for line in unfolded if line.startswith("SUMMARY:"))
    assert summary.startswith("SUMMARY:微协商：议题一\\, 议题二\\; 路径C:\\\\共享\\\\材料")
    assert "LOCATION:鼓楼区\\,五一路\\;3号\\\\楼" in unfolded
    description = next(line for line in unfolded if line.startswith("DESCRIPTION:第一行"))
    assert "请带身份证\\n第二行：8:30 签到" in description and "\n" not in description

    # The alarms: 18:30 local the day before (absolute, UTC) and 45 minutes before the start.
    assert "TRIGGER;VALUE=DATE-TIME:20261204T103000Z" in unfolded
    assert "TRIGGER:-PT45M" in unfolded
    (event,) = Calendar.from_ical(doc.data).walk("VEVENT")
    alarms = event.walk("VALARM")
    assert [str(a["ACTION"]) for a in alarms] == ["DISPLAY", "DISPLAY"]
    assert all(str(a["DESCRIPTION"]) == TITLE for a in alarms)
    triggers = [a.decoded("TRIGGER") for a in alarms]
    assert triggers == [datetime(2026, 12, 4, 10, 30, tzinfo=UTC), timedelta(minutes=-45)]
    assert str(event["SUMMARY"]) == TITLE and str(event["LOCATION"]) == VENUE


async def test_roster_export_is_a_table_staff_phone_from(bot: Harness) -> None:
    ids = await _people(bot)
    await bot.add_member("委员丁", "+8613800138009")  # on the roster only, not on the bot
    activity_id = await _activity(bot)
    signed_at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    async with bot.db.transaction() as s:
        s.add(
            ActivitySignup(
                activity_id=activity_id,
                member_id=ids[A],
                status=SignupStatus.signed_up,
                position=1,
                signed_up_at=signed_at,
            )
        )
        s.add(
            ActivitySignup(
                activity_id=activity_id,
                member_id=ids[B],
                status=SignupStatus.leave,
                position=2,
                signed_up_at=signed_at,
                leave_at=signed_at + timedelta(hours=1),
                leave_reason="=SUM(A1) 病假",
            )
        )
    staff = bot.emu.user(STAFF)
    await staff.send_command("activities")
    home = await bot.emu.wait_for(STAFF, "活动管理")
    await staff.tap(home, next(b for b in home.buttons() if "走进政协开放日" in b))
    card = await bot.emu.wait_for(STAFF, _has_buttons("📥 导出名单"), after=0)
    await staff.tap(card, "📥 导出名单")
    export = await bot.emu.wait_for(STAFF, lambda m: m.kind == "document")
    assert export.data is not None
    book = load_workbook(io.BytesIO(export.data))
    sheet = book["名单"]
    header = [c.value for c in sheet[1]]
    rows = {r[1]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(2, values_only=True)}
    assert sheet.auto_filter.ref == f"A1:L{sheet.max_row}" and sheet.freeze_panes == "A2"
    assert all(sheet.column_dimensions[c].width for c in "ABCDEFGHIJKL")
    assert rows["委员甲"]["手机"] == "138 0013 8000" and rows["委员丁"]["手机"] == "138 0013 8009"
    assert rows["委员甲"]["使用本助手"] == "是" and rows["委员丁"]["使用本助手"] == "否"
    assert rows["委员丁"]["状态"] == "未回复"
    assert rows["委员甲"]["报名时间"] == datetime(2026, 11, 25, 10, 0)  # naive, office time
    assert rows["委员乙"]["请假时间"] == datetime(2026, 11, 25, 11, 0)
    assert rows["委员乙"]["请假原因"] == "=SUM(A1) 病假"
    assert rows["委员甲"]["签到时间"] is None
    a_row = next(r[0].row for r in sheet.iter_rows(2) if r[1].value == "委员甲")
    assert sheet.cell(a_row, header.index("报名时间") + 1).number_format == "yyyy-mm-dd hh:mm"
    assert not {"编号", "ID", "Id", "id"} & set(header)  # no database ids
    summary = {r[0]: r[1] for r in book["概况"].iter_rows(values_only=True)}
    assert summary["未使用本助手"] == 1
