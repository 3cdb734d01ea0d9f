"""Acknowledgements: a member's "received" (or option) button and the label it turns into,
📬 the notices a member received (each opened again, with its buttons while unanswered), and
the staff lists of recipients by category (silent, acknowledged, failed...)."""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.i18n import Markup, escape
from bot.telegram_text import split_html_lines
from handlers.callbacks import Callback
from handlers.notices.common import (
    ack_data,
    answer_label,
    cb,
    enum_arg,
    explain,
    first_line,
    local,
    member_markup,
    send_notice_copy,
    stale,
)
from handlers.replies import answer_callback, inline, say, send_text
from storage import notices
from storage.notices import Category, NoticeView, Problem

log = logging.getLogger(__name__)

LIST_LINES = 40  # names shown in a chat list; the xlsx has everyone


# -- members ----------------------------------------------------------------------------------


def _acked_markup(
    ctx: BotContext, view: NoticeView, option: int, at: datetime | None
) -> InlineKeyboardMarkup:
    label = ctx.t("notices.acked_label", answer=answer_label(ctx, view, option), at=local(ctx, at))
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=cb("acknowledged", view.id))]]
    )


async def acknowledge(update: Update, ctx: BotContext, data: Callback) -> None:
    """A member presses "received" (or an option): recorded once, the button shows it."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None
    notice_id, option = data.int_arg(0), data.arg(1)
    if notice_id is None or option is None or not option.isdigit():
        await stale(update, ctx)
        return
    member = ctx.member
    # Only in the member's own private chat, where the notice was delivered to them.
    account = member.account
    if chat is None or account is None or account.address != str(chat.id):
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result = await notices.acknowledge(
            session, notice_id, member.id, int(option), now=ctx.now()
        )
    if result.outcome is notices.AckOutcome.not_recipient or result.notice is None:
        await stale(update, ctx)
        return
    answer = answer_label(ctx, result.notice, result.option or 0)
    if result.outcome is notices.AckOutcome.recorded:
        await answer_callback(update, ctx, "notices.ack_recorded")
    else:
        await answer_callback(update, ctx, "notices.ack_already", answer=answer)
    try:
        await query.edit_message_reply_markup(
            _acked_markup(ctx, result.notice, result.option or 0, result.at)
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.debug("acknowledged button could not be updated: %s", exc)


async def acknowledged(update: Update, ctx: BotContext, data: Callback) -> None:
    """The "acknowledged" label was pressed: say what is on record, change nothing."""
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        result = await notices.answer(session, notice_id, ctx.member.id)
    if result.notice is None or result.option is None:
        await stale(update, ctx)
        return
    answer = answer_label(ctx, result.notice, result.option)
    await answer_callback(update, ctx, "notices.ack_already", answer=answer)


async def my_notices(update: Update, ctx: BotContext) -> None:
    """📬: the notices this member received, newest first."""
    async with ctx.db.transaction() as session:
        items = await notices.received_by(session, ctx.member.id)
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
            when=local(ctx, item.sent_at)[5:10],
            first=first_line(item.notice.body) or "📎",
        )
        rows.append([(mark + label, cb("mine", item.notice.id))])
    await say(update, ctx, "notices.my_title", markup=inline(rows))


async def show_mine(update: Update, ctx: BotContext, data: Callback) -> None:
    """One of 📬: the notice again, with its buttons while unanswered."""
    notice_id = data.int_arg(0)
    if notice_id is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        item = await notices.received_one(session, ctx.member.id, notice_id)
    if item is None:
        await stale(update, ctx)
        return
    view = item.notice
    text = ctx.t("notices.my_notice", when=local(ctx, item.sent_at), body=Markup(view.body))
    markup: InlineKeyboardMarkup | None = None
    if view.asks_ack:
        if item.ack_option is not None:
            markup = _acked_markup(ctx, view, item.ack_option, item.acked_at)
        else:
            markup = member_markup(ctx, view, ack_data)
    await send_notice_copy(update, ctx, view, text, markup)


# -- staff: who is in which category ------------------------------------------------------------


async def recipients(update: Update, ctx: BotContext, data: Callback) -> None:
    """A category on the statistics card: the names in it (the first LIST_LINES)."""
    notice_id, category = data.int_arg(0), enum_arg(data, 1, Category)
    if notice_id is None or category is None:
        await stale(update, ctx)
        return
    async with ctx.db.transaction() as session:
        view = await notices.get(session, ctx.member, notice_id)
        if isinstance(view, Problem):
            await explain(update, ctx, view)
            return
        lines = await notices.recipients(session, notice_id, category)
    label = ctx.t(f"notices.category_{category.value}")
    if not lines:
        await say(update, ctx, "notices.list_none", id=notice_id, category=label)
        return
    out = [ctx.t("notices.list_title", id=notice_id, category=label, count=len(lines))]
    for line in lines[:LIST_LINES]:
        extra = f"（{escape(line.sector)}）" if line.sector else ""
        if line.ack_option is not None and view.asks_ack:
            extra += " · " + escape(answer_label(ctx, view, line.ack_option))
        if category in (Category.failed, Category.unreachable) and line.error:
            extra += f" · {escape(line.error[:60])}"
        out.append(f"· {escape(line.name)}{extra}")
    if len(lines) > LIST_LINES:
        out.append(ctx.t("notices.list_more", n=len(lines) - LIST_LINES))
    for text in split_html_lines(out):  # long names and errors can outgrow one message
        await send_text(update, ctx, text)
