"""Binding by a shared Telegram contact: Telegram's one-tap way for an account to prove its
phone number. Only this step reads Telegram: whether the contact is the sender's own
(`contact.user_id`, which only Telegram knows); the roster look-up and the answers are the
channel-neutral `bind_by_phone`. Other channels vouch for a number their own way (WeCom, say,
knows each member's mobile) and call the same function.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from handlers.channel.telegram import TelegramTurn
from handlers.channel.views import View
from handlers.start.commands import bind_by_phone


async def contact(update: Update, ctx: BotContext) -> None:
    """A shared contact: only the sender's own number binds."""
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or message.contact is None or user is None or chat is None:
        return
    turn = TelegramTurn(update, ctx)
    if message.contact.user_id != user.id:
        await turn.reply(View.of("start.contact_not_own"))
        return
    await bind_by_phone(turn, message.contact.phone_number)
