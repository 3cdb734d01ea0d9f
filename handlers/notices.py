"""Notices (通知): staff compose and send, members acknowledge and look back.

Staff: 📢 compose (text with formatting, optional photo or file) → recipients → acknowledgement
→ preview with the recipient count → send now or at a set time; a progress message with a
cancel button follows the delivery (bot.notice_progress); 📋 lists recent notices with their
statistics, lists, xlsx export and a reminder to the silent ones.
Members: the acknowledgement buttons on a notice; 📬 lists the notices they received.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import notice_export, notice_progress
from bot.context import BotContext
from bot.i18n import Markup, escape
from bot.telegram_text import (
    MAX_CAPTION_LENGTH,
    split_html_lines,
    truncate_utf16,
    utf16_len,
    visible_len,
)
from handlers import callbacks
from handlers.guards import member_only, staff_only
from handlers.replies import inline, say, send_text
from handlers.wiring import Wiring, close_dialog, open_dialog
from storage import audit, notices
from storage.dialogs import Dialog
from storage.models import AckMode, AudienceKind, NoticeStatus
from storage.notices import Category, NoticeView, Problem

log = logging.getLogger(__name__)

FEATURE = "ntc"
FLOW = "notice"
MAX_LIST_BYTES = 5 * 1024 * 1024
LIST_LINES = 40  # names shown in a chat list; the xlsx has everyone
NAMED_KINDS = (AudienceKind.sectors, AudienceKind.committees, AudienceKind.points)
AUDIENCE_ORDER = (
    AudienceKind.everyone,
    AudienceKind.sectors,
    AudienceKind.committees,
    AudienceKind.points,
    AudienceKind.activity,
    AudienceKind.phones,
)
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y.%m.%d %H:%M", "%Y年%m月%d日 %H:%M")
SHORT_TIME_FORMATS = ("%m-%d %H:%M", "%m/%d %H:%M", "%m月%d日 %H:%M")


def ack_data(notice_id: int, option: int) -> str:
    return callbacks.make(FEATURE, "ack", notice_id, option)


def _cb(action: str, *args: object) -> str:
    return callbacks.make(FEATURE, action, *args)


async def _problem(update: Update, ctx: BotContext, problem: Problem, **params: Any) -> None:
    """Explain why nothing changed: an alert on a button, a message otherwise."""
    params.setdefault("max", notices.MAX_OPTION_CHARS)
    params.setdefault("limit", notices.MAX_BODY_CHARS)
    params.setdefault("length", "")
    text = ctx.t(f"notices.error_{problem.value}", **params)
    query = update.callback_query
    if query is not None:
        await query.answer(text, show_alert=True)
    else:
        await send_text(update, ctx, text)


async def _stale(update: Update, ctx: BotContext) -> None:
    query = update.callback_query
    if query is not None:
        await query.answer(ctx.t("common.stale_button"), show_alert=True)


def _local(ctx: BotContext, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ctx.settings.tz).strftime("%Y-%m-%d %H:%M")


def _first_line(body: str, limit: int = 24) -> str:
    plain = re.sub(r"<[^>]+>", "", body).replace("&lt;", "<").replace("&gt;", ">")
    plain = plain.replace("&quot;", '"').replace("&amp;", "&")
    line = next((part.strip() for part in plain.splitlines() if part.strip()), "")
    return truncate_utf16(line, limit)


# -- composing ------------------------------------------------------------------------------


@staff_only
async def compose(update: Update, ctx: BotContext) -> None:
    """📢 / /notice: start a notice, or offer the unsent draft."""
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        view = await notices.open_draft(session, ctx.viewer)
    if isinstance(view, Problem):
        await _problem(update, ctx, view)
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
                [(ctx.t("notices.resume_button"), _cb("resume", view.id))],
                [(ctx.t("notices.new_button"), _cb("new"))],
            ]
        )
        await say(update, ctx, "notices.draft_found", body=Markup(body), markup=markup)
        return
    await open_dialog(update, ctx, FLOW, "text", {"id": view.id})
    await say(update, ctx, "notices.ask_text")


async def _resume(update: Update, ctx: BotContext, notice_id: int) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction() as session:
        draft = await notices.get(session, ctx.viewer, notice_id)
    if (
        isinstance(draft, Problem)
        or draft.status is not NoticeStatus.draft
        or draft.author_id != ctx.viewer.id
    ):
        await _problem(update, ctx, Problem.not_draft)
        return
    await update.callback_query.answer()
    await open_dialog(update, ctx, FLOW, "audience", {"id": notice_id})
    await _ask_audience(update, ctx, notice_id)


async def _start_over(update: Update, ctx: BotContext) -> None:
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        view = await notices.start_over(session, ctx.viewer)
    if isinstance(view, Problem):
        await _problem(update, ctx, view)
        return
    if update.callback_query:
        await update.callback_query.answer()
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
        await _take_text(update, ctx, notice_id, message)
    elif step == "names":
        await _take_names(update, ctx, notice_id, AudienceKind(dialog.data["kind"]), message)
    elif step == "file":
        await _take_list(update, ctx, notice_id, message)
    elif step == "options":
        await _take_options(update, ctx, notice_id, message)
    elif step == "time":
        await _take_time(update, ctx, notice_id, message)
    else:
        await say(update, ctx, "common.not_understood")


async def _take_text(update: Update, ctx: BotContext, notice_id: int, message: Message) -> None:
    assert ctx.viewer is not None
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
            session, ctx.viewer, notice_id, html=html, visible_length=visible, attachment=attachment
        )
    if isinstance(view, Problem):
        await _problem(update, ctx, view, length=visible)
        return
    await open_dialog(update, ctx, FLOW, "audience", {"id": notice_id})
    await say(update, ctx, "notices.saved_text", markup=_audience_markup(ctx, notice_id))


def _audience_markup(ctx: BotContext, notice_id: int) -> InlineKeyboardMarkup:
    buttons = [
        (ctx.t(f"notices.audience_{kind.value}"), _cb("aud", notice_id, kind.value))
        for kind in AUDIENCE_ORDER
    ]
    return inline([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def _ask_audience(update: Update, ctx: BotContext, notice_id: int) -> None:
    await say(update, ctx, "notices.saved_text", markup=_audience_markup(ctx, notice_id))


async def _choose_audience(
    update: Update, ctx: BotContext, notice_id: int, kind: AudienceKind
) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    query = update.callback_query
    if kind is AudienceKind.everyone:
        async with ctx.db.transaction() as session:
            view = await notices.set_audience(session, ctx.viewer, notice_id, kind)
        if isinstance(view, Problem):
            await _problem(update, ctx, view)
            return
        await query.answer()
        await _ask_ack(update, ctx, notice_id)
        return
    if kind is AudienceKind.phones:
        async with ctx.db.transaction() as session:
            draft = await notices.get(session, ctx.viewer, notice_id)
        if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
            await _problem(update, ctx, Problem.not_draft)
            return
        await query.answer()
        await open_dialog(update, ctx, FLOW, "file", {"id": notice_id})
        await say(update, ctx, "notices.send_list")
        return
    async with ctx.db.transaction() as session:
        draft = await notices.get(session, ctx.viewer, notice_id)
        options = await notices.choices(session, kind)
    if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
        await _problem(update, ctx, Problem.not_draft)
        return
    await query.answer()
    if not options:
        await say(update, ctx, "notices.no_choices", markup=_audience_markup(ctx, notice_id))
        return
    if kind is AudienceKind.activity:
        rows = [
            [(f"{o.name} {_local(ctx, o.when)[:10]}".strip(), _cb("act", notice_id, o.id))]
            for o in options
        ]
        await say(update, ctx, "notices.choose_activity", markup=inline(rows))
        return
    selected = set(draft.audience_ids) if draft.audience_kind is kind else set()
    await open_dialog(update, ctx, FLOW, "names", {"id": notice_id, "kind": kind.value})
    await say(
        update,
        ctx,
        f"notices.choose_{kind.value}",
        markup=_toggle_markup(ctx, notice_id, kind, options, selected),
    )


def _toggle_markup(
    ctx: BotContext,
    notice_id: int,
    kind: AudienceKind,
    options: list[notices.Choice],
    selected: set[int],
) -> InlineKeyboardMarkup:
    buttons = [
        (("✅ " if o.id in selected else "") + o.name, _cb("tog", notice_id, kind.value, o.id))
        for o in options
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(ctx.t("notices.done_button"), _cb("audok", notice_id))])
    return inline(rows)


async def _toggle(
    update: Update, ctx: BotContext, notice_id: int, kind: AudienceKind, ref_id: int
) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction() as session:
        view = await notices.toggle_audience(session, ctx.viewer, notice_id, kind, ref_id)
        options = await notices.choices(session, kind)
    if isinstance(view, Problem):
        await _problem(update, ctx, view)
        return
    await update.callback_query.answer(ctx.t("notices.selected", count=len(view.audience_ids)))
    markup = _toggle_markup(ctx, notice_id, kind, options, set(view.audience_ids))
    try:
        await update.callback_query.edit_message_reply_markup(markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _audience_done(update: Update, ctx: BotContext, notice_id: int) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction() as session:
        draft = await notices.get(session, ctx.viewer, notice_id)
        if isinstance(draft, Problem):
            await _problem(update, ctx, draft)
            return
        if draft.audience_kind not in NAMED_KINDS or not draft.audience_ids:
            await _problem(update, ctx, Problem.no_audience)
            return
        view = await notices.set_audience(
            session, ctx.viewer, notice_id, draft.audience_kind, draft.audience_ids
        )
    if isinstance(view, Problem):
        await _problem(update, ctx, view)
        return
    await update.callback_query.answer()
    await _ask_ack(update, ctx, notice_id)


async def _take_names(
    update: Update, ctx: BotContext, notice_id: int, kind: AudienceKind, message: Message
) -> None:
    assert ctx.viewer is not None
    if not (message.text or "").strip():
        await say(update, ctx, f"notices.choose_{kind.value}")
        return
    async with ctx.db.transaction() as session:
        ids, unknown = await notices.ids_for_names(session, kind, message.text or "")
        if unknown or not ids:
            names = "、".join(unknown) or message.text or ""
            await say(update, ctx, "notices.unknown_names", names=names)
            return
        view = await notices.set_audience(session, ctx.viewer, notice_id, kind, ids)
    if isinstance(view, Problem):
        await _problem(update, ctx, view)
        return
    await say(update, ctx, "notices.selected", count=len(view.audience_ids))
    await _ask_ack(update, ctx, notice_id)


async def _pick_activity(update: Update, ctx: BotContext, notice_id: int, activity_id: int) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction() as session:
        view = await notices.set_audience(
            session, ctx.viewer, notice_id, AudienceKind.activity, [activity_id]
        )
    if isinstance(view, Problem):
        await _problem(update, ctx, view)
        return
    await update.callback_query.answer()
    await _ask_ack(update, ctx, notice_id)


async def _take_list(update: Update, ctx: BotContext, notice_id: int, message: Message) -> None:
    assert ctx.viewer is not None
    document = message.document
    name = (document.file_name or "").lower() if document else ""
    if document is None or not name.endswith(notices.LIST_SUFFIXES):
        await say(update, ctx, "notices.list_wrong_type")
        return
    if (document.file_size or 0) > MAX_LIST_BYTES:
        await say(update, ctx, "notices.list_too_big", mb=MAX_LIST_BYTES // (1024 * 1024))
        return
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    try:
        cells = await asyncio.to_thread(notices.phone_cells, data, name)
    except notices.ListFileError:
        await say(update, ctx, "notices.list_unreadable_file")
        return
    async with ctx.db.transaction() as session:
        match = await notices.match_phones(session, cells)
        if not match.member_ids:
            await say(update, ctx, "notices.list_nobody")
            return
        view = await notices.set_audience(
            session, ctx.viewer, notice_id, AudienceKind.phones, match.member_ids
        )
    if isinstance(view, Problem):
        await _problem(update, ctx, view)
        return
    lines = [ctx.t("notices.list_result", matched=len(match.member_ids))]
    if match.unknown:
        shown = "、".join(match.unknown[:10])
        more = "…" if len(match.unknown) > 10 else ""
        lines.append(ctx.t("notices.list_unknown", count=len(match.unknown), numbers=shown + more))
    if match.unreadable:
        lines.append(ctx.t("notices.list_unreadable", count=match.unreadable))
    await send_text(update, ctx, "\n".join(lines))
    await _ask_ack(update, ctx, notice_id)


async def _ask_ack(update: Update, ctx: BotContext, notice_id: int) -> None:
    await open_dialog(update, ctx, FLOW, "ack", {"id": notice_id})
    markup = inline(
        [
            [(ctx.t(f"notices.ack_{mode.value}"), _cb("ackm", notice_id, mode.value))]
            for mode in AckMode
        ]
    )
    await say(update, ctx, "notices.ask_ack", markup=markup)


async def _choose_ack(update: Update, ctx: BotContext, notice_id: int, mode: AckMode) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    if mode is AckMode.options:
        async with ctx.db.transaction() as session:
            draft = await notices.get(session, ctx.viewer, notice_id)
        if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
            await _problem(update, ctx, Problem.not_draft)
            return
        await update.callback_query.answer()
        await open_dialog(update, ctx, FLOW, "options", {"id": notice_id})
        await say(update, ctx, "notices.ask_options", max=notices.MAX_OPTION_CHARS)
        return
    async with ctx.db.transaction() as session:
        view = await notices.set_ack(session, ctx.viewer, notice_id, mode)
    if isinstance(view, Problem):
        await _problem(update, ctx, view)
        return
    await update.callback_query.answer()
    await _preview(update, ctx, view)


async def _take_options(update: Update, ctx: BotContext, notice_id: int, message: Message) -> None:
    assert ctx.viewer is not None
    lines = (message.text or "").splitlines()
    async with ctx.db.transaction() as session:
        view = await notices.set_ack(session, ctx.viewer, notice_id, AckMode.options, lines)
    if isinstance(view, Problem):
        await _problem(update, ctx, view)
        return
    await _preview(update, ctx, view)


def _member_markup(ctx: BotContext, view: NoticeView, data: Any) -> InlineKeyboardMarkup | None:
    """The acknowledgement buttons as members see them (labels in the viewer's language)."""
    rows = notices.ack_buttons(view, data)
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    ctx.t(spec["key"]) if "key" in spec else spec["label"],
                    callback_data=spec["data"],
                )
                for spec in row
            ]
            for row in rows
        ]
    )


async def _send_notice_copy(
    update: Update, ctx: BotContext, view: NoticeView, text: str, markup: Any
) -> None:
    """The notice as a member gets it, with its photo or file (caption when it fits)."""
    chat = update.effective_chat
    assert chat is not None
    attachment = view.attachment
    if attachment:
        fits = visible_len(text) <= MAX_CAPTION_LENGTH
        sender = ctx.bot.send_photo if attachment.get("type") == "photo" else ctx.bot.send_document
        field = "photo" if attachment.get("type") == "photo" else "document"
        await sender(
            chat.id,
            **{field: attachment["file_id"]},
            caption=text if fits else None,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if fits else None,
        )
        if fits:
            return
    await send_text(update, ctx, text, markup=markup)


async def _preview(update: Update, ctx: BotContext, view: NoticeView) -> None:
    await close_dialog(update, ctx)
    async with ctx.db.transaction() as session:
        count = await notices.count_audience(session, view.id)
    await say(update, ctx, "notices.preview_header")
    text = ctx.t(notices.message_template(view), body=Markup(view.body))
    await _send_notice_copy(
        update, ctx, view, text, _member_markup(ctx, view, lambda n, o: _cb("pv", n))
    )
    if view.ack_mode is AckMode.options:
        ack = ctx.t("notices.ack_desc_options", options=" / ".join(view.ack_options))
    else:
        ack = ctx.t(f"notices.ack_desc_{view.ack_mode.value}")
    not_bound = ctx.t("notices.not_bound_part", count=count.not_bound) if count.not_bound else ""
    markup = inline(
        [
            [
                (ctx.t("notices.send_now_button"), _cb("now", view.id)),
                (ctx.t("notices.schedule_button"), _cb("later", view.id)),
            ],
            [(ctx.t("notices.change_audience_button"), _cb("chg", view.id))],
            [(ctx.t("notices.discard_button"), _cb("discard", view.id))],
        ]
    )
    await say(
        update,
        ctx,
        "notices.preview_summary",
        count=count.recipients,
        not_bound=not_bound,
        ack=ack,
        markup=markup,
    )


async def _send_now(update: Update, ctx: BotContext, notice_id: int) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction(bulk=True) as session:
        view = await notices.queue(session, ctx.viewer, notice_id, now=ctx.now(), ack_data=ack_data)
    if isinstance(view, Problem):
        await _problem(update, ctx, view)
        return
    await update.callback_query.answer()
    await close_dialog(update, ctx)
    ctx.runtime.outbox_signal()
    text = notice_progress.render_starting(ctx.texts, ctx.locale, view)
    sent = await send_text(update, ctx, text, markup=_cancel_markup(ctx, view.id))
    if sent is not None:
        async with ctx.db.transaction() as session:
            await notices.set_progress_message(session, view.id, sent.chat_id, sent.message_id)


def _cancel_markup(ctx: BotContext, notice_id: int) -> InlineKeyboardMarkup:
    return inline([[(ctx.t("notices.cancel_button"), _cb("cancel", notice_id))]])


def _example_time(ctx: BotContext) -> str:
    tomorrow = (ctx.now().astimezone(ctx.settings.tz) + timedelta(days=1)).replace(hour=9, minute=0)
    return tomorrow.strftime("%Y-%m-%d %H:%M")


async def _ask_time(update: Update, ctx: BotContext, notice_id: int) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction() as session:
        draft = await notices.get(session, ctx.viewer, notice_id)
    if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
        await _problem(update, ctx, Problem.not_draft)
        return
    await update.callback_query.answer()
    await open_dialog(update, ctx, FLOW, "time", {"id": notice_id})
    await say(update, ctx, "notices.ask_time", tz=ctx.settings.timezone, example=_example_time(ctx))


def parse_time(text: str, now: datetime, ctx: BotContext) -> datetime | None:
    """A local time typed by staff ("2026-11-26 09:00", "11-26 9:00") as an aware UTC time."""
    cleaned = re.sub(r"\s+", " ", text.strip().replace("：", ":"))
    tz = ctx.settings.tz
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    local_now = now.astimezone(tz)
    for fmt in SHORT_TIME_FORMATS:
        try:
            # strptime needs a year for month-day forms; this year, or next when already past.
            moment = datetime.strptime(f"{local_now.year} {cleaned}", f"%Y {fmt}")
        except ValueError:
            continue
        moment = moment.replace(tzinfo=tz)
        return moment if moment > local_now else moment.replace(year=moment.year + 1)
    return None


async def _take_time(update: Update, ctx: BotContext, notice_id: int, message: Message) -> None:
    assert ctx.viewer is not None
    at = parse_time(message.text or "", ctx.now(), ctx)
    if at is None:
        await say(update, ctx, "notices.bad_time", example=_example_time(ctx))
        return
    async with ctx.db.transaction(bulk=True) as session:
        view = await notices.queue(
            session, ctx.viewer, notice_id, now=ctx.now(), ack_data=ack_data, at=at
        )
    if isinstance(view, Problem):
        await _problem(update, ctx, view)
        return
    await close_dialog(update, ctx)
    ctx.runtime.outbox_signal()
    sent = await say(
        update,
        ctx,
        "notices.scheduled",
        id=view.id,
        at=_local(ctx, at),
        count=view.recipient_count,
        markup=_cancel_markup(ctx, view.id),
    )
    if sent is not None:
        async with ctx.db.transaction() as session:
            await notices.set_progress_message(session, view.id, sent.chat_id, sent.message_id)


async def _change_audience(update: Update, ctx: BotContext, notice_id: int) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction() as session:
        draft = await notices.get(session, ctx.viewer, notice_id)
    if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
        await _problem(update, ctx, Problem.not_draft)
        return
    await update.callback_query.answer()
    await open_dialog(update, ctx, FLOW, "audience", {"id": notice_id})
    await _ask_audience(update, ctx, notice_id)


async def _discard(update: Update, ctx: BotContext, notice_id: int) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction() as session:
        problem = await notices.discard_draft(session, ctx.viewer, notice_id)
    if problem is not None:
        await _problem(update, ctx, problem)
        return
    await update.callback_query.answer()
    await close_dialog(update, ctx)
    await say(update, ctx, "notices.discarded")


# -- after sending: cancel, statistics, lists, export, reminder -------------------------------


async def _cancel(update: Update, ctx: BotContext, notice_id: int) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction() as session:
        result = await notices.cancel(session, ctx.viewer, notice_id, now=ctx.now())
    if isinstance(result, Problem):
        await _problem(update, ctx, result)
        return
    view, stopped = result
    ctx.runtime.outbox_signal()  # the worker drops rows it already holds for this notice
    await update.callback_query.answer()
    if view.progress_chat_id and view.progress_message_id:
        author_text = ctx.t("notices.progress_cancelled", id=view.id, stopped=stopped)
        try:
            await ctx.bot.edit_message_text(
                author_text,
                chat_id=view.progress_chat_id,
                message_id=view.progress_message_id,
                parse_mode=ParseMode.HTML,
            )
        except BadRequest:
            log.debug("progress message of notice %s could not be edited", view.id)
    await say(update, ctx, "notices.cancelled", id=view.id, n=stopped)


@staff_only
async def recent(update: Update, ctx: BotContext) -> None:
    """📋 / /notices: the latest notices, each opening its statistics."""
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        items = await notices.recent(session, ctx.viewer)
    if not items:
        await say(update, ctx, "notices.recent_empty")
        return
    rows = []
    for view in items:
        when = _local(ctx, view.scheduled_at or view.queued_at)
        label = ctx.t(
            "notices.recent_line",
            id=view.id,
            when=when,
            status=ctx.t(f"notices.status_{view.status.value}"),
        )
        rows.append([(f"{label} {_first_line(view.body, 16)}", _cb("st", view.id))])
    await say(update, ctx, "notices.recent_title", markup=inline(rows))


async def _stats(update: Update, ctx: BotContext, notice_id: int, *, edit: bool) -> None:
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        view = await notices.get(session, ctx.viewer, notice_id)
        if isinstance(view, Problem):
            await _problem(update, ctx, view)
            return
        stats = await notices.stats(session, notice_id)
    if update.callback_query:
        await update.callback_query.answer()
    ack_part = ""
    if view.asks_ack:
        ack_part = ctx.t("notices.stats_ack", acked=stats.acknowledged, silent=stats.silent)
        if view.ack_mode is AckMode.options:
            for index, label in enumerate(view.ack_options):
                n = stats.by_option[index] if index < len(stats.by_option) else 0
                ack_part += ctx.t("notices.stats_option", label=label, n=n)
    if view.status is NoticeStatus.scheduled:
        when = ctx.t("notices.stats_when_scheduled", at=_local(ctx, view.scheduled_at))
    else:
        when = ctx.t("notices.stats_when_sent", at=_local(ctx, view.scheduled_at or view.queued_at))
    text = ctx.t(
        "notices.stats",
        id=view.id,
        status=ctx.t(f"notices.status_{view.status.value}"),
        when=when,
        total=stats.total,
        delivered=stats.delivered,
        waiting=stats.waiting,
        failed=stats.failed,
        unreachable=stats.unreachable,
        cancelled=stats.cancelled,
        ack_part=Markup(ack_part),  # joined from texts above
        first=_first_line(view.body, 60),
    )
    categories = [Category.silent, Category.acknowledged] if view.asks_ack else []
    categories += [Category.delivered] if not view.asks_ack else []
    categories += [Category.unreachable, Category.failed, Category.waiting]
    buttons = [
        (ctx.t(f"notices.category_{c.value}"), _cb("ls", view.id, c.value)) for c in categories
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(ctx.t("notices.export_button"), _cb("xl", view.id))])
    if (
        view.asks_ack
        and (stats.silent or stats.failed)
        and view.status is not NoticeStatus.cancelled
    ):
        rows.append([(ctx.t("notices.remind_button"), _cb("rm", view.id))])
    if stats.failed and view.status in (NoticeStatus.sending, NoticeStatus.done):
        rows.append([(ctx.t("notices.resend_failed_button", n=stats.failed), _cb("rf", view.id))])
    if view.status in notices.OPEN:
        rows.append([(ctx.t("notices.cancel_button"), _cb("cancel", view.id))])
    rows.append([(ctx.t("notices.refresh_button"), _cb("sr", view.id))])
    query = update.callback_query
    if edit and query is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(
                text, reply_markup=inline(rows), parse_mode=ParseMode.HTML
            )
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
    await send_text(update, ctx, text, markup=inline(rows))


async def _list(update: Update, ctx: BotContext, notice_id: int, category: Category) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction() as session:
        view = await notices.get(session, ctx.viewer, notice_id)
        if isinstance(view, Problem):
            await _problem(update, ctx, view)
            return
        lines = await notices.recipients(session, notice_id, category)
    await update.callback_query.answer()
    label = ctx.t(f"notices.category_{category.value}")
    if not lines:
        await say(update, ctx, "notices.list_none", id=notice_id, category=label)
        return
    out = [ctx.t("notices.list_title", id=notice_id, category=label, count=len(lines))]
    for line in lines[:LIST_LINES]:
        extra = f"（{escape(line.sector)}）" if line.sector else ""
        if line.ack_option is not None and view.asks_ack:
            extra += " · " + escape(_answer(ctx, view, line.ack_option))
        if category in (Category.failed, Category.unreachable) and line.error:
            extra += f" · {escape(line.error[:60])}"
        out.append(f"· {escape(line.name)}{extra}")
    if len(lines) > LIST_LINES:
        out.append(ctx.t("notices.list_more", n=len(lines) - LIST_LINES))
    for text in split_html_lines(out):  # long names and errors can outgrow one message
        await send_text(update, ctx, text)


def _answer(ctx: BotContext, view: NoticeView, option: int) -> str:
    if view.ack_mode is AckMode.options and 0 <= option < len(view.ack_options):
        return view.ack_options[option]
    return ctx.t("notices.received_answer")


async def _export(update: Update, ctx: BotContext, notice_id: int) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction() as session:
        view = await notices.get(session, ctx.viewer, notice_id)
        if isinstance(view, Problem):
            await _problem(update, ctx, view)
            return
        lines = await notices.recipients(session, notice_id)
        await audit.record(
            session, ctx.viewer.actor, "notice.export", object_type="notice", object_id=notice_id
        )
    await update.callback_query.answer()
    data = await asyncio.to_thread(
        notice_export.build_xlsx, ctx.texts, ctx.locale, ctx.settings.tz, view, lines
    )
    chat = update.effective_chat
    assert chat is not None
    await ctx.bot.send_document(
        chat.id,
        InputFile(data, filename=f"notice-{notice_id}.xlsx"),
        caption=ctx.t("notices.export_caption", id=notice_id),
    )


async def _remind(update: Update, ctx: BotContext, notice_id: int) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction(bulk=True) as session:
        result = await notices.remind(
            session, ctx.viewer, notice_id, now=ctx.now(), ack_data=ack_data
        )
    if isinstance(result, Problem):
        await _problem(update, ctx, result)
        return
    ctx.runtime.outbox_signal()
    await update.callback_query.answer()
    await say(update, ctx, "notices.reminded", n=result)


async def _resend_failed(update: Update, ctx: BotContext, notice_id: int) -> None:
    assert ctx.viewer is not None and update.callback_query is not None
    async with ctx.db.transaction() as session:
        result = await notices.resend_failed(session, ctx.viewer, notice_id, now=ctx.now())
    if isinstance(result, Problem):
        await _problem(update, ctx, result)
        return
    ctx.runtime.outbox_signal()
    await update.callback_query.answer()
    await say(update, ctx, "notices.resent_failed", id=notice_id, n=result)


# -- members: acknowledgement and "my notices" ---------------------------------------------


def _acked_markup(ctx: BotContext, view: NoticeView, option: int, at: datetime | None) -> Any:
    label = ctx.t("notices.acked_label", answer=_answer(ctx, view, option), at=_local(ctx, at))
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=_cb("acked", view.id))]]
    )


async def _acknowledge(update: Update, ctx: BotContext, notice_id: int, option: int) -> None:
    """A member presses "received" (or an option): recorded once, the button shows it."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None
    viewer = ctx.viewer
    # Only in the member's own private chat, where the notice was delivered to them.
    if viewer is None or chat is None or chat.id != viewer.chat_id:
        await _stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result = await notices.acknowledge(session, notice_id, viewer.id, option, now=ctx.now())
    if result.outcome is notices.AckOutcome.not_recipient or result.notice is None:
        await _stale(update, ctx)
        return
    answer = _answer(ctx, result.notice, result.option or 0)
    if result.outcome is notices.AckOutcome.recorded:
        await query.answer(ctx.t("notices.ack_recorded"))
    else:
        await query.answer(ctx.plain("notices.ack_already", answer=answer))
    try:
        await query.edit_message_reply_markup(
            _acked_markup(ctx, result.notice, result.option or 0, result.at)
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.debug("acknowledged button could not be updated: %s", exc)


async def _already(update: Update, ctx: BotContext, notice_id: int) -> None:
    """The "acknowledged" label was pressed: say what is on record, change nothing."""
    query = update.callback_query
    assert query is not None
    viewer = ctx.viewer
    if viewer is None:
        await _stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result = await notices.answer(session, notice_id, viewer.id)
    if result.notice is None or result.option is None:
        await _stale(update, ctx)
        return
    await query.answer(
        ctx.t("notices.ack_already", answer=_answer(ctx, result.notice, result.option))
    )


@member_only
async def my_notices(update: Update, ctx: BotContext) -> None:
    """📬: the notices this member received, newest first."""
    assert ctx.viewer is not None
    async with ctx.db.transaction() as session:
        items = await notices.received_by(session, ctx.viewer.id)
    if not items:
        await say(update, ctx, "notices.my_empty")
        return
    rows = []
    for item in items:
        mark = ""
        if item.notice.asks_ack:
            mark = ctx.t("notices.my_acked" if item.acked_at else "notices.my_needs_ack") + " "
        label = ctx.plain(
            "notices.my_line",
            when=_local(ctx, item.sent_at)[5:10],
            first=_first_line(item.notice.body) or "📎",
        )
        rows.append([(mark + label, _cb("my", item.notice.id))])
    await say(update, ctx, "notices.my_title", markup=inline(rows))


async def _show_mine(update: Update, ctx: BotContext, notice_id: int) -> None:
    query = update.callback_query
    assert query is not None
    viewer = ctx.viewer
    if viewer is None:
        await _stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        item = await notices.received_one(session, viewer.id, notice_id)
    if item is None:
        await _stale(update, ctx)
        return
    await query.answer()
    view = item.notice
    text = ctx.t("notices.my_notice", when=_local(ctx, item.sent_at), body=Markup(view.body))
    markup: Any = None
    if view.asks_ack:
        if item.ack_option is not None:
            markup = _acked_markup(ctx, view, item.ack_option, item.acked_at)
        else:
            markup = _member_markup(ctx, view, ack_data)
    await _send_notice_copy(update, ctx, view, text, markup)


# -- routing ----------------------------------------------------------------------------------


async def on_button(update: Update, ctx: BotContext) -> None:
    """Every ntc:* button; staff actions are re-checked here and in storage."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.parse(query.data)
    if cb is None:
        await _stale(update, ctx)
        return
    action = cb.action
    if action in ("ack", "acked", "my"):
        await _member_button(update, ctx, cb)
        return
    if action == "pv":
        await query.answer(ctx.t("notices.preview_only"))
        return
    if ctx.viewer is None or not ctx.viewer.is_staff:
        await query.answer(ctx.t("notices.error_forbidden"), show_alert=True)
        return
    if action == "new":
        await _start_over(update, ctx)
        return
    notice_id = cb.int_arg(0)
    if notice_id is None:
        await _stale(update, ctx)
        return
    try:
        await _staff_button(update, ctx, cb, notice_id)
    except ValueError:  # an enum value that does not exist: a forged button
        await _stale(update, ctx)


async def _staff_button(
    update: Update, ctx: BotContext, cb: callbacks.Callback, notice_id: int
) -> None:
    action = cb.action
    if action == "resume":
        await _resume(update, ctx, notice_id)
    elif action == "aud":
        await _choose_audience(update, ctx, notice_id, AudienceKind(cb.arg(1) or ""))
    elif action == "tog":
        ref = cb.int_arg(2)
        kind = AudienceKind(cb.arg(1) or "")
        if ref is None or kind not in NAMED_KINDS:
            await _stale(update, ctx)
            return
        await _toggle(update, ctx, notice_id, kind, ref)
    elif action == "audok":
        await _audience_done(update, ctx, notice_id)
    elif action == "act":
        activity_id = cb.int_arg(1)
        if activity_id is None:
            await _stale(update, ctx)
            return
        await _pick_activity(update, ctx, notice_id, activity_id)
    elif action == "ackm":
        await _choose_ack(update, ctx, notice_id, AckMode(cb.arg(1) or ""))
    elif action == "now":
        await _send_now(update, ctx, notice_id)
    elif action == "later":
        await _ask_time(update, ctx, notice_id)
    elif action == "chg":
        await _change_audience(update, ctx, notice_id)
    elif action == "discard":
        await _discard(update, ctx, notice_id)
    elif action == "cancel":
        await _cancel(update, ctx, notice_id)
    elif action in ("st", "sr"):  # open the card; refresh it in place
        await _stats(update, ctx, notice_id, edit=action == "sr")
    elif action == "ls":
        await _list(update, ctx, notice_id, Category(cb.arg(1) or ""))
    elif action == "xl":
        await _export(update, ctx, notice_id)
    elif action == "rm":
        await _remind(update, ctx, notice_id)
    elif action == "rf":
        await _resend_failed(update, ctx, notice_id)
    else:
        await _stale(update, ctx)


async def _member_button(update: Update, ctx: BotContext, cb: callbacks.Callback) -> None:
    notice_id = cb.int_arg(0)
    if notice_id is None:
        await _stale(update, ctx)
        return
    if cb.action == "ack":
        option = cb.arg(1)
        if option is None or not option.isdigit():
            await _stale(update, ctx)
            return
        await _acknowledge(update, ctx, notice_id, int(option))
    elif cb.action == "acked":
        await _already(update, ctx, notice_id)
    else:
        await _show_mine(update, ctx, notice_id)


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("notice", compose))
    app.add_handler(CommandHandler("notices", recent))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(FEATURE)))
    wiring.add_flow(FLOW, flow)
    wiring.add_menu("notices.menu_button", compose, staff=True, order=500)
    wiring.add_menu("notices.staff_menu_button", recent, staff=True, order=510)
    wiring.add_menu("notices.my_button", my_notices, order=300)
