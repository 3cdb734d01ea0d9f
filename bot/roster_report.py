"""The roster import report as text, the same for the command line and the bot.

New sector names and rejected values come from the spreadsheet: they are escaped for the bot
(Texts.get), and printed as they are on the command line (Texts.plain)."""

from __future__ import annotations

from bot.i18n import Texts
from storage.roster import ImportReport

MAX_REJECTED_LINES = 50


def render(texts: Texts, locale: str | None, report: ImportReport, *, html: bool = True) -> str:
    text = texts.get if html else texts.plain
    lines = [
        text(
            locale,
            "roster.report",
            total=report.total_rows,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=len(report.rejected),
        )
    ]
    new_names = [*report.new_sectors, *report.new_committees, *report.new_liaison_points]
    if new_names:
        lines.append(text(locale, "roster.new_names", names="、".join(new_names)))
    for rejected in report.rejected[:MAX_REJECTED_LINES]:
        reason = text(locale, f"roster.reason_{rejected.reason}")
        lines.append(
            text(
                locale,
                "roster.rejected_line",
                row=rejected.row,
                reason=reason,
                detail=rejected.detail or "",
            )
        )
    if len(report.rejected) > MAX_REJECTED_LINES:
        lines.append(
            text(locale, "roster.more_rejected", count=len(report.rejected) - MAX_REJECTED_LINES)
        )
    return "\n".join(lines)
