"""WeCom's callback: `/wecom/callback` verifies, decrypts, stores, answers, then hands on.

WeCom waits 5 seconds for an answer and retries (three times) without one, so a POST is
checked, decrypted, stored (storage/channel_inbox.py) and answered with an empty 200 before any
handling; the message is then handled in the background, in order per member. What is refused
with 403 and stored nowhere: a bad signature (wechatpy's `WeChatCrypto` checks it and decrypts),
a timestamp more than 5 minutes from now, a nonce already used within those 5 minutes, a
plaintext for another corp. What is answered 200 and quarantined (as Telegram's unreadable
updates, `cppcc-bot updates quarantine`): a correctly signed message that cannot be decrypted
or parsed. A retry (same MsgId; for events the same sender, time, event and key) has no effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import xmltodict
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.wecom import WECOM
from bot.wecom.client import WeComClient
from bot.wecom.directory import Directory
from storage import channel_inbox, quarantine
from storage.channel_inbox import Kept
from storage.control_chars import without_control_chars

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

CALLBACK_PATH = "/wecom/callback"
# WeCom signs each callback with the time it was sent; older (or later) than this is refused,
# and nonces are remembered this long, so a captured request cannot be replayed.
MAX_AGE_SECONDS = 300
# A WeCom callback is a few KB at most (a text is up to 2,048 bytes, encrypted and base64ed).
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class WeComMessage:
    """One stored callback: who sent it and its XML fields (strings)."""

    id: int
    sender: str
    fields: dict[str, str]

    @property
    def kind(self) -> str:
        """ "text", "image", ...; for events "event:<Event>" (e.g. "event:template_card_event")."""
        kind = self.fields.get("MsgType", "")
        return f"event:{self.fields.get('Event', '')}" if kind == "event" else kind


Handler = Callable[["Runtime", WeComMessage], Awaitable[None]]


def dedupe_key(fields: dict[str, str]) -> str:
    """WeCom's rule: MsgId for messages; sender + CreateTime + event for events (with the
    event's key and card, so two taps in one second on two cards stay two)."""
    msg_id = fields.get("MsgId")
    if msg_id:
        return f"msg:{msg_id}"
    parts = ("FromUserName", "CreateTime", "Event", "EventKey", "TaskId")
    return "event:" + ":".join(fields.get(name, "") for name in parts)


class WeComChannel:
    """The WeCom channel's service: the callback route, the stored messages' handling, the
    API client. Started after the database is ready; in polling mode it serves its route on a
    small aiohttp site of its own (WEBHOOK_LISTEN:WEBHOOK_PORT), in webhook mode the webhook
    server mounts it (`routes`)."""

    def __init__(
        self, runtime: Runtime, handler: Handler, *, wall: Callable[[], float] = time.time
    ) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.handler = handler
        self.wall = wall
        self.corp_id = settings.wecom_corp_id.strip()
        self.crypto = WeChatCrypto(
            settings.wecom_token.get_secret_value(),
            settings.wecom_aes_key.get_secret_value(),
            self.corp_id,
        )
        self.client = WeComClient(
            base_url=settings.wecom_api_base,
            corp_id=self.corp_id,
            secret=settings.wecom_secret.get_secret_value(),
            agent_id=settings.wecom_agent_id,
        )
        self.directory: Directory | None = None  # made in start, once the database is open
        self.own_site = True  # False when the webhook server mounts the route
        self.port: int | None = None
        self.handled = 0
        # Userids offered numbered choices (so "1" is looked up only for them).
        self.choices_pending: set[str] = set()
        self._nonces: dict[str, float] = {}
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(settings.concurrent_updates)
        self._site: web.AppRunner | None = None

    # -- HTTP -----------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        app.router.add_get(CALLBACK_PATH, self.verify_url)
        app.router.add_post(CALLBACK_PATH, self.receive)

    def _fresh(self, timestamp: str, nonce: str) -> bool:
        """The timestamp is within 5 minutes of now and the nonce unused since then."""
        now = self.wall()
        try:
            age = abs(now - int(timestamp))
        except ValueError:
            return False
        if age > MAX_AGE_SECONDS or not nonce or len(nonce) > 64:
            return False
        for old in [n for n, at in self._nonces.items() if at < now - 2 * MAX_AGE_SECONDS]:
            del self._nonces[old]
        return nonce not in self._nonces

    async def verify_url(self, request: web.Request) -> web.Response:
        """The admin console's check of the URL: answer echostr decrypted."""
        q = request.query
        try:
            plain = self.crypto.check_signature(
                q.get("msg_signature", ""),
                q.get("timestamp", ""),
                q.get("nonce", ""),
                q.get("echostr", ""),
            )
        except Exception:  # a bad signature, or an echostr that is no ciphertext of ours
            return web.Response(status=403, text="forbidden")
        return web.Response(text=str(plain))

    async def receive(self, request: web.Request) -> web.Response:
        q = request.query
        signature, timestamp, nonce = (
            q.get(k, "") for k in ("msg_signature", "timestamp", "nonce")
        )
        if not self._fresh(timestamp, nonce):
            return web.Response(status=403, text="forbidden")
        body = await request.content.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return web.Response(status=413, text="too large")
        try:
            plain = self.crypto.decrypt_message(body, signature, timestamp, nonce)
        except (InvalidSignatureException, InvalidCorpIdException):
            return web.Response(status=403, text="forbidden")
        except Exception as exc:
            # Not even the envelope could be read: without its Encrypt the signature cannot
            # have been checked, so this is refused too (nothing stored).
            if not _has_encrypt(body):
                return web.Response(status=403, text="forbidden")
            # Signed by someone holding our token, but no ciphertext we can open: kept aside.
            await self._quarantine("undecryptable", body.decode("utf-8", "replace"), exc)
            self._nonces[nonce] = self.wall()
            return web.Response(text="")
        self._nonces[nonce] = self.wall()
        fields = _fields_of(str(plain))
        if isinstance(fields, Exception) or not fields.get("FromUserName"):
            error = fields if isinstance(fields, Exception) else ValueError("no FromUserName")
            await self._quarantine("unreadable", str(plain), error)
            return web.Response(text="")
        await self.admit(fields)
        return web.Response(text="")  # WeCom: an empty 200 means "received"

    async def admit(self, fields: dict[str, str]) -> None:
        """Store the message (a retry is dropped here) and queue its handling."""
        sender = fields["FromUserName"]
        async with self.runtime.db.transaction() as session:
            kept = await channel_inbox.keep(session, WECOM, dedupe_key(fields), sender, fields)
        if kept is None:
            self.runtime.redeliveries.add()
            return
        self._dispatch(Kept(kept, sender, fields))

    async def _quarantine(self, kind: str, raw: str, error: Exception) -> None:
        try:
            async with self.runtime.db.transaction() as session:
                await quarantine.keep(
                    session,
                    channel=WECOM,
                    update_id=None,
                    kind=kind,
                    raw=without_control_chars(raw),
                    error=f"{type(error).__name__}: {error}",
                )
        except Exception:
            log.warning("could not quarantine a WeCom callback", exc_info=True)
        # By kind only: the text may hold a report's words or a phone number.
        log.warning("a WeCom callback (%s) could not be read and was quarantined", kind)

    # -- handling, in order per member ----------------------------------------------------
    def _dispatch(self, kept: Kept) -> None:
        before = self._tails.get(kept.sender)
        task = asyncio.create_task(self._handle_after(before, kept), name="wecom-message")
        self._tails[kept.sender] = task

        def done(finished: asyncio.Task[None]) -> None:
            if self._tails.get(kept.sender) is finished:
                del self._tails[kept.sender]

        task.add_done_callback(done)

    async def _handle_after(self, before: asyncio.Task[None] | None, kept: Kept) -> None:
        if before is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(before)
        async with self._slots:
            try:
                async with self.runtime.db.transaction() as session:
                    if not await channel_inbox.claim(session, kept.id):
                        return
                fields = {str(k): str(v) for k, v in kept.payload.items()}
                await self.handler(self.runtime, WeComMessage(kept.id, kept.sender, fields))
                self.handled += 1
            except Exception:
                log.exception("handling a WeCom message failed")

    async def idle(self) -> None:
        """Wait until every message received so far was handled (tests, shutdown)."""
        while self._tails:
            await asyncio.gather(*list(self._tails.values()), return_exceptions=True)

    # -- Service --------------------------------------------------------------------------
    async def start(self, app: Any = None) -> None:
        self.directory = Directory(self.runtime.db, self.client)
        async with self.runtime.db.transaction() as session:
            await channel_inbox.purge(session)
            left = await channel_inbox.waiting(session, WECOM)
        for kept in left:
            self._dispatch(kept)
        if left:
            log.warning("handling %d WeCom messages received before a stop", len(left))
        if self.own_site:
            settings = self.runtime.settings
            web_app = web.Application(client_max_size=MAX_BODY_BYTES)
            self.routes(web_app)
            self._site = web.AppRunner(web_app, access_log=None)
            await self._site.setup()
            site = web.TCPSite(self._site, settings.webhook_listen, settings.webhook_port)
            await site.start()
            addresses = self._site.addresses
            self.port = addresses[0][1] if addresses else settings.webhook_port
            log.info("WeCom callback served on port %s%s", self.port, CALLBACK_PATH)

    async def stop(self) -> None:
        if self._site is not None:
            await self._site.cleanup()
            self._site = None
        await self.idle()
        await self.client.close()


def _has_encrypt(body: bytes) -> bool:
    try:
        envelope = xmltodict.parse(body)
    except Exception:
        return False
    return isinstance(envelope, dict) and bool((envelope.get("xml") or {}).get("Encrypt"))


def _fields_of(plain: str) -> dict[str, str] | Exception:
    """The message's XML as flat string fields (control characters removed, as Telegram's
    updates), or the error that made it unreadable."""
    try:
        parsed = xmltodict.parse(plain)
    except Exception as exc:
        return exc
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(root, dict):
        return ValueError("no <xml> root")
    fields: dict[str, str] = {}
    for name, value in root.items():
        if isinstance(value, str):
            fields[str(name)] = without_control_chars(value)
        elif value is None:
            fields[str(name)] = ""
        # Nested elements (a few events carry them) are not used by the bot.
    return fields
