"""The xlsx export of one notice and the statistics card's button that sends it, on record in
the audit log.

The first sheet is the table staff work from: every recipient with delivery and
acknowledgement, then the members of the audience the notice never reached because they do
not use the bot yet (staff phone them), each with a phone number in the form staff dial. The
second sheet is the notice itself (its text, when it went out, what it asked), so the file
stands on its own when it is printed or forwarded.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from bot.exports.cells import append_row
from bot.exports.sheets import display_phone, finish_table, set_widths, time_cell, yes_no
from bot.i18n import Texts
from bot.telegram_text import EntityParseError, parse_html
from handlers.channel.turn import Turn
from handlers.channel.views import OutFile, Text, View
from handlers.notices.common import pressed_notice
from storage import audit, notices
from storage.models import AckMode
from storage.notices import NoticeView, RecipientLine

COLUMNS = (
    ("name", 14),
    ("phone", 16),
    ("sector", 14),
    ("on_bot", 10),
    ("delivery", 14),
    ("sent_at", 17),
    ("answer", 16),
    ("acked_at", 17),
    ("error", 40),
)


def _plain(body: str) -> str:
    """The notice as members read it: its Telegram HTML (bold, links) as plain text."""
    try:
        return parse_html(body)[0]
    except EntityParseError:  # stored before it was checked: the text with tags as typed
        return body


def build_xlsx(
    texts: Texts,
    locale: str | None,
    tz: ZoneInfo,
    view: NoticeView,
    lines: Sequence[RecipientLine],
    not_reached: Sequence[RecipientLine] = (),
) -> bytes:
    """The recipients (and those not reached) and the notice, headers in the staff member's
    language."""

    def t(key: str, **params: object) -> str:
        return texts.plain(locale, key, **params)

    yes, no = t("common.yes"), t("common.no")

    def answer(line: RecipientLine) -> str:
        if not view.asks_ack or not line.on_bot:
            return ""
        option = line.ack_option
        if option is None:
            return t("notices.category_silent")  # 未回执: the ones staff phone
        if view.ack_mode is AckMode.options and 0 <= option < len(view.ack_options):
            return view.ack_options[option]
        return t("notices.received_answer")

    def delivery(line: RecipientLine) -> str:
        if line.delivery is not None:
            return t(f"notices.delivery_{line.delivery.value}")
        if not line.on_bot:
            return t("notices.delivery_not_on_bot")
        return t("notices.delivery_joined_later")

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = t("notices.export_sheet_recipients")
    append_row(sheet, [t(f"notices.col_{c}") for c, _ in COLUMNS], font=Font(bold=True))
    for line in (*lines, *not_reached):
        append_row(
            sheet,
            [
                line.name,
                display_phone(line.phone),  # staff call the unreachable and the silent
                line.sector or "",
                yes_no(line.on_bot, yes, no),
                delivery(line),
                time_cell(sheet, line.sent_at, tz),
                answer(line),
                time_cell(sheet, line.acked_at, tz),
                line.error or "",
            ],
        )
    finish_table(sheet, [w for _, w in COLUMNS], len(lines) + len(not_reached))

    about = workbook.create_sheet(t("notices.export_sheet_notice"))
    set_widths(about, (16, 80))
    top = Alignment(wrap_text=True, vertical="top")
    facts: list[tuple[str, object]] = [
        ("number", f"#{view.id}"),
        ("sent", time_cell(about, view.queued_at, tz)),
        ("scheduled", time_cell(about, view.scheduled_at, tz)),
        ("asks_ack", yes_no(view.asks_ack, yes, no)),
        ("options", "\n".join(view.ack_options) if view.ack_mode is AckMode.options else ""),
        ("recipients", len(lines)),
        ("not_on_bot", len(not_reached)),
        ("body", _plain(view.body)),
    ]
    for key, value in facts:
        append_row(about, [t(f"notices.export_about_{key}"), value])
    for row in about.iter_rows():
        row[0].font = Font(bold=True)
        row[1].alignment = top
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def export(turn: Turn) -> None:
    """📥 on the statistics card: the xlsx, in the staff member's language."""
    async with turn.db.transaction() as session:
        view = await pressed_notice(turn, session)
        if view is None:
            return
        notice_id = view.id
        lines = await notices.recipients(session, notice_id)
        missing = await notices.not_reached(session, notice_id)
        await audit.record(
            session, turn.member.actor, "notice.export", object_type="notice", object_id=notice_id
        )
    content = await asyncio.to_thread(
        build_xlsx, turn.texts, turn.locale, turn.settings.tz, view, lines, missing
    )
    xlsx = OutFile(f"notice-{notice_id}.xlsx", data=content)
    await turn.reply(View([Text.of("notices.export_caption", id=notice_id)], file=xlsx))
