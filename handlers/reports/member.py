"""Opinion reports (社情民意信息), the guided dialog: "submit" from the menu, each answer as it
arrives (text, a tapped or typed category, files at any step), and the buttons of its steps.

Every answer is written to the member's draft the moment it arrives (storage.reports); the
dialog only remembers which question is open.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from telegram import Update

from bot.context import BotContext
from handlers.callbacks import Callback
from handlers.channel.telegram import TelegramTurn, media_of
from handlers.replies import edit_or_send, say
from handlers.reports.cards import category_label, limits, refuse
from handlers.reports.coauthors import find_coauthors
from handlers.reports.drafts import (
    ATTACH_STEP,
    COAUTHOR_STEP,
    FLOW,
    PREVIEW_STEP,
    ask,
    go,
    next_step,
    offer_draft,
    open_draft,
    show_preview,
)
from handlers.reports.files import store_file
from handlers.wiring import ButtonHandler, close_dialog
from storage import reports
from storage.dialogs import Dialog
from storage.reports import FIELDS, Outcome


async def submit_menu(update: Update, ctx: BotContext) -> None:
    """Menu "submit": offer the open draft, or start a new guided report with its title."""
    view = await open_draft(ctx)
    if view is not None:
        await offer_draft(update, ctx, view)
        return
    await say(update, ctx, "reports.intro")
    await ask(update, ctx, "title", None)


async def start_hook(update: Update, ctx: BotContext) -> None:
    """After /start: "continue your draft?" when the member has one."""
    if ctx.viewer is None:
        return
    view = await open_draft(ctx)
    if view is not None:
        await offer_draft(update, ctx, view)


async def on_input(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """An answer in the guided dialog: saved to the draft at once, then the next question."""
    message = update.effective_message
    if ctx.viewer is None or message is None:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.not_bound")
        return
    step = dialog.step
    edit = bool(dialog.data.get("edit"))
    media = media_of(message)
    if step == ATTACH_STEP:
        if media is None:
            view = await open_draft(ctx)
            await say(update, ctx, "reports.need_file")
            await ask(update, ctx, ATTACH_STEP, view, edit=edit)
            return
        await _attach(update, ctx, media, then_step=ATTACH_STEP, edit=edit)
        return
    if media is not None:
        # A photo or file in the middle of the questions is kept, then the question again (or
        # the preview, when there is no question open).
        then = step if step in FIELDS else PREVIEW_STEP
        await _attach(update, ctx, media, then_step=then, edit=edit)
        return
    text = message.text
    if step == COAUTHOR_STEP:
        await find_coauthors(update, ctx, text or "")
        return
    if step == PREVIEW_STEP:
        view = await open_draft(ctx)
        await say(update, ctx, "reports.use_preview_buttons")
        if view is not None:
            await show_preview(update, ctx, view)
        return
    if step == "category":
        await _typed_category(update, ctx, text or "", edit)
        return
    if step not in reports.TEXT_FIELDS:
        await close_dialog(update, ctx)
        return
    # The same text as another field, sent again: after a crash between moving on and asking
    # the next question, that is the last answer resent. It is stored only when sent twice.
    fingerprint = _fingerprint(text)
    async with ctx.db.transaction() as session:
        result = await reports.save_text(
            session,
            ctx.viewer.id,
            step,
            text,
            limits(ctx),
            allow_repeat=edit or dialog.data.get("repeat") == fingerprint,
        )
    if result.outcome is Outcome.repeated and result.field is not None:
        label = ctx.t(f"reports.label.{result.field}")
        await say(update, ctx, "reports.repeated", field=label, step=ctx.t(f"reports.label.{step}"))
        await ask(update, ctx, step, None, repeat=fingerprint)
        return
    if not result.ok or result.report is None:
        await _refuse_text(update, ctx, result)
        return
    await go(update, ctx, next_step(result.report, step, edit), result.report)


def _fingerprint(text: str | None) -> str:
    """Names an answer in the dialog's state without keeping its words there twice."""
    return hashlib.sha256((text or "").strip().encode()).hexdigest()[:16]


async def _refuse_text(update: Update, ctx: BotContext, result: reports.Result) -> None:
    if result.outcome is Outcome.too_long:
        await say(update, ctx, "common.text_too_long", length=result.length, limit=result.limit)
    elif result.outcome is Outcome.empty:
        await say(update, ctx, "common.text_empty")
    else:
        await say(update, ctx, "reports.need_text")


async def _typed_category(update: Update, ctx: BotContext, text: str, edit: bool) -> None:
    """A category typed instead of tapped is accepted when it names one exactly."""
    typed = text.strip().lower()
    names = ctx.settings.report_categories
    chosen = next((n for n in names if typed in (n.lower(), category_label(ctx, n).lower())), None)
    if chosen is None:
        view = await open_draft(ctx)
        await say(update, ctx, "reports.pick_category")
        await ask(update, ctx, "category", view, edit=edit)
        return
    async with ctx.db.transaction() as session:
        result = await reports.save_category(session, ctx.member.id, chosen, names)
    assert result.report is not None
    await go(update, ctx, next_step(result.report, "category", edit), result.report)


async def _attach(
    update: Update, ctx: BotContext, media: dict[str, Any], *, then_step: str, edit: bool
) -> None:
    stored = await store_file(TelegramTurn(update, ctx), media)
    view = await open_draft(ctx)
    if stored and view is not None:
        await say(
            update,
            ctx,
            "reports.attachment_saved",
            count=len(view.attachments),
            max=ctx.settings.report_max_attachments,
        )
    if then_step == ATTACH_STEP:
        await ask(update, ctx, ATTACH_STEP, view, edit=edit)
    elif then_step in FIELDS:
        await ask(update, ctx, then_step, view, edit=edit)
    elif view is not None:
        await show_preview(update, ctx, view)
    else:
        await ask(update, ctx, "title", None)


# -- the buttons of the dialog's steps ---------------------------------------------------------


async def category(update: Update, ctx: BotContext, cb: Callback) -> None:
    index = cb.arg(0)
    names = ctx.settings.report_categories
    dialog = ctx.dialog
    if (
        dialog is None
        or dialog.flow != FLOW
        or dialog.step != "category"
        or index is None
        or not index.isdigit()
        or int(index) >= len(names)
    ):
        await refuse(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result = await reports.save_category(session, ctx.member.id, names[int(index)], names)
    if not result.ok or result.report is None:
        await refuse(update, ctx)
        return
    await edit_or_send(
        update,
        ctx,
        ctx.t("reports.category_chosen", category=category_label(ctx, names[int(index)])),
    )
    edit = bool(dialog.data.get("edit"))
    await go(update, ctx, next_step(result.report, "category", edit), result.report)


async def done(update: Update, ctx: BotContext, cb: Callback) -> None:
    """No (more) files: the preview."""
    view = await open_draft(ctx)
    if view is None or ctx.dialog is None or ctx.dialog.flow != FLOW:
        await refuse(update, ctx)
        return
    await show_preview(update, ctx, view)


async def remove_files(update: Update, ctx: BotContext, cb: Callback) -> None:
    async with ctx.db.transaction() as session:
        result, paths = await reports.clear_attachments(session, ctx.member.id)
    if not result.ok or result.report is None:
        await refuse(update, ctx)
        return
    await asyncio.to_thread(reports.remove_files, ctx.settings.data_dir, paths)
    await say(update, ctx, "reports.attachments_removed")
    await ask(update, ctx, ATTACH_STEP, result.report, edit=True)


BUTTONS: dict[str, ButtonHandler] = {
    "category": category,
    "done": done,
    "remove_files": remove_files,
}
