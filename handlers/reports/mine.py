"""My reports: the member's list (own and co-authored), one report with its history and
feedback, and reopening a returned report to revise it. Written against the channel seam
(handlers/channel)."""

from __future__ import annotations

from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Join, Line, Text, View
from handlers.reports.cards import (
    FEATURE,
    OPEN,
    button,
    history_blocks,
    local_time,
    pressed,
    refuse,
    report_blocks,
    send_blocks,
    title,
)
from handlers.reports.drafts import offer_draft, resume, show_preview
from handlers.wiring import TurnButtonHandler
from storage import reports
from storage.models import ReportStatus
from storage.reports import Outcome

PAGE_SIZE = 5


async def my_reports(turn: Turn) -> None:
    """Menu "my reports": the first page."""
    await show_list(turn, 0)


async def show_list(turn: Turn, page: int) -> None:
    async with turn.db.read() as session:
        listing = await reports.list_mine(session, turn.member.id, page, PAGE_SIZE)
        draft = await reports.open_draft(session, turn.member.id)
    rows: list[list[Button]] = []
    if draft is not None:
        rows.append(
            [button("reports.btn.continue_draft", "continue", draft.id, title=_short(draft.title))]
        )
    if listing.total == 0:
        await turn.edit(View([Text("reports.mine_empty")], rows))
        return
    lines: list[Line] = [Text.of("reports.mine_title", total=listing.total)]
    for item in listing.items:
        star = " ⭐" if item.excellent else ""
        status = Join("", [Text(f"reports.status.{item.status.value}"), star])
        lines.append(
            Text.of(
                "reports.mine_line",
                receipt=item.receipt_no or "-",
                status=status,
                title=item.title or "",
                date=local_time(turn, item.submitted_at)[:10],
                mark=Text("reports.coauthored_mark") if item.coauthored else "",
            )
        )
        label = f"{item.receipt_no or '-'} · {_short(item.title)}"  # shown as typed
        rows.append([Button(label, Action.of(FEATURE, OPEN, item.id))])
    if listing.pages > 1:
        lines.append(Text.of("common.page", page=listing.page + 1, pages=listing.pages))
        nav = []
        if listing.page > 0:
            nav.append(button("common.prev_page", "list", listing.page - 1))
        if listing.page < listing.pages - 1:
            nav.append(button("common.next_page", "list", listing.page + 1))
        rows.append(nav)
    await turn.edit(View(lines, rows))


def _short(text: str | None, limit: int = 18) -> str:
    value = (text or "").strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


async def page(turn: Turn) -> None:
    number = pressed(turn).arg(0)
    await show_list(turn, int(number) if number and number.isdigit() else 0)


async def open_report(turn: Turn) -> None:
    """One of my reports, whole, with its history and feedback; only the author's (or a
    co-author's) — a forged id gets the stale-button answer and shows nothing."""
    report_id = pressed(turn).int_arg(0)
    if report_id is None:
        await refuse(turn)
        return
    async with turn.db.read() as session:
        view = await reports.get_visible(session, turn.member.id, report_id)
    if view is None:
        await refuse(turn)
        return
    if view.is_draft:
        await resume(turn, view)
        return
    rows = []
    if view.status is ReportStatus.returned and view.member_id == turn.member.id:
        rows.append([button("reports.btn.revise", "revise", view.id)])
    rows.append([button("reports.btn.back_list", "list", 0)])
    blocks = [*report_blocks(turn, view), *history_blocks(turn, view)]
    await send_blocks(turn, blocks, buttons=rows)


async def revise(turn: Turn) -> None:
    """A returned report: reopen it as the draft, keeping its receipt number."""
    report_id = pressed(turn).int_arg(0)
    if report_id is None:
        await refuse(turn)
        return
    async with turn.db.transaction() as session:
        result = await reports.revise(session, turn.member.id, report_id)
    if result.outcome is Outcome.has_draft and result.report is not None:
        await turn.reply(View.of("reports.has_draft", title=title(result.report)))
        await offer_draft(turn, result.report)
        return
    if result.outcome is Outcome.not_editable:
        await refuse(turn, "reports.not_editable")
        return
    if not result.ok or result.report is None:
        await refuse(turn)
        return
    await show_preview(turn, result.report)


BUTTONS: dict[str, TurnButtonHandler] = {
    "list": page,
    OPEN: open_report,
    "revise": revise,
}
