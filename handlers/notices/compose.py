"""The staff compose dialog: 📢 / /notice opens a draft (or offers the unsent one), the text
step, and the dialog's router that hands each typed answer to its step.

The steps after the text: recipients (audience.py), then acknowledgement, preview and sending
(sending.py).
"""

from __future__ import annotations

from typing import Any

from telegram import Message, Update

from bot.context import BotContext
from bot.i18n import Markup
from bot.telegram_text import utf16_len
from handlers.callbacks import Callback
from handlers.notices import audience, sending
from handlers.notices.common import FLOW, cb, explain, stale
from handlers.replies import inline, say
from handlers.wiring import close_dialog, open_dialog
from storage import notices
from storage.dialogs import Dialog
from storage.models import AudienceKind, NoticeStatus
from storage.notices import Problem


async def compose(update: Update, ctx: BotContext) -> None:
    """📢 / /notice: start a notice, or offer the unsent draft."""
    async with ctx.db.transaction() as session:
        view = await notices.open_draft(session, ctx.member)
    if isinstance(view, Problem):
        await explain(update, ctx, view)
        return
    if view.body or view.attachment:
        kind = (view.attachment or {}).get("type")
        body = view.body or ""
        if kind:
            label = ctx.t(f"notices.attachment_{'photo' if kind == 'photo' else 'document'}")
            body = f"{body}\n{ctx.t('notices.draft_attachment', kind=label)}".strip()
        # The body is the staff member's own formatting (Telegram HTML), shown as it is.
        markup = inline(
            [
                [(ctx.t("notices.resume_button"), cb("resume", view.id))],
                [(ctx.t("notices.new_button"), cb("start_over"))],
            ]
        )
        await say(update, ctx, "notices.draft_found", body=Markup(body), markup=markup)
        return
    await open_dialog(update, ctx, FLOW, "text", {"id": view.id})
    await say(update, ctx, "notices.ask_text")


async def resume(update: Update, ctx: BotContext, data: Callback) -> None:
    """Continue the unsent draft: on to choosing recipients."""
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        draft = await notices.get(session, ctx.member, notice_id)
    if (
        isinstance(draft, Problem)
        or draft.status is not NoticeStatus.draft
        or draft.author_id != ctx.member.id
    ):
        await explain(update, ctx, Problem.not_draft)
        return
    await open_dialog(update, ctx, FLOW, "audience", {"id": notice_id})
    await audience.ask_audience(update, ctx, notice_id)


async def start_over(update: Update, ctx: BotContext, data: Callback) -> None:
    """Drop the unsent draft's content and ask for the text again."""
    async with ctx.db.transaction() as session:
        view = await notices.start_over(session, ctx.member)
    if isinstance(view, Problem):
        await explain(update, ctx, view)
        return
    await open_dialog(update, ctx, FLOW, "text", {"id": view.id})
    await say(update, ctx, "notices.ask_text")


async def flow(update: Update, ctx: BotContext, dialog: Dialog) -> None:
    """Messages during composing: the text, typed names, a list file, options, a time."""
    if ctx.viewer is None or not ctx.viewer.is_staff:
        await close_dialog(update, ctx)
        await say(update, ctx, "common.staff_only")
        return
    notice_id = int(dialog.data.get("id", 0))
    message = update.effective_message
    if message is None:
        return
    step = dialog.step
    if step == "text":
        await take_text(update, ctx, notice_id, message)
    elif step == "names":
        kind = AudienceKind(dialog.data["kind"])
        await audience.take_names(update, ctx, notice_id, kind, message)
    elif step == "file":
        await audience.take_list(update, ctx, notice_id, message)
    elif step == "options":
        await sending.take_options(update, ctx, notice_id, message)
    elif step == "time":
        await sending.take_time(update, ctx, notice_id, message)
    else:
        await say(update, ctx, "common.not_understood")


async def take_text(update: Update, ctx: BotContext, notice_id: int, message: Message) -> None:
    attachment: dict[str, Any] | None = None
    if message.photo:
        attachment = {"type": "photo", "file_id": message.photo[-1].file_id}
    elif message.document:
        attachment = {
            "type": "document",
            "file_id": message.document.file_id,
            "filename": message.document.file_name,
        }
    if attachment is not None:
        # Telegram limits the visible text in UTF-16 units (an emoji counts 2).
        html, visible = message.caption_html or "", utf16_len(message.caption or "")
    elif message.text is not None:
        html, visible = message.text_html, utf16_len(message.text.strip())
    else:
        await say(update, ctx, "notices.need_content")
        return
    async with ctx.db.transaction() as session:
        view = await notices.set_body(
            session, ctx.member, notice_id, html=html, visible_length=visible, attachment=attachment
        )
    if isinstance(view, Problem):
        await explain(update, ctx, view, length=visible)
        return
    await open_dialog(update, ctx, FLOW, "audience", {"id": notice_id})
    await audience.ask_audience(update, ctx, notice_id)
