"""Staff search: /reports with a receipt number (the card) or filters (a page of results with
their exports), and the pages of results."""

from __future__ import annotations

import re

from telegram import Update

from bot.context import BotContext
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.replies import edit_or_send, inline, say
from handlers.reports.cards import (
    REVIEW_FEATURE,
    category_label,
    refuse,
    staff_button,
    status_label,
)
from handlers.reports.query import Query, QueryError, decode, encode, parse_query
from handlers.reports.review import show_card
from handlers.wiring import ButtonHandler
from storage import reports

PAGE_SIZE = 8
RECEIPT_RE = re.compile(r"^SQ-\d{4}-\d{6}$", re.IGNORECASE)


async def search_command(update: Update, ctx: BotContext) -> None:
    """/reports [SQ-…] [status=… category=… from=… to=… member=… sector=…]."""
    args = list(ctx.args or [])
    if len(args) == 1 and RECEIPT_RE.match(args[0]):
        async with ctx.db.transaction() as session:
            view = await reports.by_receipt(session, args[0])
        if view is None:
            await say(update, ctx, "reports.review.no_receipt", receipt=args[0])
            return
        await show_card(update, ctx, view)
        return
    try:
        query = await parse_query(ctx, args)
    except QueryError as exc:
        await say(update, ctx, exc.key, **exc.params)
        if exc.key != "reports.review.search_usage":
            await say(update, ctx, "reports.review.search_usage")
        return
    await show_results(update, ctx, query, 0)


async def _describe(ctx: BotContext, query: Query) -> str:
    parts = []
    if query.status is not None:
        parts.append(status_label(ctx, query.status))
    if query.category is not None and query.category < len(ctx.settings.report_categories):
        parts.append(category_label(ctx, ctx.settings.report_categories[query.category]))
    if query.date_from or query.date_to:
        parts.append(f"{query.date_from or '…'} ~ {query.date_to or '…'}")
    async with ctx.db.transaction() as session:
        if query.member_id is not None:
            person = await reports.person(session, query.member_id)
            parts.append(person.name if person else f"#{query.member_id}")
        if query.sector_id is not None:
            found = await reports.sector(session, query.sector_id)
            parts.append(found.name if found else f"#{query.sector_id}")
    return " · ".join(parts) or ctx.t("reports.review.all")


async def show_results(update: Update, ctx: BotContext, query: Query, page: int) -> None:
    code = encode(query)
    async with ctx.db.transaction() as session:
        found = await reports.search(session, query.to_filter(ctx), page, PAGE_SIZE)
    lines = [ctx.t("reports.review.results", total=found.total, filter=await _describe(ctx, query))]
    rows: list[list[tuple[str, str]]] = []
    for item in found.items:
        lines.append(
            ctx.t(
                "reports.review.result_line",
                receipt=item.receipt_no or "-",
                status=status_label(ctx, item.status) + (" ⭐" if item.excellent else ""),
                author=item.author_name,
                title=item.title or "",
            )
        )
        label = f"{item.receipt_no or '-'} · {item.author_name}"
        rows.append([(label, callbacks.make(REVIEW_FEATURE, "open", item.id))])
    if found.pages > 1:
        lines.append(ctx.t("common.page", page=found.page + 1, pages=found.pages))
        nav = []
        if found.page > 0:
            nav.append(staff_button(ctx, "common.prev_page", "list", found.page - 1, code))
        if found.page < found.pages - 1:
            nav.append(staff_button(ctx, "common.next_page", "list", found.page + 1, code))
        rows.append(nav)
    if found.total:
        rows.append(
            [
                staff_button(ctx, "reports.review.btn.xlsx", "xlsx", code),
                staff_button(ctx, "reports.review.btn.compilation", "compilation", code),
            ]
        )
    await edit_or_send(update, ctx, "\n".join(lines), markup=inline(rows) if rows else None)


async def results_page(update: Update, ctx: BotContext, cb: Callback) -> None:
    query = decode(cb.arg(1))
    page = cb.arg(0)
    if query is None or page is None or not page.isdigit():
        await refuse(update, ctx)
        return
    await show_results(update, ctx, query, int(page))


BUTTONS: dict[str, ButtonHandler] = {"list": results_page}
