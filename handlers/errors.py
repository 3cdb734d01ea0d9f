"""One error handler: log with context (never personal data), then answer politely."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot.context import BotContext

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
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        # Telegram unreachable, a 5xx, a timeout: what failed may well have arrived (a late
        # answer, a dropped connection), and an apology would go down the same failing road.
        # bot/ratelimit.py already retried; "something went wrong" here is usually false.
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
