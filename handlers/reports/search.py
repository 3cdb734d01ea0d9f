"""Staff search: /reports with a receipt number (the card) or filters (a page of results with
their exports), and the pages of results. Written against the channel seam (handlers/channel).
"""

from __future__ import annotations

import re

from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Join, Line, Text, View
from handlers.reports.cards import REVIEW_FEATURE, category_text, pressed, refuse, staff_button
from handlers.reports.files import counted
from handlers.reports.query import Query, QueryError, decode, encode, parse_query
from handlers.reports.review import show_card
from handlers.wiring import TurnButtonHandler
from storage import reports

PAGE_SIZE = 8
RECEIPT_RE = re.compile(r"^SQ-\d{4}-\d{6}$", re.IGNORECASE)


async def search_command(turn: Turn) -> None:
    """/reports [SQ-…] [status=… category=… from=… to=… member=… sector=…]."""
    args = turn.args
    if len(args) == 1 and RECEIPT_RE.match(args[0]):
        async with turn.db.transaction() as session:
            view = await reports.by_receipt(session, args[0])
        if view is None:
            await turn.reply(View.of("reports.review.no_receipt", receipt=args[0]))
            return
        await show_card(turn, view)
        return
    try:
        query = await parse_query(turn, args)
    except QueryError as exc:
        await turn.reply(View.of(exc.key, **exc.params))
        if exc.key != "reports.review.search_usage":
            await turn.reply(View.of("reports.review.search_usage"))
        return
    await show_results(turn, query, 0)


async def _describe(turn: Turn, query: Query) -> Join | Text:
    parts: list[Text | str] = []
    if query.status is not None:
        parts.append(Text(f"reports.status.{query.status.value}"))
    categories = turn.settings.report_categories
    if query.category is not None and query.category < len(categories):
        parts.append(category_text(turn, categories[query.category]))
    if query.date_from or query.date_to:
        parts.append(f"{query.date_from or '…'} ~ {query.date_to or '…'}")
    async with turn.db.transaction() as session:
        if query.member_id is not None:
            person = await reports.person(session, query.member_id)
            parts.append(person.name if person else f"#{query.member_id}")
        if query.sector_id is not None:
            found = await reports.sector(session, query.sector_id)
            parts.append(found.name if found else f"#{query.sector_id}")
    return Join(" · ", parts) if parts else Text("reports.review.all")


async def show_results(turn: Turn, query: Query, page: int) -> None:
    code = encode(query)
    async with turn.db.transaction() as session:
        found = await reports.search(session, query.to_filter(turn.settings), page, PAGE_SIZE)
    described = await _describe(turn, query)
    lines: list[Line] = [counted("reports.review.results", found.total, filter=described)]
    rows: list[list[Button]] = []
    for item in found.items:
        star = " ⭐" if item.excellent else ""
        lines.append(
            Text.of(
                "reports.review.result_line",
                receipt=item.receipt_no or "-",
                status=Join("", [Text(f"reports.status.{item.status.value}"), star]),
                author=item.author_name,
                title=item.title or "",
            )
        )
        label = f"{item.receipt_no or '-'} · {item.author_name}"  # shown as typed
        rows.append([Button(label, Action.of(REVIEW_FEATURE, "open", item.id))])
    if found.pages > 1:
        lines.append(Text.of("common.page", page=found.page + 1, pages=found.pages))
        nav = []
        if found.page > 0:
            nav.append(staff_button("common.prev_page", "list", found.page - 1, code))
        if found.page < found.pages - 1:
            nav.append(staff_button("common.next_page", "list", found.page + 1, code))
        rows.append(nav)
    if found.total:
        rows.append(
            [
                staff_button("reports.review.btn.xlsx", "xlsx", code),
                staff_button("reports.review.btn.compilation", "compilation", code),
            ]
        )
    await turn.edit(View(lines, rows))


async def results_page(turn: Turn) -> None:
    cb = pressed(turn)
    query = decode(cb.arg(1))
    page = cb.arg(0)
    if query is None or page is None or not page.isdigit():
        await refuse(turn)
        return
    await show_results(turn, query, int(page))


BUTTONS: dict[str, TurnButtonHandler] = {"list": results_page}
