"""One place builds everything: the Application, its runtime, the services around it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import openpyxl
from telegram import BotCommand, BotCommandScopeAllPrivateChats, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

import handlers
from bot import delivery, scheduler
from bot.channels import telegram_defaults
from bot.context import BotContext
from bot.http import AiohttpRequest
from bot.i18n import Texts
from bot.inbox import Inbox, InboxRequest
from bot.ratelimit import RetryingRateLimiter
from bot.runtime import Runtime
from bot.settings import Settings
from bot.updates import PerChatUpdateProcessor
from bot.wecom.callback import WeComChannel
from handlers import reminders
from handlers.channel import wecom as wecom_turns
from handlers.notices import messages as notice_messages
from handlers.notices import progress as notice_progress
from storage.db import Database
from storage.migrate import upgrade
from storage.updates import ClaimQueue

log = logging.getLogger(__name__)

BotApplication = Application[Any, BotContext, Any, Any, Runtime, Any]

COMMANDS = ("start", "menu", "cancel", "language", "help")


class Service(Protocol):
    """Something that runs beside the handlers (delivery worker, scheduler)."""

    async def start(self, app: BotApplication) -> None: ...

    async def stop(self) -> None: ...


ServiceFactory = Callable[[Runtime], Service]
# Features add factories here (delivery worker, scheduler); started after the database is ready.
# This is the one place in bot/ that knows the handlers: the services get from here what they
# need of them (what the scheduler's reminders say, composed by the handlers).
REMINDER_TEXTS = scheduler.ReminderTexts(reminders.compose, notice_messages.reminder)
# A notice as members get it (with the acknowledgement buttons the bot handles), for whatever
# queues notices outside the handlers (the demo office of `cppcc-bot demo-data`).
NOTICE_MESSAGE = notice_messages.message
SERVICE_FACTORIES: list[ServiceFactory] = [
    delivery.create,
    functools.partial(scheduler.create, texts=REMINDER_TEXTS),
    notice_progress.create,
]


def build_application(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Callable[[], datetime] | None = None,
    migrate: bool = True,
) -> BotApplication:
    """The Application with every handler registered; nothing is opened until start_runtime."""
    texts = Texts(settings.default_locale)
    context_types = ContextTypes(context=BotContext, bot_data=Runtime)
    processor = PerChatUpdateProcessor(settings.concurrent_updates)
    updates_request = InboxRequest()
    limiter = RetryingRateLimiter(overall_max_rate=0, max_retries=2)
    app: BotApplication = (
        ApplicationBuilder()
        .token(settings.token())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .context_types(context_types)
        .defaults(telegram_defaults())
        .concurrent_updates(processor)
        .get_updates_request(updates_request)
        # Replies to the member who wrote are not throttled to the bulk cap (that would queue
        # every answer behind 30/s); only group chats are paced here, a 429 is retried, and
        # Telegram's transient 5xx errors are retried with backoff (bot/ratelimit.py).
        # Bulk sending is paced by the delivery worker against the overall cap.
        .rate_limiter(limiter)
        .request(AiohttpRequest(connection_pool_size=64, pool_timeout=10))
        .post_init(start_runtime)
        .post_stop(stop_services)
        .post_shutdown(stop_runtime)
        .build()
    )
    runtime = app.bot_data
    limiter.runtime = runtime  # a reply Telegram would not take is kept in the outbox
    runtime.settings = settings
    runtime.texts = texts
    runtime.db = db  # type: ignore[assignment]  # opened in start_runtime when None
    runtime.migrate = migrate
    runtime.inbox = updates_request.inbox = Inbox(runtime)
    processor.on_done = runtime.inbox.handled
    if clock is not None:
        runtime.clock = clock
    runtime.wiring = handlers.register_all(app, texts)
    if settings.wecom_enabled:
        # WeCom's messages reach the same wiring through the seam (handlers/channel/wecom.py).
        runtime.wecom = WeComChannel(runtime, wecom_turns.handle)
    return app


async def start_runtime(app: BotApplication) -> None:
    """Open the database (upgrading the schema), learn the bot's name, start the services."""
    runtime = app.bot_data
    if runtime.db is None:
        runtime.db = Database(runtime.settings.database_url)
    runtime.claims = ClaimQueue(runtime.db)
    if runtime.migrate:
        await upgrade(runtime.db.engine)
    me = await app.bot.get_me()
    runtime.bot_username = me.username or ""
    await _set_commands(app)
    # The inbox first (replaying what a crash left), so it is stopped last.
    await runtime.inbox.start(app)
    runtime.services.append(runtime.inbox)
    if runtime.wecom is not None:
        await runtime.wecom.start(app)
        runtime.services.append(runtime.wecom)
    for factory in SERVICE_FACTORIES:
        service = factory(runtime)
        runtime.services.append(service)
        await service.start(app)
    if not openpyxl.DEFUSEDXML:
        # Installed as a dependency; only OPENPYXL_DEFUSEDXML=False in the environment turns it off.
        log.warning("openpyxl reads uploaded spreadsheets without defusedxml (XML bombs possible)")
    log.info("bot @%s ready on %s", runtime.bot_username, runtime.db.dialect)


async def stop_services(app: BotApplication) -> None:
    """After the last update was handled: stop the services, newest first."""
    runtime = app.bot_data
    while runtime.services:
        service = runtime.services.pop()
        await service.stop()


async def stop_runtime(app: BotApplication) -> None:
    await stop_services(app)
    if app.bot_data.db is not None:
        await app.bot_data.db.dispose()


async def _set_commands(app: BotApplication) -> None:
    texts = app.bot_data.texts
    for locale in texts.locales:
        commands = [BotCommand(name, texts.get(locale, f"commands.{name}")) for name in COMMANDS]
        language = None if locale == texts.default_locale else locale.split("-")[0]
        await app.bot.set_my_commands(
            commands, scope=BotCommandScopeAllPrivateChats(), language_code=language
        )


ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.EDITED_MESSAGE]
