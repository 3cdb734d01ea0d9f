"""Role checks for handlers, done on the server for every update (buttons can be forged)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot.context import BotContext
from handlers.replies import say

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]


async def _refuse(update: Update, ctx: BotContext, key: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(ctx.t(key), show_alert=True)
    else:
        await say(update, ctx, key)


def member_only(handler: Handler) -> Handler:
    """Only bound members (and staff) get through; strangers are pointed to /start."""

    @functools.wraps(handler)
    async def wrapper(update: Update, ctx: BotContext) -> Any:
        if ctx.viewer is None:
            await _refuse(update, ctx, "common.not_bound")
            return None
        return await handler(update, ctx)

    return wrapper


def staff_only(handler: Handler) -> Handler:
    """Staff and admins only; members get a polite refusal."""

    @functools.wraps(handler)
    async def wrapper(update: Update, ctx: BotContext) -> Any:
        if ctx.viewer is None:
            await _refuse(update, ctx, "common.not_bound")
            return None
        if not ctx.viewer.is_staff:
            await _refuse(update, ctx, "common.staff_only")
            return None
        return await handler(update, ctx)

    return wrapper


def admin_only(handler: Handler) -> Handler:
    """Admins only."""

    @functools.wraps(handler)
    async def wrapper(update: Update, ctx: BotContext) -> Any:
        if ctx.viewer is None:
            await _refuse(update, ctx, "common.not_bound")
            return None
        if not ctx.viewer.is_admin:
            await _refuse(update, ctx, "common.admin_only")
            return None
        return await handler(update, ctx)

    return wrapper
