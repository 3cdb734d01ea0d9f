"""The framework's floor: a bare python-telegram-bot echo bot, configured like ours.

Run by benchmarks/inbound.py in its own process, against the same emulator. With
FLOOR_AS_OURS=1 it uses the bot's own HTTP client (bot/http.py) and event loop (uvloop), so the
figures can tell the framework's cost from those two choices.
"""

from __future__ import annotations

import asyncio
import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None and update.effective_message.text:
        await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    builder = (
        ApplicationBuilder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .concurrent_updates(int(os.environ.get("CONCURRENT_UPDATES", "32")))
    )
    if os.environ.get("FLOOR_AS_OURS") == "1":
        import uvloop

        from bot.http import AiohttpRequest

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        builder = builder.request(AiohttpRequest(connection_pool_size=64, pool_timeout=10))
        builder = builder.get_updates_request(AiohttpRequest())
    else:
        builder = builder.connection_pool_size(64)
    app = builder.build()
    app.add_handler(MessageHandler(filters.ALL, echo))
    app.run_polling(allowed_updates=[Update.MESSAGE])


if __name__ == "__main__":
    main()
