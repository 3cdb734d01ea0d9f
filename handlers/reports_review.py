"""Opinion reports, staff side: the review queue, decisions, search, xlsx and docx exports.

Each decision is one transaction: the status change, its history line, the audit row and the
message to the author (through the outbox) commit together.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.exports import reports as exports
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.guards import staff_only
from handlers.replies import edit_or_send, inline, say
from handlers.reports import FEATURE as MEMBER_FEATURE
from handlers.reports import (
    Alert,
    CallbackAction,
    alert,
    answer,
    category_label,
    history_blocks,
    report_blocks,
    send_blocks,
    status_label,
)
from handlers.wiring import Wiring, close_dialog, open_dialog
from storage import audit, outbox, reports
from storage.dialogs import Dialog
from storage.models import Priority, ReportStatus
from storage.reports import ALLOWED, Outcome, ReportFilter, ReportView, ReviewAction

log = logging.getLogger(__name__)

FEATURE = "rrv"
FLOW = "report_review"
PAGE_SIZE = 8
# A compilation document of more reports than this is better built from the xlsx in batches.
DOCX_LIMIT = 300
STATUSES = list(ReportStatus)
RECEIPT_RE = re.compile(r"^SQ-\d{4}-\d{6}$", re.IGNORECASE)
ACTION_ICONS = {
    ReviewAction.adopt: "reports.review.btn.adopt",
    ReviewAction.forward: "reports.review.btn.forward",
    ReviewAction.instruct: "reports.review.btn.instruct",
    ReviewAction.return_: "reports.review.btn.return",
}


def _button(ctx: BotContext, key: str, action: str, *args: object) -> tuple[str, str]:
    return ctx.t(key), callbacks.make(FEATURE, action, *args)


# -- telling the author ------------------------------------------------------------------------


async def notify_author(session: AsyncSession, view: ReportView) -> bool:
    """Tell the author about the latest review decision, through the outbox, in the caller's
    transaction (rendered in the author's language by the delivery worker). The one place
    that decides what the author hears; False when there is nothing to send."""
    event = view.events[-1] if view.events else None
    if event is None or view.author_chat_id is None or event.action == "unexcellent":
        return False
    params: dict[str, object] = {
        "title": view.title or "",
        "receipt": view.receipt_no or "",
        "status": {"key": f"reports.status.{view.status.value}"},
        "note": event.note or "",
        "by": event.instructed_by or "",
    }
    if event.action == ReviewAction.instruct.value:
        template = "reports.notify.instructed"
    elif event.action == ReviewAction.return_.value:
        template = "reports.notify.returned"
    elif event.action == "excellent":
        template = "reports.notify.excellent"
    else:
        template = "reports.notify.status_note" if event.note else "reports.notify.status"
    buttons = [[outbox.button("reports.btn.open", callbacks.make(MEMBER_FEATURE, "op", view.id))]]
    await outbox.enqueue(
        session,
        chat_id=view.author_chat_id,
        member_id=view.member_id,
        kind="report_status",
        template=template,
        params=params,
        buttons=buttons,
        priority=Priority.personal,
        source_type="report",
        source_id=view.id,
    )
    return True


# -- the queue and the card --------------------------------------------------------------------


@staff_only
async def review_home(update: Update, ctx: BotContext) -> None:
    """Staff menu: how many wait, the next one, and filters by status."""
    async with ctx.db.transaction() as session:
        waiting = await reports.queue_count(session)
    rows = [[_button(ctx, "reports.review.btn.next", "nx")]]
    statuses = [
        (status_label(ctx, s), callbacks.make(FEATURE, "ls", 0, _encode(Query(status=s))))
        for s in STATUSES
        if s is not ReportStatus.draft
    ]
    rows += [statuses[i : i + 3] for i in range(0, len(statuses), 3)]
    rows.append([_button(ctx, "reports.review.btn.all", "ls", 0, "-")])
    await say(update, ctx, "reports.review.home", markup=inline(rows), count=waiting)


async def show_card(update: Update, ctx: BotContext, view: ReportView) -> None:
    """A report for review: its files, then the full text with the actions allowed now."""
    await _send_attachments(update, ctx, view)
    rows: list[list[tuple[str, str]]] = []
    actions = [
        _button(ctx, key, "a", view.id, action.value)
        for action, key in ACTION_ICONS.items()
        if view.status in ALLOWED[action]
    ]
    rows += [actions[i : i + 2] for i in range(0, len(actions), 2)]
    extra = [_button(ctx, "reports.review.btn.docx", "doc", view.id)]
    if view.status in ALLOWED[ReviewAction.excellent]:
        key = "reports.review.btn.unexcellent" if view.excellent else "reports.review.btn.excellent"
        extra.insert(0, _button(ctx, key, "a", view.id, ReviewAction.excellent.value))
    rows.append(extra)
    rows.append([_button(ctx, "reports.review.btn.next", "nx", view.id)])
    blocks = [*report_blocks(ctx, view, staff=True), *history_blocks(ctx, view, staff=True)]
    await send_blocks(update, ctx, blocks, markup=inline(rows))


async def _send_attachments(update: Update, ctx: BotContext, view: ReportView) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    for item in view.attachments:
        path = Path(ctx.settings.data_dir) / item.path
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError:
            await say(update, ctx, "reports.review.file_missing", name=item.file_name)
            continue
        caption = f"{view.receipt_no or ''} · {item.file_name}"[:1000]
        try:
            if item.kind == "photo":
                await ctx.bot.send_photo(chat.id, data, caption=caption)
            elif item.kind == "voice":
                await ctx.bot.send_voice(chat.id, data, caption=caption)
            else:
                await ctx.bot.send_document(chat.id, data, filename=item.file_name, caption=caption)
        except TelegramError as exc:
            log.warning("could not send report attachment %s: %s", item.id, exc)
            await say(update, ctx, "reports.review.file_missing", name=item.file_name)


async def _cb_next(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    async with ctx.db.transaction() as session:
        view = await reports.next_in_queue(session, cb.int_arg(0))
    if view is None:
        await say(update, ctx, "reports.review.queue_empty")
        return None
    await show_card(update, ctx, view)
    return None


async def _cb_open(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    report_id = cb.int_arg(0)
    async with ctx.db.transaction() as session:
        view = await reports.get(session, report_id) if report_id else None
    if view is None:
        return alert("common.stale_button")
    await show_card(update, ctx, view)
    return None


# -- decisions ---------------------------------------------------------------------------------


async def _cb_action(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    """A decision button: excellent at once; the others ask for their text first."""
    report_id, name = cb.int_arg(0), cb.arg(1)
    if report_id is None or name not in {a.value for a in ReviewAction}:
        return alert("common.stale_button")
    action = ReviewAction(str(name))
    async with ctx.db.transaction() as session:
        view = await reports.get(session, report_id)
    if view is None:
        return alert("common.stale_button")
    if view.status not in ALLOWED[action]:
        return alert("reports.review.not_allowed", status=status_label(ctx, view.status))
    if action is ReviewAction.excellent:
        await perform(update, ctx, report_id, action, note=None)
        return None
    data = {"report_id": report_id, "action": action.value}
    receipt = view.receipt_no or ""
    if action is ReviewAction.return_:
        await open_dialog(update, ctx, FLOW, "reason", data)
        await say(update, ctx, "reports.review.ask_reason", receipt=receipt)
    elif action is ReviewAction.instruct:
        await open_dialog(update, ctx, FLOW, "leader", data)
        await say(update, ctx, "reports.review.ask_leader", receipt=receipt)
    else:
        await open_dialog(update, ctx, FLOW, "note", data)
        rows = [[_button(ctx, "reports.review.btn.no_note", "skip")]]
        await say(
            update,
            ctx,
            "reports.review.ask_note",
            markup=inline(rows),
            receipt=receipt,
            action=ctx.t(f"reports.history.{action.value}"),
        )
    return None


async def _cb_skip(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    dialog = ctx.dialog
    if dialog is None or dialog.flow != FLOW or dialog.step != "note":
        return alert("common.stale_button")
    await perform(
        update, ctx, int(dialog.data["report_id"]), ReviewAction(dialog.data["action"]), note=None
    )
    return None


async def on_input(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """The text a decision needs: feedback, the reason, who instructed, the instruction."""
    message = update.effective_message
    if ctx.viewer is None or not ctx.viewer.is_staff:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.staff_only")
        return
    text = (message.text or "") if message is not None else ""
    report_id = int(dialog.data.get("report_id", 0))
    action = ReviewAction(dialog.data.get("action", ReviewAction.adopt.value))
    if not text.strip():
        key = "reports.review.reason_required" if dialog.step == "reason" else "common.text_empty"
        await say(update, ctx, key)
        return
    if dialog.step == "leader":
        checked = reports.clean_text(text, reports.MAX_INSTRUCTED_BY_CHARS, single_line=True)
        if not checked.ok:
            await say(
                update, ctx, "common.text_too_long", length=checked.length, limit=checked.limit
            )
            return
        await open_dialog(
            update, ctx, FLOW, "instruction", {**dialog.data, "leader": checked.field}
        )
        await say(update, ctx, "reports.review.ask_instruction", leader=checked.field or "")
        return
    leader = dialog.data.get("leader") if dialog.step == "instruction" else None
    await perform(update, ctx, report_id, action, note=text, instructed_by=leader)


async def perform(
    update: Update,
    ctx: BotContext,
    report_id: int,
    action: ReviewAction,
    *,
    note: str | None,
    instructed_by: str | None = None,
) -> None:
    """Record the decision and queue the author's message in one transaction, then answer."""
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        result = await reports.review(
            session,
            ctx.viewer.actor,
            report_id,
            action,
            note=note,
            instructed_by=instructed_by,
            now=ctx.now(),
        )
        notified = False
        if result.ok and result.report is not None:
            notified = await notify_author(session, result.report)
    if result.outcome is Outcome.reason_required:
        await say(update, ctx, "reports.review.reason_required")
        return
    if result.outcome in (Outcome.too_long, Outcome.empty):
        if result.outcome is Outcome.too_long:
            await say(update, ctx, "common.text_too_long", length=result.length, limit=result.limit)
        else:
            await say(update, ctx, "common.text_empty")
        return
    if ctx.dialog is not None and ctx.dialog.flow == FLOW:
        await close_dialog(update, ctx)
    view = result.report
    if result.outcome is Outcome.not_allowed and view is not None:
        await say(update, ctx, "reports.review.not_allowed", status=status_label(ctx, view.status))
        return
    if not result.ok or view is None or result.event is None:
        await say(update, ctx, "common.stale_button")
        return
    if notified:
        ctx.runtime.outbox_signal()
    rows = [
        [
            _button(ctx, "reports.review.btn.next", "nx"),
            _button(ctx, "reports.review.btn.open", "op", view.id),
        ]
    ]
    await say(
        update,
        ctx,
        "reports.review.done" if notified else "reports.review.done_silent",
        markup=inline(rows),
        receipt=view.receipt_no or "",
        action=ctx.t(f"reports.history.{result.event.action}"),
        status=status_label(ctx, view.status),
    )


# -- search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A staff search as typed or tapped; fits in callback data (see _encode)."""

    status: ReportStatus | None = None
    category: int | None = None  # index into settings.report_categories
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    member_id: int | None = None
    sector_id: int | None = None

    def to_filter(self, ctx: BotContext) -> ReportFilter:
        tz = ctx.settings.tz
        names = ctx.settings.report_categories
        start = datetime.combine(self.date_from, time(), tz) if self.date_from else None
        end = (
            datetime.combine(self.date_to + timedelta(days=1), time(), tz) if self.date_to else None
        )
        return ReportFilter(
            status=self.status,
            category=names[self.category]
            if self.category is not None and self.category < len(names)
            else None,
            submitted_from=start,
            submitted_before=end,
            member_id=self.member_id,
            sector_id=self.sector_id,
        )


def _encode(query: Query) -> str:
    parts = []
    if query.status is not None:
        parts.append(f"s{STATUSES.index(query.status)}")
    if query.category is not None:
        parts.append(f"c{query.category}")
    if query.date_from is not None:
        parts.append(f"f{query.date_from:%Y%m%d}")
    if query.date_to is not None:
        parts.append(f"t{query.date_to:%Y%m%d}")
    if query.member_id is not None:
        parts.append(f"m{query.member_id}")
    if query.sector_id is not None:
        parts.append(f"x{query.sector_id}")
    return ".".join(parts) or "-"


def _decode(code: str | None) -> Query | None:
    if code is None:
        return None
    if code == "-":
        return Query()
    values: dict[str, object] = {}
    try:
        for part in code.split("."):
            kind, value = part[:1], part[1:]
            if kind == "s":
                values["status"] = STATUSES[int(value)]
            elif kind == "c":
                values["category"] = int(value)
            elif kind in "ft" and kind:
                day = datetime.strptime(value, "%Y%m%d").date()
                values["date_from" if kind == "f" else "date_to"] = day
            elif kind == "m":
                values["member_id"] = int(value)
            elif kind == "x":
                values["sector_id"] = int(value)
            else:
                return None
    except (ValueError, IndexError):
        return None
    return Query(**values)  # type: ignore[arg-type]


KEYS = {
    "status": "status",
    "状态": "status",
    "category": "category",
    "类别": "category",
    "from": "from",
    "从": "from",
    "起": "from",
    "to": "to",
    "至": "to",
    "止": "to",
    "member": "member",
    "委员": "member",
    "sector": "sector",
    "界别": "sector",
}


class QueryError(Exception):
    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


async def parse_query(ctx: BotContext, args: list[str]) -> Query:
    """key=value words (English or Chinese keys) into a Query; QueryError says what is wrong."""
    values: dict[str, object] = {}
    for word in args:
        key, sep, value = word.replace("＝", "=").partition("=")
        name = KEYS.get(key.strip().lower())
        value = value.strip()
        if not sep or name is None or not value:
            raise QueryError("reports.review.search_usage")
        if name == "status":
            values["status"] = _status_named(ctx, value)
        elif name == "category":
            values["category"] = _category_named(ctx, value)
        elif name in ("from", "to"):
            try:
                day = datetime.strptime(value.replace("/", "-"), "%Y-%m-%d").date()
            except ValueError:
                raise QueryError("reports.review.bad_date", value=value) from None
            values["date_from" if name == "from" else "date_to"] = day
        elif name == "member":
            values["member_id"] = await _member_named(ctx, value)
        else:
            async with ctx.db.transaction() as session:
                sector = await reports.find_sector(session, value)
            if sector is None:
                raise QueryError("reports.review.no_sector", value=value)
            values["sector_id"] = sector.id
    return Query(**values)  # type: ignore[arg-type]


def _status_named(ctx: BotContext, value: str) -> ReportStatus:
    wanted = value.lower()
    for status in STATUSES:
        names = {
            status.value,
            *(v.lower() for v in ctx.texts.all_variants(f"reports.status.{status.value}")),
        }
        if wanted in names and status is not ReportStatus.draft:
            return status
    raise QueryError("reports.review.bad_status", value=value)


def _category_named(ctx: BotContext, value: str) -> int:
    wanted = value.lower()
    for index, key in enumerate(ctx.settings.report_categories):
        names = {key.lower()}
        locale_key = f"reports.category.{key}"
        if ctx.texts.has(locale_key):
            names |= {v.lower() for v in ctx.texts.all_variants(locale_key)}
        if wanted in names:
            return index
    raise QueryError("reports.review.bad_category", value=value)


async def _member_named(ctx: BotContext, value: str) -> int:
    async with ctx.db.transaction() as session:
        found = await reports.find_members(session, value, limit=6)
    exact = [p for p in found if p.name == value]
    if len(exact) == 1 or len(found) == 1:
        return (exact or found)[0].id
    if not found:
        raise QueryError("reports.review.no_member", value=value)
    names = "、".join(f"{p.name} #{p.id}" for p in found)
    raise QueryError("reports.review.many_members", value=value, names=names)


@staff_only
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
    code = _encode(query)
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
        rows.append([(label, callbacks.make(FEATURE, "op", item.id))])
    if found.pages > 1:
        lines.append(ctx.t("common.page", page=found.page + 1, pages=found.pages))
        nav = []
        if found.page > 0:
            nav.append(_button(ctx, "common.prev_page", "ls", found.page - 1, code))
        if found.page < found.pages - 1:
            nav.append(_button(ctx, "common.next_page", "ls", found.page + 1, code))
        rows.append(nav)
    if found.total:
        rows.append(
            [
                _button(ctx, "reports.review.btn.xlsx", "xl", code),
                _button(ctx, "reports.review.btn.compilation", "dx", code),
            ]
        )
    await edit_or_send(update, ctx, "\n".join(lines), markup=inline(rows) if rows else None)


async def _cb_list(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    query = _decode(cb.arg(1))
    page = cb.arg(0)
    if query is None or page is None or not page.isdigit():
        return alert("common.stale_button")
    await show_results(update, ctx, query, int(page))
    return None


# -- exports -----------------------------------------------------------------------------------


def labels(ctx: BotContext) -> exports.Labels:
    return exports.Labels(
        t=lambda key: ctx.t(key),
        category=lambda key: category_label(ctx, key),
        status=lambda value: ctx.t(f"reports.status.{value}"),
        action=lambda value: ctx.t(f"reports.history.{value}"),
        tz=ctx.settings.tz,
    )


async def _send_file(update: Update, ctx: BotContext, data: bytes, name: str, key: str) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    await ctx.bot.send_document(chat.id, data, filename=name, caption=ctx.t(key))


async def _audit_export(
    session: AsyncSession,
    ctx: BotContext,
    kind: str,
    query: Query | None,
    views: list[ReportView],
) -> None:
    """Every export is in the audit log: who took which reports out, in the export's
    transaction (a search by filter, or one report's document)."""
    assert ctx.viewer is not None
    await audit.record(
        session,
        ctx.viewer.actor,
        "report.export",
        object_type="report",
        object_id=views[0].id if query is None and views else None,
        format=kind,
        filter=_encode(query) if query is not None else None,
        count=len(views),
    )


async def _cb_xlsx(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    query = _decode(cb.arg(0))
    if query is None:
        return alert("common.stale_button")
    # A long read: a snapshot keeps it off the event loop's thread; audited before it is sent.
    async with ctx.db.snapshot() as session:
        views = await reports.export(session, query.to_filter(ctx))
    async with ctx.db.transaction() as session:
        await _audit_export(session, ctx, "xlsx", query, views)
    data = await asyncio.to_thread(exports.build_xlsx, views, labels(ctx))
    stamp = ctx.now().astimezone(ctx.settings.tz).strftime("%Y%m%d-%H%M")
    await _send_file(update, ctx, data, f"reports-{stamp}.xlsx", "reports.review.xlsx_caption")
    return None


async def _cb_compilation(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    query = _decode(cb.arg(0))
    if query is None:
        return alert("common.stale_button")
    async with ctx.db.snapshot() as session:
        views = await reports.export(session, query.to_filter(ctx), limit=DOCX_LIMIT)
    async with ctx.db.transaction() as session:
        await _audit_export(session, ctx, "docx", query, views)
    data = await asyncio.to_thread(exports.build_docx, views, labels(ctx))
    stamp = ctx.now().astimezone(ctx.settings.tz).strftime("%Y%m%d-%H%M")
    await _send_file(update, ctx, data, f"reports-{stamp}.docx", "reports.review.docx_caption")
    return None


async def _cb_docx(update: Update, ctx: BotContext, cb: Callback) -> Alert | None:
    report_id = cb.int_arg(0)
    async with ctx.db.transaction() as session:
        view = await reports.get(session, report_id) if report_id else None
        if view is not None:
            await _audit_export(session, ctx, "docx", None, [view])
    if view is None:
        return alert("common.stale_button")
    data = await asyncio.to_thread(exports.build_docx, [view], labels(ctx))
    name = f"{view.receipt_no or view.id}.docx"
    await _send_file(update, ctx, data, name, "reports.review.docx_caption")
    return None


ACTIONS: dict[str, CallbackAction] = {
    "nx": _cb_next,
    "op": _cb_open,
    "a": _cb_action,
    "skip": _cb_skip,
    "ls": _cb_list,
    "xl": _cb_xlsx,
    "dx": _cb_compilation,
    "doc": _cb_docx,
}


@staff_only
async def on_callback(update: Update, ctx: BotContext) -> None:
    """Every staff button of this feature: parsed, dispatched, answered once."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.parse(query.data)
    action = ACTIONS.get(cb.action) if cb is not None else None
    if cb is None or action is None:
        await answer(update, ctx, alert("common.stale_button"))
        return
    await answer(update, ctx, await action(update, ctx, cb))


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    app.add_handler(CallbackQueryHandler(on_callback, pattern=callbacks.pattern(FEATURE)))
    app.add_handler(CommandHandler("reports", search_command))
    wiring.add_menu("reports.review.menu", review_home, staff=True, order=950)
    wiring.add_flow(FLOW, on_input)
