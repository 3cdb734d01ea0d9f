"""Opinion report exports for staff: an xlsx of many reports with their history, and Word
documents (a compilation of a search's results, or one report); each one audited.

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
from typing import Any
from zoneinfo import ZoneInfo

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Pt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exports.cells import add_run, append_row, docx_text
from handlers.channel.turn import Turn
from handlers.channel.views import OutFile, Text, View
from handlers.reports.cards import category_label, pressed, refuse
from handlers.reports.query import Query, decode, encode
from handlers.wiring import TurnButtonHandler
from storage import audit, reports
from storage.reports import SECTIONS, ReportView

# Fonts of Chinese official documents; Word falls back gracefully where they are missing.
TITLE_FONT = "黑体"
BODY_FONT = "仿宋"
# A compilation document of more reports than this is better built from the xlsx in batches.
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


def build_xlsx(views: Sequence[ReportView], labels: Labels) -> bytes:
    """One row per report with every field and its status history; a second sheet lists
    every history entry on its own row (for sorting and counting)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = labels.t("reports.export.sheet_reports")
    columns = [
        "receipt",
        "title",
        "category",
        "status",
        "excellent",
        "author",
        "sector",
        "coauthors",
        "submitted",
        "reviewed",
        "source",
        *SECTIONS,
        "attachments",
        "feedback",
        "history",
    ]
    append_row(sheet, [labels.t(f"reports.export.col.{c}") for c in columns])
    for view in views:
        feedback = view.latest_feedback
        row = [
            view.receipt_no or "",
            view.title or "",
            labels.category(view.category),
            labels.status(view.status.value),
            labels.t("common.yes") if view.excellent else "",
            view.author_name,
            view.author_sector or "",
            "、".join(p.name for p in view.coauthors),
            labels.time(view.submitted_at),
            labels.time(view.reviewed_at),
            labels.t(f"reports.export.source.{view.source.value}"),
            *(view.value(name) or "" for name in SECTIONS),
            "\n".join(a.file_name for a in view.attachments),
            feedback.note if feedback and feedback.note else "",
            _history(view, labels),
        ]
        append_row(sheet, row)
    widths = {"title": 30, "situation": 50, "problem": 50, "suggestions": 50, "history": 60}
    for index, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(name, 16)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"

    events = book.create_sheet(labels.t("reports.export.sheet_history"))
    event_columns = [
        "receipt",
        "title",
        "time",
        "action",
        "status",
        "staff",
        "instructed_by",
        "note",
    ]
    append_row(events, [labels.t(f"reports.export.col.{c}") for c in event_columns])
    for view in views:
        for event in view.events:
            append_row(
                events,
                [
                    view.receipt_no or "",
                    view.title or "",
                    labels.time(event.at),
                    labels.action(event.action),
                    labels.status(event.status.value),
                    event.actor_name or "",
                    event.instructed_by or "",
                    event.note or "",
                ],
            )
    for cell in events[1]:
        cell.font = Font(bold=True)
    events.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _font(run: Any, name: str, size: float, *, bold: bool = False) -> None:
    # python-docx sets the Latin font only; Chinese text needs the eastAsia font as well.
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    r_pr = run.element.get_or_add_rPr()
    r_fonts = r_pr.find(qn("w:rFonts"))
    if r_fonts is None:
        r_fonts = r_pr.makeelement(qn("w:rFonts"), {})
        r_pr.append(r_fonts)
    r_fonts.set(qn("w:eastAsia"), name)


def _paragraphs(document: object, text: str) -> None:
    for line in docx_text(text).split("\n"):
        if not line.strip():
            continue
        paragraph = document.add_paragraph()  # type: ignore[attr-defined]
        paragraph.paragraph_format.first_line_indent = Pt(32)  # two characters
        paragraph.paragraph_format.line_spacing = Pt(28)
        _font(add_run(paragraph, line.strip()), BODY_FONT, 16)


def build_docx(views: Sequence[ReportView], labels: Labels) -> bytes:
    """Each report formatted for the compilation, one per page."""
    document = Document()
    for index, view in enumerate(views):
        if index:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        heading = document.add_paragraph()
        heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(add_run(heading, view.title or ""), TITLE_FONT, 22, bold=True)
        byline = document.add_paragraph()
        byline.alignment = WD_ALIGN_PARAGRAPH.CENTER
        authors = "、".join([view.author_name, *(p.name for p in view.coauthors)])
        facts = [
            view.receipt_no or "",
            labels.category(view.category),
            f"{authors}（{view.author_sector}）" if view.author_sector else authors,
            labels.time(view.submitted_at)[:10],
        ]
        _font(add_run(byline, "  ".join(f for f in facts if f)), BODY_FONT, 12)
        for number, name in enumerate(SECTIONS):
            label = document.add_paragraph()
            label.paragraph_format.space_before = Pt(12)
            marker = labels.t("reports.export.numbers").split(",")[number]
            _font(
                add_run(label, f"{marker}{labels.t(f'reports.label.{name}')}"),
                TITLE_FONT,
                16,
                bold=True,
            )
            _paragraphs(document, view.value(name) or "")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# -- the staff buttons -------------------------------------------------------------------------


def labels(turn: Turn) -> Labels:
    return Labels(
        t=lambda key: turn.t(key),
        category=lambda key: category_label(turn, key),
        status=lambda value: turn.t(f"reports.status.{value}"),
        action=lambda value: turn.t(f"reports.history.{value}"),
        tz=turn.settings.tz,
    )


async def _send_file(turn: Turn, data: bytes, name: str, key: str) -> None:
    """The file with its caption."""
    await turn.reply(View([Text(key)], file=OutFile(name, data=data)))


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
    await _send_file(turn, data, name, "reports.review.xlsx_caption")


async def export_compilation(turn: Turn) -> None:
    query = decode(pressed(turn).arg(0))
    if query is None:
        await refuse(turn)
        return
    async with turn.db.snapshot() as session:
        views = await reports.export(session, query.to_filter(turn.settings), limit=DOCX_LIMIT)
    async with turn.db.transaction() as session:
        await _audit_export(session, turn, "docx", query, views)
    data = await asyncio.to_thread(build_docx, views, labels(turn))
    name = f"reports-{_stamp(turn)}.docx"
    await _send_file(turn, data, name, "reports.review.docx_caption")


async def export_report(turn: Turn) -> None:
    report_id = pressed(turn).int_arg(0)
    async with turn.db.transaction() as session:
        view = await reports.get(session, report_id) if report_id else None
        if view is not None:
            await _audit_export(session, turn, "docx", None, [view])
    if view is None:
        await refuse(turn)
        return
    data = await asyncio.to_thread(build_docx, [view], labels(turn))
    name = f"{view.receipt_no or view.id}.docx"
    await _send_file(turn, data, name, "reports.review.docx_caption")


BUTTONS: dict[str, TurnButtonHandler] = {
    "xlsx": export_xlsx,
    "compilation": export_compilation,
    "docx": export_report,
}
