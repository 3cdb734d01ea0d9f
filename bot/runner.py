"""Running the Application: long polling, webhook (aiohttp), and in-process for tests/console."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from typing import Any

from aiohttp import web
from telegram import Update

from bot.app import ALLOWED_UPDATES, BotApplication, start_runtime, stop_runtime, stop_services
from bot.settings import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram"
APP_KEY: web.AppKey[BotApplication] = web.AppKey("bot_application", object)  # type: ignore[arg-type]


class PollingRunner:
    """Start and stop the bot inside an already running event loop (tests, console)."""

    def __init__(self, app: BotApplication, *, poll_timeout: int = 1) -> None:
        self.app = app
        self.poll_timeout = poll_timeout

    async def start(self) -> None:
        await self.app.initialize()
        await start_runtime(self.app)
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(
            poll_interval=0, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
        )

    async def stop(self) -> None:
        """Stop fetching, let handlers in progress finish, then close everything."""
        assert self.app.updater is not None
        if self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await stop_services(self.app)
        await self.app.shutdown()
        await stop_runtime(self.app)


def run_polling(app: BotApplication) -> None:
    """Long polling until SIGINT/SIGTERM; PTB waits for running handlers before stopping."""
    app.run_polling(allowed_updates=ALLOWED_UPDATES, close_loop=False)


def build_web_app(
    app: BotApplication, secret: str, *, read_timeout: float = 10.0
) -> web.Application:
    """The aiohttp app: Telegram's webhook (secret-token checked) and a health check."""
    web_app = web.Application()
    web_app[APP_KEY] = app

    async def telegram_webhook(request: web.Request) -> web.Response:
        # Compared in constant time, so the answer's timing does not reveal the secret.
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret.encode()):
            return web.Response(status=403, text="forbidden")
        try:
            async with asyncio.timeout(read_timeout):
                body = await request.read()
        except TimeoutError:
            too_slow = web.Response(status=408, text="request body too slow")
            too_slow.force_close()  # the rest of that body is not waited for
            return too_slow
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return web.Response(status=400, text="not a JSON object")
        # Kept (or quarantined) before Telegram hears "ok"; a poisoned update is answered
        # 200 as well, or Telegram would retry it and hold back every update behind it.
        admitted = await app.bot_data.inbox.admit([payload])
        if admitted.readable:
            await app.update_queue.put(Update.de_json(payload, app.bot))
        return web.Response(text="ok")

    async def healthz(request: web.Request) -> web.Response:
        # 503 only for the database: without it nothing works. Telegram being unreachable is
        # reported (the outbox keeps messages until it answers) but the process is healthy.
        if not await app.bot_data.db.ping():
            return web.json_response({"status": "database unreachable"}, status=503)
        since = app.bot_data.telegram_unreachable_since
        if since is None:
            return web.json_response({"status": "ok"})
        at = since.isoformat(timespec="seconds")
        return web.json_response({"status": f"degraded: Telegram unreachable since {at}"})

    web_app.router.add_post(WEBHOOK_PATH, telegram_webhook)
    web_app.router.add_get("/healthz", healthz)
    if app.bot_data.wecom is not None:
        app.bot_data.wecom.routes(web_app)  # WeCom's callback beside Telegram's webhook
    return web_app


class WebhookRunner:
    """Serve the webhook on aiohttp in the running loop; register it with Telegram."""

    def __init__(self, app: BotApplication, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._site_runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, *, register: bool = True) -> None:
        secret = self.settings.webhook_secret.get_secret_value()
        if self.app.bot_data.wecom is not None:
            self.app.bot_data.wecom.own_site = False  # served by this server instead
        await self.app.initialize()
        await start_runtime(self.app)
        await self.app.start()
        read_timeout = self.settings.webhook_read_timeout
        self._site_runner = web.AppRunner(
            build_web_app(self.app, secret, read_timeout=read_timeout),
            access_log=None,
            # aiohttp closes a connection that has not sent a whole request line and headers
            # within its keep-alive timeout (its timer starts when the connection opens).
            keepalive_timeout=read_timeout,
            # After an early answer (a 408), the unread rest of a body is drained this long at
            # most before the connection closes (aiohttp's default is 10 s).
            lingering_time=min(read_timeout, 2.0),
        )
        await self._site_runner.setup()
        site = web.TCPSite(
            self._site_runner, self.settings.webhook_listen, self.settings.webhook_port
        )
        await site.start()
        # The port really bound (WEBHOOK_PORT=0 picks a free one, as the tests do).
        addresses = self._site_runner.addresses
        self.port = addresses[0][1] if addresses else self.settings.webhook_port
        if register:
            await self.app.bot.set_webhook(
                self.settings.webhook_url.rstrip("/") + WEBHOOK_PATH,
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        log.info("webhook served on port %s", self.port)

    async def stop(self) -> None:
        if self._site_runner is not None:
            await self._site_runner.cleanup()  # stop accepting updates first
        if self.app.running:
            await self.app.stop()
        await stop_services(self.app)
        await self.app.shutdown()
        await stop_runtime(self.app)
        # PTB closes the bot's HTTP sessions only for an Application that finished
        # initialising; after a failed getMe they are still open (a no-op otherwise).
        await self.app.bot.shutdown()


async def serve_webhook_forever(app: BotApplication, settings: Settings) -> None:
    runner = WebhookRunner(app, settings)
    try:
        await runner.start()
    except BaseException:
        # A start that failed half-way (port taken, webhook refused, Telegram unreachable)
        # still closes what it opened, so the command line can say why in one line.
        await runner.stop()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Windows' event loop has no signal handlers; there Ctrl+C still ends the process.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.stop()
