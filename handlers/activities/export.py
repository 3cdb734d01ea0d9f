"""Activity spreadsheets for staff: an activity's roster (and the button that sends it, on
record), and the template for batch import."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bot.exports.cells import append_row
from handlers.activities.common import refuse, staff_activity
from handlers.channel.turn import Turn
from handlers.channel.views import OutFile, Text, View
from storage import activities as acts
from storage import audit
from storage.activities import Roster, RosterEntry, format_span, importer

ROSTER_COLUMNS = (
    "no",
    "name",
    "phone",
    "sector",
    "status",
    "queue",
    "signed_up_at",
    "checked_in_at",
    "checkin_method",
    "leave_at",
    "leave_reason",
)


@dataclass(frozen=True)
class Labels:
    """Texts in the staff member's language, resolved by the caller."""

    t: Callable[[str], str]  # a locale key -> its plain text (no placeholders)
    tz: ZoneInfo

    def time(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def _row(number: int, entry: RosterEntry, labels: Labels) -> list[object]:
    status = entry.status.value if entry.status else "not_replied"
    method = entry.checkin_method.value if entry.checkin_method else ""
    return [
        number,
        entry.name,
        entry.phone or "",
        entry.sector or "",
        labels.t(f"activities.status_{status}"),
        entry.queue_position or "",
        labels.time(entry.signed_up_at),
        labels.time(entry.checked_in_at),
        labels.t(f"activities.method_{method}") if method else "",
        labels.time(entry.leave_at),
        entry.leave_reason or "",
    ]


def roster_xlsx(roster: Roster, labels: Labels) -> bytes:
    """Everyone's standing, grouped: signed up (and checked in), waiting in order, leave, not
    replied, cancelled; a second sheet sums it up."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = labels.t("activities.export_sheet_roster")
    header = [labels.t(f"activities.export_col_{c}") for c in ROSTER_COLUMNS]
    append_row(sheet, header, font=Font(bold=True))
    groups = (
        roster.signed_up,
        roster.waiting,
        roster.leave,
        roster.not_replied,
        roster.cancelled,
    )
    number = 0
    for group in groups:
        for entry in group:
            number += 1
            append_row(sheet, _row(number, entry, labels))
    widths = (6, 14, 16, 14, 10, 10, 18, 18, 10, 18, 40)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"

    summary = book.create_sheet(labels.t("activities.export_sheet_summary"))
    a = roster.activity
    for key, value in (
        ("title", a.title),
        ("when", format_span(a.starts_at, a.ends_at, labels.tz)),
        ("place", a.venue),
        ("capacity", a.capacity if a.capacity is not None else labels.t("activities.unlimited")),
        ("signed_up", a.signed_up),
        ("waiting", a.waiting),
        ("leave", a.leave),
        ("checked_in", a.checked_in),
        ("not_replied", len(roster.not_replied)),
    ):
        append_row(summary, [labels.t(f"activities.export_sum_{key}"), value])
    summary.column_dimensions["A"].width = 16
    summary.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_template(example: list[object]) -> bytes:
    """The batch import spreadsheet: the header row the importer reads, and one example row."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "活动"
    append_row(sheet, importer.TEMPLATE_HEADERS, font=Font(bold=True))
    append_row(sheet, example)
    for index, width in enumerate((12, 24, 30, 18, 18, 20, 16, 8, 18, 30, 8), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def send_roster(turn: Turn) -> None:
    """Button: the roster spreadsheet."""
    a = await staff_activity(turn)
    if a is None:
        return
    async with turn.db.transaction() as session:
        roster = await acts.roster(session, a.id)
        if roster is not None:
            # The roster carries names and phone numbers: who took it out is on record.
            rows = len(roster.signed_up) + len(roster.waiting) + len(roster.leave)
            rows += len(roster.not_replied) + len(roster.cancelled)
            await audit.record(
                session,
                turn.member.actor,
                "activity.export",
                object_type="activity",
                object_id=a.id,
                rows=rows,
            )
    if roster is None:
        await refuse(turn, "common.stale_button")
        return
    labels = Labels(turn.plain, turn.settings.tz)
    data = await asyncio.to_thread(roster_xlsx, roster, labels)
    caption = Text.of("activities.export_caption", title=roster.activity.title)
    name = f"activity-{a.id}-roster.xlsx"
    await turn.reply(View([caption], file=OutFile(name, data=data)))
