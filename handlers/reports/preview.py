"""The buttons under a draft's preview and the "continue your draft?" offer: continue, edit a
section, discard (after a confirmation), and submit.

Buttons carry the report id (and, on a preview, its revision); storage re-checks ownership and
state on every tap.
"""

from __future__ import annotations

import asyncio
import contextlib

from telegram import Update
from telegram.error import TelegramError

from bot.context import BotContext
from handlers.callbacks import Callback
from handlers.replies import inline, say
from handlers.reports.cards import button, refuse, title
from handlers.reports.drafts import (
    ATTACH_STEP,
    FLOW,
    QUICK_FLOW,
    ask,
    checked_draft,
    resume,
    show_preview,
)
from handlers.wiring import ButtonHandler, close_dialog
from storage import reports
from storage.reports import FIELDS, Outcome


async def continue_draft(update: Update, ctx: BotContext, cb: Callback) -> None:
    view = await checked_draft(update, ctx, cb)
    if view is not None:
        await resume(update, ctx, view)


async def discard(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Ask before a draft (or a returned report's revision) is thrown away."""
    view = await checked_draft(update, ctx, cb)
    if view is None:
        return
    rows = [
        [
            button(ctx, "reports.btn.discard_yes", "discard_yes", view.id),
            button(ctx, "reports.btn.discard_no", "discard_no", view.id),
        ]
    ]
    key = "reports.revision_stop_confirm" if view.receipt_no else "reports.discard_confirm"
    await say(update, ctx, key, markup=inline(rows), title=title(ctx, view))


async def discard_yes(update: Update, ctx: BotContext, cb: Callback) -> None:
    report_id = cb.int_arg(0)
    if report_id is None:
        await refuse(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result, paths = await reports.discard(session, ctx.member.id, report_id)
    if not result.ok:
        await refuse(update, ctx)
        return
    await asyncio.to_thread(reports.remove_files, ctx.settings.data_dir, paths)
    if ctx.dialog is not None and ctx.dialog.flow in (FLOW, QUICK_FLOW):
        await close_dialog(update, ctx)
    key = "reports.revision_stopped" if result.report is not None else "reports.discarded"
    await say(update, ctx, key, markup=ctx.wiring.keyboard(ctx))


async def discard_no(update: Update, ctx: BotContext, cb: Callback) -> None:
    view = await checked_draft(update, ctx, cb)
    if view is None:
        return
    await say(update, ctx, "reports.kept")
    await resume(update, ctx, view)


async def confirm(update: Update, ctx: BotContext, cb: Callback) -> None:
    """Submit: one report however often the button is pressed; an old preview is refused."""
    report_id, revision = cb.int_arg(0), cb.arg(1)
    if report_id is None or revision is None or not revision.isdigit():
        await refuse(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result = await reports.submit(
            session,
            ctx.member.id,
            report_id,
            revision=int(revision),
            now=ctx.now(),
            tz=ctx.settings.tz,
        )
    view = result.report
    if result.outcome is Outcome.already_submitted and view is not None:
        await refuse(update, ctx, "reports.already_submitted", receipt=view.receipt_no or "")
        return
    if result.outcome is Outcome.stale and view is not None:
        await say(update, ctx, "reports.preview_stale")
        await show_preview(update, ctx, view)
        await refuse(update, ctx, "reports.preview_stale")
        return
    if result.outcome is Outcome.incomplete and view is not None:
        await resume(update, ctx, view)
        return
    if result.outcome is Outcome.not_editable:
        await refuse(update, ctx, "reports.not_editable")
        return
    if not result.ok or view is None:
        await refuse(update, ctx)
        return
    if ctx.dialog is not None and ctx.dialog.flow == FLOW:
        await close_dialog(update, ctx)
    await _drop_buttons(update)
    resubmitted = view.events and view.events[-1].action == "resubmitted"
    key = "reports.resubmitted" if resubmitted else "reports.submitted"
    await say(update, ctx, key, receipt=view.receipt_no or "", markup=ctx.wiring.keyboard(ctx))


async def _drop_buttons(update: Update) -> None:
    """Take the buttons off the preview that was just confirmed (cosmetic; may fail)."""
    query = update.callback_query
    if query is None:
        return
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(None)


async def edit_menu(update: Update, ctx: BotContext, cb: Callback) -> None:
    view = await checked_draft(update, ctx, cb, say_not_editable=True)
    if view is None:
        return
    names = [*FIELDS, ATTACH_STEP]
    sections = [button(ctx, f"reports.label.{n}", "edit_section", view.id, n) for n in names]
    rows = [sections[i : i + 2] for i in range(0, len(sections), 2)]
    rows.append([button(ctx, "reports.btn.back_preview", "preview", view.id)])
    await say(update, ctx, "reports.edit_choose", markup=inline(rows))


async def edit_section(update: Update, ctx: BotContext, cb: Callback) -> None:
    view = await checked_draft(update, ctx, cb, say_not_editable=True)
    if view is None:
        return
    section = cb.arg(1)
    if section not in (*FIELDS, ATTACH_STEP):
        await refuse(update, ctx)
        return
    await ask(update, ctx, section, view, edit=True)


async def preview(update: Update, ctx: BotContext, cb: Callback) -> None:
    view = await checked_draft(update, ctx, cb)
    if view is not None:
        await show_preview(update, ctx, view)


BUTTONS: dict[str, ButtonHandler] = {
    "continue": continue_draft,
    "discard": discard,
    "discard_yes": discard_yes,
    "discard_no": discard_no,
    "confirm": confirm,
    "edit": edit_menu,
    "edit_section": edit_section,
    "preview": preview,
}
