"""The roster import report as text, the same for the command line and the bot."""

from __future__ import annotations

from bot.i18n import Texts
from storage.roster import ImportReport

MAX_REJECTED_LINES = 50


def render(texts: Texts, locale: str | None, report: ImportReport) -> str:
    lines = [
        texts.get(
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
        lines.append(texts.get(locale, "roster.new_names", names="、".join(new_names)))
    for rejected in report.rejected[:MAX_REJECTED_LINES]:
        reason = texts.get(locale, f"roster.reason_{rejected.reason}")
        lines.append(
            texts.get(
                locale,
                "roster.rejected_line",
                row=rejected.row,
                reason=reason,
                detail=rejected.detail or "",
            )
        )
    if len(report.rejected) > MAX_REJECTED_LINES:
        lines.append(
            texts.get(
                locale, "roster.more_rejected", count=len(report.rejected) - MAX_REJECTED_LINES
            )
        )
    return "\n".join(lines)
