"""Role checks for handlers, done on the server for every update (buttons can be forged)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Chat, Update

from bot.context import BotContext
from handlers.replies import answer_callback, say
from storage.members import MemberRef

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]


async def _refuse(update: Update, ctx: BotContext, key: str) -> None:
    if update.callback_query is not None:
        await answer_callback(update, ctx, key, alert=True)
    else:
        await say(update, ctx, key)


def _guard(allowed: Callable[[MemberRef], bool], refusal: str) -> Callable[[Handler], Handler]:
    """A decorator letting through bound viewers for whom allowed() holds; others are refused
    politely (strangers are pointed to /start)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(update: Update, ctx: BotContext) -> Any:
            if ctx.viewer is None:
                await _refuse(update, ctx, "common.not_bound")
                return None
            if not allowed(ctx.viewer):
                await _refuse(update, ctx, refusal)
                return None
            return await handler(update, ctx)

        return wrapper

    return decorate


async def outside_private_chat(update: Update, ctx: BotContext) -> bool:
    """True for an update from a group, supergroup or channel: nothing there is handled.

    Cards, binding links and staff tools show member data; a group is not the place for them
    (a /invite once posted a working binding link into a supergroup). A command or a menu
    button there gets one short "write to me privately", a button press the same as a pop-up;
    ordinary group chatter, edits and membership changes get no answer at all."""
    chat = update.effective_chat
    if chat is None or chat.type == Chat.PRIVATE:
        return False
    if update.callback_query is not None:
        await answer_callback(update, ctx, "common.private_only", alert=True)
        return True
    message = update.message
    if message is not None and chat.type != Chat.CHANNEL and _asks_the_bot(message.text, ctx):
        await say(update, ctx, "common.private_only")
    return True


def _asks_the_bot(text: str | None, ctx: BotContext) -> bool:
    """A command meant for this bot (``/x`` or ``/x@thisbot``, not ``/x@otherbot``), or the text
    of one of our menu buttons."""
    if not text:
        return False
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        _, _, addressee = command.partition("@")
        return not addressee or addressee.lower() == (ctx.bot.username or "").lower()
    return any(entry.matches(ctx.texts, text) for entry in ctx.wiring.menu)


member_only = _guard(lambda viewer: True, "common.not_bound")
staff_only = _guard(lambda viewer: viewer.is_staff, "common.staff_only")
admin_only = _guard(lambda viewer: viewer.is_admin, "common.admin_only")
