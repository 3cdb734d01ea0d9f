"""Sending answers in the viewer's language: the one place handlers turn keys into messages."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import BotContext

Markup = Any  # InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


async def say(
    update: Update, ctx: BotContext, key: str, /, *, markup: Markup = None, **params: Any
) -> Message | None:
    """Send the text for key to the chat the update came from."""
    return await send_text(update, ctx, ctx.t(key, **params), markup=markup)


async def send_text(
    update: Update, ctx: BotContext, text: str, *, markup: Markup = None
) -> Message | None:
    chat = update.effective_chat
    if chat is None:
        return None
    return await ctx.bot.send_message(chat.id, text, reply_markup=markup)


async def answer_callback(
    update: Update,
    ctx: BotContext,
    key: str | None = None,
    /,
    *,
    alert: bool = False,
    **params: Any,
) -> None:
    """Answer the button press with a short toast (or, with alert, a pop-up the member must
    close); plain text, as Telegram shows pop-ups without parsing HTML. The router answers
    presses a handler leaves unanswered, so call this only to say something."""
    query = update.callback_query
    if query is None or ctx.callback_answered:
        return
    ctx.callback_answered = True
    await query.answer(ctx.plain(key, **params) if key else None, show_alert=alert)


async def edit_or_send(
    update: Update, ctx: BotContext, text: str, *, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the message a button sits on (pages, cards), or send a new one."""
    query = update.callback_query
    message = query.message if query is not None else None
    if isinstance(message, Message) and message.text is not None:
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            # "not modified": the card already shows this; other failures: send it afresh.
            if "not modified" in str(exc).lower():
                return
    await send_text(update, ctx, text, markup=markup)


def inline(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )
