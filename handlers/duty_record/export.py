"""Duty record spreadsheets: every member's year (with sector and committee summaries), and
the award candidate lists.

The year export streams: rows come from a server-side cursor a batch at a time and go
straight into an openpyxl write-only workbook (which writes each row to a temporary file), so
memory stays flat however many members there are. openpyxl's work runs in a worker thread a
batch at a time, so the bot keeps answering others meanwhile. Headers are in the office's
language (Chinese by default); every sheet has widths, a frozen header row and an autofilter.
Members are named with their phone number as staff dial it (no database ids), and the record
says who does not use the bot yet: the bot neither reminds them nor counts their
acknowledgements, so staff reach them another way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from bot.exports.cells import append_row, cell
from bot.exports.sheets import display_phone, finish_table, time_cell, yes_no
from storage import duty_record
from storage.db import Database
from storage.duty_record import Awards, GroupBy, GroupStats, MemberYear, Totals
from storage.scoring import ScoringRules

if TYPE_CHECKING:
    # openpyxl exports the write-only sheet's class from a private module only (types only).
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

BATCH = 1000
BOLD = Font(bold=True)
PERCENT = "0.0%"

Text = Callable[[str], str]  # a locale key -> its text in the office's language

# (column key under duty.col, width); the order of the columns in the year sheet.
RECORD_COLUMNS: tuple[tuple[str, int], ...] = (
    ("name", 12),
    ("phone", 15),
    ("on_bot", 10),
    ("sector", 14),
    ("committees", 18),
    ("liaison_point", 18),
    ("reports_submitted", 10),
    ("co_submitted", 10),
    ("reports_adopted", 8),
    ("reports_forwarded", 8),
    ("reports_instructed", 8),
    ("reports_excellent", 8),
    ("activities_signed_up", 10),
    ("activities_attended", 8),
    ("activities_leave", 8),
    ("activities_absent", 10),
    ("activities_upcoming", 10),
    ("notices_asked", 12),
    ("notices_on_time", 10),
    ("notices_late", 10),
    ("notices_missed", 10),
    ("points", 8),
    ("status", 8),
)
SUMMARY_COLUMNS: tuple[tuple[str, int], ...] = (
    ("group", 18),
    ("members", 8),
    ("reports", 10),
    ("used", 14),
    ("adoption_rate", 10),
    ("attended", 8),
    ("leave", 8),
    ("absent", 10),
    ("attendance_rate", 10),
    ("notices_asked", 12),
    ("notices_acknowledged", 10),
    ("acknowledgement_rate", 10),
    ("average_points", 10),
)


@dataclass(frozen=True)
class YearExport:
    path: Path
    rows: int
    totals: Totals


def _sheet(
    book: Workbook, title: str, columns: Sequence[tuple[str, int]], text: Text
) -> WriteOnlyWorksheet:
    """A write-only sheet with widths, a frozen bold header row (set before any row)."""
    sheet: WriteOnlyWorksheet = book.create_sheet(title[:31])
    dimensions: Any = sheet  # write-only sheets take column widths; the type stubs omit them
    for index, (_, width) in enumerate(columns, start=1):
        dimensions.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header = [text(f"duty.col.{key}") for key, _ in columns]
    append_row(sheet, header, font=BOLD, alignment=Alignment(wrap_text=True, vertical="center"))
    return sheet


def _points(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def record_row(entry: MemberYear, text: Text) -> list[Any]:
    facts = entry.facts
    values: dict[str, Any] = {
        "name": entry.name,
        "phone": display_phone(entry.phone),
        "on_bot": yes_no(entry.on_bot, text("common.yes"), text("common.no")),
        "sector": entry.sector or "",
        "committees": "、".join(entry.committees),
        "liaison_point": entry.liaison_point or "",
        "points": _points(entry.score.total),
        "status": text("duty.active" if entry.active else "duty.inactive"),
    }
    return [values[key] if key in values else getattr(facts, key) for key, _ in RECORD_COLUMNS]


def _summary_rows(sheet: WriteOnlyWorksheet, groups: Sequence[GroupStats], none_name: str) -> None:
    finish_table(sheet, [w for _, w in SUMMARY_COLUMNS], len(groups))
    for group in groups:
        row: list[Any] = []
        for key, _ in SUMMARY_COLUMNS:
            if key == "group":
                row.append(group.name if group.name is not None else none_name)
            elif key.endswith("_rate"):
                row.append(cell(sheet, getattr(group, key), number_format=PERCENT))
            elif key == "average_points":
                row.append(group.average_points)
            else:
                row.append(getattr(group, key))
        append_row(sheet, row)


def _append_all(sheet: WriteOnlyWorksheet, rows: list[list[Any]]) -> None:
    for row in rows:
        append_row(sheet, row)


async def write_year(
    db: Database,
    path: Path,
    year: int,
    *,
    viewer_id: int,
    now: datetime,
    tz: tzinfo,
    rules: ScoringRules,
    text: Text,
) -> YearExport | None:
    """Every member's record for the year, then the sector and committee summaries; None when
    the viewer is not staff."""
    async with db.snapshot() as session:
        if not await duty_record.is_staff(session, viewer_id):
            return None
    book = Workbook(write_only=True)
    records = _sheet(book, text("duty.sheet.records").format(year=year), RECORD_COLUMNS, text)
    totals = Totals()
    pending: list[list[Any]] = []
    rows = 0
    async with db.snapshot() as session:
        entries = duty_record.stream_year(session, viewer_id, year, now=now, tz=tz, rules=rules)
        async for entry in entries:
            totals.add(entry)
            pending.append(record_row(entry, text))
            rows += 1
            if len(pending) >= BATCH:
                await asyncio.to_thread(_append_all, records, pending)
                pending = []
    await asyncio.to_thread(_append_all, records, pending)
    finish_table(records, [w for _, w in RECORD_COLUMNS], rows)
    for by, key, none_key in (
        (GroupBy.sector, "duty.sheet.sectors", "duty.no_sector"),
        (GroupBy.committee, "duty.sheet.committees", "duty.no_committee"),
    ):
        columns = ((f"group_{by.value}", SUMMARY_COLUMNS[0][1]), *SUMMARY_COLUMNS[1:])
        sheet = _sheet(book, text(key), columns, text)
        _summary_rows(sheet, totals.groups(by), text(none_key))
    await asyncio.to_thread(book.save, path)
    return YearExport(path, rows, totals)


AWARD_MEMBER_COLUMNS: tuple[tuple[str, int], ...] = (
    ("rank", 6),
    ("name", 12),
    ("sector", 14),
    ("committees", 18),
    ("points", 8),
    ("reports_submitted", 10),
    ("reports_adopted", 8),
    ("reports_instructed", 8),
    ("reports_excellent", 8),
    ("activities_attended", 8),
    ("activities_absent", 10),
    ("notices_on_time", 10),
    ("remark", 24),
)
AWARD_REPORT_COLUMNS: tuple[tuple[str, int], ...] = (
    ("rank", 6),
    ("receipt_no", 16),
    ("title", 36),
    ("category", 12),
    ("author", 12),
    ("sector", 14),
    ("coauthors", 20),
    ("outcome", 20),
    ("submitted_at", 17),
    ("remark", 24),
)
AWARD_POINT_COLUMNS: tuple[tuple[str, int], ...] = (
    ("rank", 6),
    ("liaison_point", 24),
    ("micro_consultations", 12),
    ("participants", 12),
    ("remark", 24),
)


def ranks(values: Sequence[Any]) -> list[int]:
    """Competition ranking (1, 2, 2, 4): equal values share a place."""
    ranks: list[int] = []
    for index, value in enumerate(values):
        ranks.append(ranks[-1] if index and value == values[index - 1] else index + 1)
    return ranks


def write_awards(
    awards: Awards, path: Path, *, tz: tzinfo, text: Text, label: Callable[[str, str], str]
) -> None:
    """The three candidate lists, one sheet each, with an empty remark column for staff to
    adjust; label(kind, value) names a report category or status."""
    book = Workbook(write_only=True)
    year = awards.year
    sheet = _sheet(
        book, text("duty.sheet.award_members").format(year=year), AWARD_MEMBER_COLUMNS, text
    )
    finish_table(sheet, [w for _, w in AWARD_MEMBER_COLUMNS], len(awards.members))
    places = ranks([m.score.total for m in awards.members])
    for rank, entry in zip(places, awards.members, strict=True):
        facts = entry.facts
        append_row(
            sheet,
            [
                rank,
                entry.name,
                entry.sector or "",
                "、".join(entry.committees),
                _points(entry.score.total),
                facts.reports_submitted,
                facts.reports_adopted,
                facts.reports_instructed,
                facts.reports_excellent,
                facts.activities_attended,
                facts.activities_absent,
                facts.notices_on_time,
                "",
            ],
        )
    sheet = _sheet(
        book, text("duty.sheet.award_reports").format(year=year), AWARD_REPORT_COLUMNS, text
    )
    finish_table(sheet, [w for _, w in AWARD_REPORT_COLUMNS], len(awards.reports))
    for index, report in enumerate(awards.reports, start=1):
        outcomes = [
            text(f"duty.outcome.{name}")
            for name, reached in (
                ("adopted", report.adopted),
                ("forwarded", report.forwarded),
                ("instructed", report.instructed),
            )
            if reached
        ]
        append_row(
            sheet,
            [
                index,
                report.receipt_no,
                report.title,
                label("category", report.category) if report.category else "",
                report.author,
                report.sector or "",
                "、".join(report.coauthors),
                "、".join(outcomes) or label("status", report.status.value),
                time_cell(sheet, report.submitted_at, tz),
                "",
            ],
        )
    sheet = _sheet(
        book, text("duty.sheet.award_points").format(year=year), AWARD_POINT_COLUMNS, text
    )
    finish_table(sheet, [w for _, w in AWARD_POINT_COLUMNS], len(awards.liaison_points))
    places = ranks([(p.activities, p.participants) for p in awards.liaison_points])
    for rank, point in zip(places, awards.liaison_points, strict=True):
        append_row(sheet, [rank, point.name, point.activities, point.participants, ""])
    book.save(path)
