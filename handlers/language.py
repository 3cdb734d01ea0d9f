"""Choosing the language of the bot; the choice is stored on the member."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application

from bot.context import BotContext
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.replies import answer_callback, inline, say
from handlers.wiring import Access, Wiring
from storage import members

FEATURE = "lang"


async def choose(update: Update, ctx: BotContext) -> None:
    """Offer every language, each named in itself."""
    rows = [
        [(ctx.texts.get(code, "language.self_name"), callbacks.make(FEATURE, "set", code))]
        for code in ctx.texts.locales
    ]
    await say(update, ctx, "language.choose", markup=inline(rows))


async def set_language(update: Update, ctx: BotContext, cb: Callback) -> None:
    code = cb.arg()
    if code not in ctx.texts.locales:
        await answer_callback(update, ctx, "common.stale_button", alert=True)
        return
    async with ctx.db.transaction() as session:
        await members.set_locale(session, ctx.member.id, code)
    ctx.locale = code
    await say(update, ctx, "language.changed", markup=ctx.wiring.keyboard(ctx))


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    wiring.add_command(app, "language", choose, access=Access.member)
    wiring.add_buttons(FEATURE, {"set": set_language}, access=Access.member)
    wiring.add_menu("language.menu_button", choose, order=900)
