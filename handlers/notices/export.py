"""The xlsx export of one notice (every recipient, delivery and acknowledgement) and the
statistics card's button that sends it, on record in the audit log."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from bot.exports.cells import append_row
from bot.i18n import Texts
from handlers.channel.turn import Turn
from handlers.channel.views import OutFile, Text, View
from handlers.notices.common import pressed_notice
from storage import audit, notices
from storage.models import AckMode
from storage.notices import NoticeView, RecipientLine

COLUMNS = ("name", "phone", "sector", "delivery", "sent_at", "answer", "acked_at", "error")
WIDTHS = (14, 18, 14, 12, 18, 16, 18, 40)


def build_xlsx(
    texts: Texts,
    locale: str | None,
    tz: ZoneInfo,
    view: NoticeView,
    lines: Sequence[RecipientLine],
) -> bytes:
    """One sheet, one row per recipient, headers in the staff member's language."""

    def local(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    def answer(option: int | None) -> str:
        if option is None:
            return ""
        if view.ack_mode is AckMode.options and 0 <= option < len(view.ack_options):
            return view.ack_options[option]
        return texts.get(locale, "notices.received_answer")

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = f"notice-{view.id}"
    header = [texts.get(locale, f"notices.col_{c}") for c in COLUMNS]
    append_row(sheet, header, font=Font(bold=True))
    for line in lines:
        delivery = (
            texts.get(locale, f"notices.delivery_{line.delivery.value}") if line.delivery else ""
        )
        append_row(
            sheet,
            [
                line.name,
                line.phone or "",  # staff call the unreachable ones
                line.sector or "",
                delivery,
                local(line.sent_at),
                answer(line.ack_option),
                local(line.acked_at),
                line.error or "",
            ],
        )
    for index, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
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
        await audit.record(
            session, turn.member.actor, "notice.export", object_type="notice", object_id=notice_id
        )
    content = await asyncio.to_thread(
        build_xlsx, turn.texts, turn.locale, turn.settings.tz, view, lines
    )
    xlsx = OutFile(f"notice-{notice_id}.xlsx", data=content)
    await turn.reply(View([Text.of("notices.export_caption", id=notice_id)], file=xlsx))
