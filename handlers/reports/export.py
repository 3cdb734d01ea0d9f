"""Opinion report exports for staff: an xlsx of many reports with their history, and Word
documents (a compilation of a search's results, or one report); each one audited. The Word
page, styles and properties are the office's (bot/exports/word.py).

Word (docx) rather than plain text for the compilation: the office assembles its printed
compilation (社情民意信息汇编) in Word/WPS, and a docx keeps the title as a heading, the three
section labels in bold and each paragraph indented, so a clerk pastes it in without retyping
the formatting; plain text would lose all of that.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exports import word
from bot.exports.cells import append_row
from bot.exports.sheets import finish_table, time_cell, yes_no
from handlers.channel.turn import Turn
from handlers.channel.views import OutFile, Text, View
from handlers.reports.cards import category_label, pressed, refuse
from handlers.reports.query import Query, decode, encode
from handlers.wiring import TurnButtonHandler
from storage import audit, reports
from storage.reports import SECTIONS, ReportView

# A compilation document of more reports than this is better built from the xlsx in batches;
# staff are told when their search found more.
DOCX_LIMIT = 300


@dataclass(frozen=True)
class Labels:
    """Texts in the staff member's language, resolved by the caller."""

    t: Callable[[str], str]  # a locale key -> its text (no placeholders)
    category: Callable[[str | None], str]
    status: Callable[[str], str]  # a ReportStatus value -> its name
    action: Callable[[str], str]  # a history action -> its name
    tz: ZoneInfo

    def time(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def _history(view: ReportView, labels: Labels) -> str:
    lines = []
    for event in view.events:
        line = f"{labels.time(event.at)} {labels.action(event.action)}"
        if event.actor_name:
            line += f"（{event.actor_name}）"
        if event.instructed_by:
            line += f" {labels.t('reports.export.instructed_by')}: {event.instructed_by}"
        if event.note:
            line += f" — {event.note}"
        lines.append(line)
    return "\n".join(lines)


REPORT_COLUMNS: tuple[tuple[str, float], ...] = (
    ("receipt", 16),
    ("title", 30),
    ("category", 12),
    ("status", 10),
    ("excellent", 8),
    ("author", 12),
    ("sector", 14),
    ("coauthors", 18),
    ("submitted", 17),
    ("reviewed", 17),
    ("source", 12),
    *((name, 50.0) for name in SECTIONS),
    ("attachments", 20),
    ("feedback", 30),
    ("history", 60),
)
EVENT_COLUMNS: tuple[tuple[str, float], ...] = (
    ("receipt", 16),
    ("title", 30),
    ("time", 17),
    ("action", 12),
    ("status", 10),
    ("staff", 12),
    ("instructed_by", 14),
    ("note", 50),
)


def build_xlsx(views: Sequence[ReportView], labels: Labels) -> bytes:
    """One row per report with every field and its status history; a second sheet lists
    every history entry on its own row (for sorting and counting)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = labels.t("reports.export.sheet_reports")
    header = [labels.t(f"reports.export.col.{c}") for c, _ in REPORT_COLUMNS]
    append_row(sheet, header, font=Font(bold=True))
    yes, no = labels.t("common.yes"), labels.t("common.no")
    for view in views:
        feedback = view.latest_feedback
        row = [
            view.receipt_no or "",
            view.title or "",
            labels.category(view.category),
            labels.status(view.status.value),
            yes_no(view.excellent, yes, no),
            view.author_name,
            view.author_sector or "",
            "、".join(p.name for p in view.coauthors),
            time_cell(sheet, view.submitted_at, labels.tz),
            time_cell(sheet, view.reviewed_at, labels.tz),
            labels.t(f"reports.export.source.{view.source.value}"),
            *(view.value(name) or "" for name in SECTIONS),
            "\n".join(a.file_name for a in view.attachments),
            feedback.note if feedback and feedback.note else "",
            _history(view, labels),
        ]
        append_row(sheet, row)
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    finish_table(sheet, [w for _, w in REPORT_COLUMNS], len(views))

    events = book.create_sheet(labels.t("reports.export.sheet_history"))
    header = [labels.t(f"reports.export.col.{c}") for c, _ in EVENT_COLUMNS]
    append_row(events, header, font=Font(bold=True))
    count = 0
    for view in views:
        for event in view.events:
            count += 1
            append_row(
                events,
                [
                    view.receipt_no or "",
                    view.title or "",
                    time_cell(events, event.at, labels.tz),
                    labels.action(event.action),
                    labels.status(event.status.value),
                    event.actor_name or "",
                    event.instructed_by or "",
                    event.note or "",
                ],
            )
    finish_table(events, [w for _, w in EVENT_COLUMNS], count)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def build_docx(
    views: Sequence[ReportView],
    labels: Labels,
    properties: word.Properties,
    cover: word.Cover | None = None,
) -> bytes:
    """Each report formatted for the compilation, one per page, its title a Heading 1; with a
    cover, the cover page and the table of contents come first."""
    document = word.official_document(properties)
    if cover is not None:
        word.cover_and_contents(document, cover, [view.title or "" for view in views])
    numbers = labels.t("reports.export.numbers").split(",")
    for index, view in enumerate(views):
        word.heading(document, view.title or "", new_page=bool(index) or cover is not None)
        authors = "、".join([view.author_name, *(p.name for p in view.coauthors)])
        facts = [
            view.receipt_no or "",
            labels.category(view.category),
            f"{authors}（{view.author_sector}）" if view.author_sector else authors,
            labels.time(view.submitted_at)[:10],
        ]
        word.centred(document, "  ".join(f for f in facts if f), size=12)
        for number, name in enumerate(SECTIONS):
            word.heading(document, f"{numbers[number]}{labels.t(f'reports.label.{name}')}", level=2)
            word.body(document, view.value(name) or "")
    return word.saved(document)


# -- the staff buttons -------------------------------------------------------------------------


def labels(turn: Turn) -> Labels:
    # Plain texts: a file is not Telegram HTML, "&" stays "&".
    return Labels(
        t=lambda key: turn.plain(key),
        category=lambda key: category_label(turn, key),
        status=lambda value: turn.plain(f"reports.status.{value}"),
        action=lambda value: turn.plain(f"reports.history.{value}"),
        tz=turn.settings.tz,
    )


def properties(turn: Turn, title: str) -> word.Properties:
    return word.Properties(
        office=turn.settings.office_name,
        title=title,
        created=turn.now(),
        subject=turn.plain("reports.export.subject"),
    )


def cover(turn: Turn, count: int) -> word.Cover:
    today = turn.now().astimezone(turn.settings.tz)
    return word.Cover(
        office=turn.settings.office_name,
        title=turn.plain("reports.export.cover_title"),
        date=turn.plain(
            "reports.export.cover_date",
            year=today.year,
            month=today.month,
            day=today.day,
        ),
        count=turn.plain("reports.export.cover_count", count=count),
        contents=turn.plain("reports.export.contents"),
    )


async def _send_file(turn: Turn, data: bytes, name: str, caption: Text) -> None:
    """The file with its caption."""
    await turn.reply(View([caption], file=OutFile(name, data=data)))


async def _audit_export(
    session: AsyncSession,
    turn: Turn,
    kind: str,
    query: Query | None,
    views: list[ReportView],
) -> None:
    """Every export is in the audit log: who took which reports out, in the export's
    transaction (a search by filter, or one report's document)."""
    await audit.record(
        session,
        turn.member.actor,
        "report.export",
        object_type="report",
        object_id=views[0].id if query is None and views else None,
        format=kind,
        filter=encode(query) if query is not None else None,
        count=len(views),
    )


def _stamp(turn: Turn) -> str:
    return turn.now().astimezone(turn.settings.tz).strftime("%Y%m%d-%H%M")


async def export_xlsx(turn: Turn) -> None:
    query = decode(pressed(turn).arg(0))
    if query is None:
        await refuse(turn)
        return
    # A long read: a snapshot keeps it off the event loop's thread; audited before it is sent.
    async with turn.db.snapshot() as session:
        views = await reports.export(session, query.to_filter(turn.settings))
    async with turn.db.transaction() as session:
        await _audit_export(session, turn, "xlsx", query, views)
    data = await asyncio.to_thread(build_xlsx, views, labels(turn))
    name = f"reports-{_stamp(turn)}.xlsx"
    await _send_file(turn, data, name, Text("reports.review.xlsx_caption"))


async def export_compilation(turn: Turn) -> None:
    """The Word compilation of a search: a cover, the contents, a report a page; at most
    DOCX_LIMIT reports, and the caption says so when the search found more."""
    query = decode(pressed(turn).arg(0))
    if query is None:
        await refuse(turn)
        return
    flt = query.to_filter(turn.settings)
    async with turn.db.snapshot() as session:
        # One more than the cap tells whether the search found more, without counting first.
        views = await reports.export(session, flt, limit=DOCX_LIMIT + 1)
        total = len(views)
        if total > DOCX_LIMIT:
            total = (await reports.search(session, flt, 0, 1)).total
            views = views[:DOCX_LIMIT]
    async with turn.db.transaction() as session:
        await _audit_export(session, turn, "docx", query, views)
    title = turn.plain("reports.export.cover_title")
    data = await asyncio.to_thread(
        build_docx, views, labels(turn), properties(turn, title), cover(turn, len(views))
    )
    name = f"reports-{_stamp(turn)}.docx"
    if total > DOCX_LIMIT:
        caption = Text.of("reports.review.docx_capped", total=total, limit=DOCX_LIMIT)
    else:
        caption = Text("reports.review.docx_caption")
    await _send_file(turn, data, name, caption)


async def export_report(turn: Turn) -> None:
    report_id = pressed(turn).int_arg(0)
    async with turn.db.transaction() as session:
        view = await reports.get(session, report_id) if report_id else None
        if view is not None:
            await _audit_export(session, turn, "docx", None, [view])
    if view is None:
        await refuse(turn)
        return
    title = view.title or view.receipt_no or ""
    data = await asyncio.to_thread(build_docx, [view], labels(turn), properties(turn, title))
    name = f"{view.receipt_no or view.id}.docx"
    await _send_file(turn, data, name, Text("reports.review.docx_caption"))


BUTTONS: dict[str, TurnButtonHandler] = {
    "xlsx": export_xlsx,
    "compilation": export_compilation,
    "docx": export_report,
}
