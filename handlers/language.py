"""Choosing the language of the bot; the choice is stored on the member."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from handlers import callbacks
from handlers.guards import member_only
from handlers.replies import inline, say
from handlers.wiring import Wiring
from storage import members

FEATURE = "lang"


@member_only
async def choose(update: Update, ctx: BotContext) -> None:
    """Offer every language, each named in itself."""
    rows = [
        [(ctx.texts.get(code, "language.self_name"), callbacks.make(FEATURE, "set", code))]
        for code in ctx.texts.locales
    ]
    await say(update, ctx, "language.choose", markup=inline(rows))


@member_only
async def set_language(update: Update, ctx: BotContext) -> None:
    query = update.callback_query
    assert query is not None and ctx.viewer is not None
    cb = callbacks.parse(query.data)
    code = cb.arg() if cb else None
    if code not in ctx.texts.locales:
        await query.answer(ctx.t("common.stale_button"), show_alert=True)
        return
    async with ctx.db.transaction() as session:
        await members.set_locale(session, ctx.viewer.id, code)
    ctx.locale = code
    await query.answer()
    await say(update, ctx, "language.changed", markup=ctx.wiring.keyboard(ctx))


def register(app: Application, wiring: Wiring) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("language", choose))
    app.add_handler(CallbackQueryHandler(set_language, pattern=callbacks.pattern(FEATURE)))
    wiring.add_menu("language.menu_button", choose, order=900)
