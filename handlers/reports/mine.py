"""My reports: the member's list (own and co-authored), one report with its history and
feedback, and reopening a returned report to revise it."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from handlers.callbacks import Callback
from handlers.replies import edit_or_send, inline, say
from handlers.reports.cards import (
    OPEN,
    button,
    history_blocks,
    local_time,
    open_data,
    refuse,
    report_blocks,
    send_blocks,
    status_label,
    title,
)
from handlers.reports.drafts import offer_draft, resume, show_preview
from handlers.wiring import ButtonHandler
from storage import reports
from storage.models import ReportStatus
from storage.reports import Outcome

PAGE_SIZE = 5


async def my_reports(update: Update, ctx: BotContext) -> None:
    """Menu "my reports": the first page."""
    await show_list(update, ctx, 0)


async def show_list(update: Update, ctx: BotContext, page: int) -> None:
    async with ctx.db.read() as session:
        listing = await reports.list_mine(session, ctx.member.id, page, PAGE_SIZE)
        draft = await reports.open_draft(session, ctx.member.id)
    rows: list[list[tuple[str, str]]] = []
    if draft is not None:
        rows.append(
            [
                button(
                    ctx,
                    "reports.btn.continue_draft",
                    "continue",
                    draft.id,
                    title=_short(draft.title),
                )
            ]
        )
    if listing.total == 0:
        await edit_or_send(
            update, ctx, ctx.t("reports.mine_empty"), markup=inline(rows) if rows else None
        )
        return
    lines = [ctx.t("reports.mine_title", total=listing.total)]
    for item in listing.items:
        status = status_label(ctx, item.status) + (" ⭐" if item.excellent else "")
        mark = ctx.t("reports.coauthored_mark") if item.coauthored else ""
        lines.append(
            ctx.t(
                "reports.mine_line",
                receipt=item.receipt_no or "-",
                status=status,
                title=item.title or "",
                date=local_time(ctx, item.submitted_at)[:10],
                mark=mark,
            )
        )
        rows.append(
            [
                (
                    f"{item.receipt_no or '-'} · {_short(item.title)}",
                    open_data(item.id),
                )
            ]
        )
    if listing.pages > 1:
        lines.append(ctx.t("common.page", page=listing.page + 1, pages=listing.pages))
        nav = []
        if listing.page > 0:
            nav.append(button(ctx, "common.prev_page", "list", listing.page - 1))
        if listing.page < listing.pages - 1:
            nav.append(button(ctx, "common.next_page", "list", listing.page + 1))
        rows.append(nav)
    await edit_or_send(update, ctx, "\n".join(lines), markup=inline(rows))


def _short(text: str | None, limit: int = 18) -> str:
    value = (text or "").strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


async def page(update: Update, ctx: BotContext, cb: Callback) -> None:
    number = cb.arg(0)
    await show_list(update, ctx, int(number) if number and number.isdigit() else 0)


async def open_report(update: Update, ctx: BotContext, cb: Callback) -> None:
    """One of my reports, whole, with its history and feedback; only the author's (or a
    co-author's) — a forged id gets the stale-button answer and shows nothing."""
    report_id = cb.int_arg(0)
    if report_id is None:
        await refuse(update, ctx)
        return
    async with ctx.db.read() as session:
        view = await reports.get_visible(session, ctx.member.id, report_id)
    if view is None:
        await refuse(update, ctx)
        return
    if view.is_draft:
        await resume(update, ctx, view)
        return
    rows = []
    if view.status is ReportStatus.returned and view.member_id == ctx.member.id:
        rows.append([button(ctx, "reports.btn.revise", "revise", view.id)])
    rows.append([button(ctx, "reports.btn.back_list", "list", 0)])
    await send_blocks(
        update, ctx, [*report_blocks(ctx, view), *history_blocks(ctx, view)], markup=inline(rows)
    )


async def revise(update: Update, ctx: BotContext, cb: Callback) -> None:
    """A returned report: reopen it as the draft, keeping its receipt number."""
    report_id = cb.int_arg(0)
    if report_id is None:
        await refuse(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result = await reports.revise(session, ctx.member.id, report_id)
    if result.outcome is Outcome.has_draft and result.report is not None:
        await say(update, ctx, "reports.has_draft", title=title(ctx, result.report))
        await offer_draft(update, ctx, result.report)
        return
    if result.outcome is Outcome.not_editable:
        await refuse(update, ctx, "reports.not_editable")
        return
    if not result.ok or result.report is None:
        await refuse(update, ctx)
        return
    await show_preview(update, ctx, result.report)


BUTTONS: dict[str, ButtonHandler] = {
    "list": page,
    OPEN: open_report,
    "revise": revise,
}
