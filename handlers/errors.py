"""One error handler: log with context (never personal data), then answer politely."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError

from bot.context import BotContext
from bot.ratelimit import Unconfirmed

log = logging.getLogger(__name__)


def _is_database_outage(error: BaseException | None) -> bool:
    if isinstance(error, OperationalError | ConnectionError | OSError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


async def on_error(update: object, ctx: BotContext) -> None:
    error = ctx.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.info("update %s: user unreachable: %s", update_id, error)
        return
    if isinstance(error, NetworkError | TelegramError) and not isinstance(update, Update):
        log.warning("Telegram error outside an update: %s", error)
        return
    if isinstance(error, Unconfirmed):
        # A reply that may well have arrived (a 5xx, a dropped connection, a late answer), or
        # one kept in the outbox to go later (bot/ratelimit.py): "something went wrong" would
        # be false, and would go down the same failing road.
        log.warning("update %s: Telegram did not confirm a call: %s", update_id, error)
        return
    log.error("update %s failed", update_id, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    key = "common.try_again_soon" if _is_database_outage(error) else "common.error"
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(ctx.t(key), show_alert=True)
        else:
            await ctx.bot.send_message(update.effective_chat.id, ctx.t(key))
    except TelegramError:
        log.warning("could not tell the user about the error of update %s", update_id)
