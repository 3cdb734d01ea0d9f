"""Activities in storage, the spreadsheet importer: a batch imported as drafts or not at all
(on SQLite and PostgreSQL), a file that is no spreadsheet, and the import template's examples
in every language. (How staff write a time: test_activities_when.py.)"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import Workbook
from sqlalchemy import func, select

from bot.i18n import Texts
from storage import activities as acts
from storage.activities import importer as activity_import
from storage.db import Database
from storage.models import Activity, ActivityStatus, LiaisonPoint, Sector, TargetKind
from tests.activities_storage_support import NOW, STAFF, TZ

# -- staff input: dates and the spreadsheet ------------------------------------------------


def _sheet(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        [
            "类型",
            "标题",
            "说明",
            "开始时间",
            "结束时间",
            "地点",
            "联系点",
            "人数",
            "报名截止",
            "邀请范围",
            "需回复",
        ]
    )
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_import_creates_drafts_of_one_batch_or_nothing(db: Database) -> None:
    async with db.transaction() as s:
        s.add_all(
            [
                Sector(name="经济界"),
                LiaisonPoint(name="鼓楼联系点", latitude=26.07, longitude=119.29),
            ]
        )
    good: list[list[object]] = [
        [
            "走进政协",
            "开放日",
            "参观",
            datetime(2026, 12, 5, 14, 30),
            "16:30",
            "政协大楼",
            "",
            30,
            "2026-12-03 18:00",
            "全体",
            "否",
        ],
        [
            "微协商",
            "养老微协商",
            "",
            "2026/12/8 9:00",
            "2026/12/8 11:00",
            "",
            "鼓楼联系点",
            "不限",
            "",
            "界别:经济界",
            "是",
        ],
    ]
    bad: list[list[object]] = [
        *good,
        ["野餐", "", "", "明天", "", "", "", "-3", "", "界别:科幻界", "也许"],
    ]
    async with db.transaction() as s:
        rows = activity_import.parse_sheet(_sheet(bad))
        report = await activity_import.import_activities(s, rows, actor=STAFF, tz=TZ, now=NOW)
    errors = {p.error for p in report.problems}
    assert {p.row for p in report.problems} == {4}
    assert {
        activity_import.RowError.bad_type,
        activity_import.RowError.missing_title,
        activity_import.RowError.bad_start,
        activity_import.RowError.bad_capacity,
        activity_import.RowError.unknown_audience,
        activity_import.RowError.bad_reply,
    } <= errors
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Activity)) == 0
        rows = activity_import.parse_sheet(_sheet(good))
        report = await activity_import.import_activities(s, rows, actor=STAFF, tz=TZ, now=NOW)
    assert report.ok and len(report.created) == 2 and report.batch
    async with db.transaction() as s:
        assert await acts.batch_ids(s, report.batch) == report.created
        first = await s.get(Activity, report.created[0])
        second = await s.get(Activity, report.created[1])
    assert first is not None and second is not None
    assert first.status is ActivityStatus.draft and first.capacity == 30
    assert first.starts_at == datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
    assert first.ends_at == datetime(2026, 12, 5, 8, 30, tzinfo=UTC)
    assert second.capacity is None and second.reply_required
    assert second.place == "鼓楼联系点" and second.latitude == 26.07


def test_a_file_that_is_no_spreadsheet_is_refused() -> None:
    for data in (b"not a spreadsheet", _sheet([])):
        try:
            activity_import.parse_sheet(data)
        except activity_import.SheetFileError as exc:
            assert exc.code in (
                activity_import.SheetError.unreadable,
                activity_import.SheetError.empty,
            )
        else:
            raise AssertionError("accepted")


async def test_import_template_examples_in_every_language_are_accepted(db: Database) -> None:
    """The import template's example row comes from the staff member's locale; sent back
    unchanged, its type, audience and reply-required cells must be values the import accepts."""
    texts = Texts("zh-CN")
    for locale in texts.locales:
        kind = activity_import.parse_type(texts.get(locale, "activities.template_type"))
        reply = activity_import.parse_yes_no(
            texts.get(locale, "activities.template_reply_required")
        )
        async with db.transaction() as session:
            audience = await activity_import.parse_audience(
                session, texts.get(locale, "activities.template_audience")
            )
        assert kind is not None and reply is False, locale
        assert [t.kind for t in audience.targets] == [TargetKind.everyone] and not audience.unknown
