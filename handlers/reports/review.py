"""Opinion reports, staff side: the review queue, a report's card with its files, and the
decisions (adopt, forward, leader's instruction, return, excellent) with the text they need.

Each decision is one transaction: the status change, its history line, the audit row and the
message to the author (through the outbox) commit together.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.error import TelegramError

from bot.context import BotContext
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.replies import inline, say
from handlers.reports.cards import (
    REVIEW_FEATURE,
    history_blocks,
    open_data,
    refuse,
    report_blocks,
    send_blocks,
    staff_button,
    status_label,
)
from handlers.reports.query import STATUSES, Query, encode
from handlers.wiring import ButtonHandler, close_dialog, open_dialog
from storage import outbox, reports
from storage.dialogs import Dialog
from storage.models import Priority, ReportStatus
from storage.reports import ALLOWED, Outcome, ReportView, ReviewAction

log = logging.getLogger(__name__)

FLOW = "report_review"
ACTION_ICONS = {
    ReviewAction.adopt: "reports.review.btn.adopt",
    ReviewAction.forward: "reports.review.btn.forward",
    ReviewAction.instruct: "reports.review.btn.instruct",
    ReviewAction.return_: "reports.review.btn.return",
}


# -- telling the author ------------------------------------------------------------------------


async def notify_author(session: AsyncSession, view: ReportView) -> bool:
    """Tell the author about the latest review decision, through the outbox, in the caller's
    transaction (rendered in the author's language by the delivery worker). The one place
    that decides what the author hears; False when there is nothing to send."""
    event = view.events[-1] if view.events else None
    if event is None or view.author_address is None or event.action == "unexcellent":
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
    buttons = [[outbox.button("reports.btn.open", open_data(view.id))]]
    await outbox.enqueue(
        session,
        to=view.author_address,
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


async def review_home(update: Update, ctx: BotContext) -> None:
    """Staff menu: how many wait, the next one, and filters by status."""
    async with ctx.db.transaction() as session:
        waiting = await reports.queue_count(session)
    rows = [[staff_button(ctx, "reports.review.btn.next", "next")]]
    statuses = [
        (status_label(ctx, s), callbacks.make(REVIEW_FEATURE, "list", 0, encode(Query(status=s))))
        for s in STATUSES
        if s is not ReportStatus.draft
    ]
    rows += [statuses[i : i + 3] for i in range(0, len(statuses), 3)]
    rows.append([staff_button(ctx, "reports.review.btn.all", "list", 0, "-")])
    await say(update, ctx, "reports.review.home", markup=inline(rows), count=waiting)


async def show_card(update: Update, ctx: BotContext, view: ReportView) -> None:
    """A report for review: its files, then the full text with the actions allowed now."""
    await _send_attachments(update, ctx, view)
    rows: list[list[tuple[str, str]]] = []
    actions = [
        staff_button(ctx, key, "decide", view.id, action.value)
        for action, key in ACTION_ICONS.items()
        if view.status in ALLOWED[action]
    ]
    rows += [actions[i : i + 2] for i in range(0, len(actions), 2)]
    extra = [staff_button(ctx, "reports.review.btn.docx", "docx", view.id)]
    if view.status in ALLOWED[ReviewAction.excellent]:
        key = "reports.review.btn.unexcellent" if view.excellent else "reports.review.btn.excellent"
        extra.insert(0, staff_button(ctx, key, "decide", view.id, ReviewAction.excellent.value))
    rows.append(extra)
    rows.append([staff_button(ctx, "reports.review.btn.next", "next", view.id)])
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


async def next_report(update: Update, ctx: BotContext, cb: Callback) -> None:
    async with ctx.db.transaction() as session:
        view = await reports.next_in_queue(session, cb.int_arg(0))
    if view is None:
        await say(update, ctx, "reports.review.queue_empty")
        return
    await show_card(update, ctx, view)


async def open_card(update: Update, ctx: BotContext, cb: Callback) -> None:
    report_id = cb.int_arg(0)
    async with ctx.db.transaction() as session:
        view = await reports.get(session, report_id) if report_id else None
    if view is None:
        await refuse(update, ctx)
        return
    await show_card(update, ctx, view)


# -- decisions ---------------------------------------------------------------------------------


async def decide(update: Update, ctx: BotContext, cb: Callback) -> None:
    """A decision button: excellent at once; the others ask for their text first."""
    report_id, name = cb.int_arg(0), cb.arg(1)
    if report_id is None or name not in {a.value for a in ReviewAction}:
        await refuse(update, ctx)
        return
    action = ReviewAction(str(name))
    async with ctx.db.transaction() as session:
        view = await reports.get(session, report_id)
    if view is None:
        await refuse(update, ctx)
        return
    if view.status not in ALLOWED[action]:
        await refuse(
            update, ctx, "reports.review.not_allowed", status=status_label(ctx, view.status)
        )
        return
    if action is ReviewAction.excellent:
        await perform(update, ctx, report_id, action, note=None)
        return
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
        rows = [[staff_button(ctx, "reports.review.btn.no_note", "no_note")]]
        await say(
            update,
            ctx,
            "reports.review.ask_note",
            markup=inline(rows),
            receipt=receipt,
            action=ctx.t(f"reports.history.{action.value}"),
        )


async def no_note(update: Update, ctx: BotContext, cb: Callback) -> None:
    dialog = ctx.dialog
    if dialog is None or dialog.flow != FLOW or dialog.step != "note":
        await refuse(update, ctx)
        return
    await perform(
        update, ctx, int(dialog.data["report_id"]), ReviewAction(dialog.data["action"]), note=None
    )


async def on_input(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """The text a decision needs: feedback, the reason, who instructed, the instruction."""
    message = update.effective_message
    # A dialog is not behind the router's access check: staff may have been demoted meanwhile.
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
    async with ctx.db.transaction() as session:
        result = await reports.review(
            session,
            ctx.member.actor,
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
            staff_button(ctx, "reports.review.btn.next", "next"),
            staff_button(ctx, "reports.review.btn.open", "open", view.id),
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


BUTTONS: dict[str, ButtonHandler] = {
    "next": next_report,
    "open": open_card,
    "decide": decide,
    "no_note": no_note,
}
