"""Activity spreadsheets for staff: an activity's roster (and the button that sends it, on
record), and the template for batch import.

The roster names everyone with a phone number as staff dial it and says who does not use the
bot yet (they get no reminder or check-in code from it: staff phone them); times are Excel
datetimes in the office's time zone."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from bot.exports.cells import Sheet, append_row
from bot.exports.sheets import display_phone, finish_table, set_widths, time_cell, yes_no
from handlers.activities.common import refuse, staff_activity
from handlers.channel.turn import Turn
from handlers.channel.views import OutFile, Text, View
from storage import activities as acts
from storage import audit, identities
from storage.activities import Roster, RosterEntry, format_span, importer

ROSTER_COLUMNS = (
    ("no", 6),
    ("name", 14),
    ("phone", 16),
    ("sector", 14),
    ("status", 10),
    ("queue", 10),
    ("signed_up_at", 17),
    ("checked_in_at", 17),
    ("checkin_method", 10),
    ("leave_at", 17),
    ("leave_reason", 40),
    ("on_bot", 10),
)


@dataclass(frozen=True)
class Labels:
    """Texts in the staff member's language, resolved by the caller."""

    t: Callable[[str], str]  # a locale key -> its plain text (no placeholders)
    tz: ZoneInfo

    def time(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def _row(
    sheet: Sheet, number: int, entry: RosterEntry, labels: Labels, on_bot: bool
) -> list[object]:
    status = entry.status.value if entry.status else "not_replied"
    method = entry.checkin_method.value if entry.checkin_method else ""
    return [
        number,
        entry.name,
        display_phone(entry.phone),
        entry.sector or "",
        labels.t(f"activities.status_{status}"),
        entry.queue_position or "",
        time_cell(sheet, entry.signed_up_at, labels.tz),
        time_cell(sheet, entry.checked_in_at, labels.tz),
        labels.t(f"activities.method_{method}") if method else "",
        time_cell(sheet, entry.leave_at, labels.tz),
        entry.leave_reason or "",
        yes_no(on_bot, labels.t("common.yes"), labels.t("common.no")),
    ]


def roster_xlsx(roster: Roster, labels: Labels, on_bot: Collection[int] | None = None) -> bytes:
    """Everyone's standing, grouped: signed up (and checked in), waiting in order, leave, not
    replied, cancelled; a second sheet sums it up. on_bot: the member ids the bot reaches
    (None: everyone)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = labels.t("activities.export_sheet_roster")
    header = [labels.t(f"activities.export_col_{c}") for c, _ in ROSTER_COLUMNS]
    append_row(sheet, header, font=Font(bold=True))
    groups = (
        roster.signed_up,
        roster.waiting,
        roster.leave,
        roster.not_replied,
        roster.cancelled,
    )
    number = 0
    not_on_bot = 0
    for group in groups:
        for entry in group:
            number += 1
            reached = on_bot is None or entry.member_id in on_bot
            not_on_bot += not reached
            append_row(sheet, _row(sheet, number, entry, labels, reached))
    finish_table(sheet, [w for _, w in ROSTER_COLUMNS], number)

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
        ("not_on_bot", not_on_bot),
    ):
        append_row(summary, [labels.t(f"activities.export_sum_{key}"), value])
    set_widths(summary, (16, 40))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_template(example: list[object], title: str) -> bytes:
    """The batch import spreadsheet: the header row the importer reads, and one example row."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    append_row(sheet, importer.TEMPLATE_HEADERS, font=Font(bold=True))
    append_row(sheet, example)
    widths = (12, 24, 30, 18, 18, 20, 16, 8, 18, 30, 8)
    finish_table(sheet, widths[: len(importer.TEMPLATE_HEADERS)], 1)
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
        on_bot: set[int] = set()
        if roster is not None:
            everyone = [
                entry.member_id
                for group in (roster.signed_up, roster.waiting, roster.leave)
                for entry in group
            ]
            everyone += [e.member_id for e in (*roster.not_replied, *roster.cancelled)]
            on_bot = set(await identities.addresses_of(session, everyone))
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
    data = await asyncio.to_thread(roster_xlsx, roster, labels, on_bot)
    caption = Text.of("activities.export_caption", title=roster.activity.title)
    name = f"activity-{a.id}-roster.xlsx"
    await turn.reply(View([caption], file=OutFile(name, data=data)))
