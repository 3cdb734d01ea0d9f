"""Role checks for handlers, done on the server for every update (buttons can be forged)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot.context import BotContext
from handlers.replies import say
from storage.members import MemberRef

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]


async def _refuse(update: Update, ctx: BotContext, key: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(ctx.t(key), show_alert=True)
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


member_only = _guard(lambda viewer: True, "common.not_bound")
staff_only = _guard(lambda viewer: viewer.is_staff, "common.staff_only")
admin_only = _guard(lambda viewer: viewer.is_admin, "common.admin_only")
