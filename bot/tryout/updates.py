"""Updates for the bot: the queue, served by getUpdates (long polling with ``offset``,
``timeout``, ``limit``, ``allowed_updates``, 409 for two pollers) or POSTed to a webhook with the
secret header and a few retries."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, ClientTimeout

from bot.tryout.entities import UserMessage
from bot.tryout.protocol import JSON, ApiError, Handler, Request, bad
from bot.tryout.state import EmulatorState

# Update types delivered when allowed_updates is empty or was never set.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass
class _QueuedUpdate:
    update_id: int
    payload: JSON
    explicit_id: bool  # injected with its own update_id (a redelivery): confirm only once served
    served: bool = False

    @property
    def kind(self) -> str:
        return next((key for key in self.payload if key != "update_id"), "")


class UpdateQueue:
    """The updates waiting for the bot, and the methods and webhook loop that deliver them."""

    WEBHOOK_RETRY_DELAYS: tuple[float, ...] = (0.05, 0.2, 0.5)

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self._updates: list[_QueuedUpdate] = []
        self._next_update_id = 10_000
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._webhook_last_error: tuple[int, str] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._session: ClientSession | None = None

    def methods(self) -> dict[str, Handler]:
        return {
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }

    def open(self) -> None:
        """Ready to POST to a webhook (the HTTP client session)."""
        self._session = ClientSession(timeout=ClientTimeout(total=5))

    async def close(self) -> None:
        """Stop webhook delivery and close the HTTP client session."""
        await self._stop_webhook_task()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def pending(self) -> int:
        """Updates queued and not yet confirmed (or delivered to the webhook)."""
        return len(self._updates)

    def take_update_id(self) -> int:
        if self.state.ids is not None:
            return self.state.ids.next_update_id()
        self._next_update_id += 1
        return self._next_update_id

    def queue(self, payload: JSON, *, explicit: bool = False) -> None:
        self._updates.append(_QueuedUpdate(int(payload["update_id"]), payload, explicit))
        self.state.stats.updates_queued += 1
        self.state.notify()

    def inject(self, raw: JSON) -> int:
        """Queue an arbitrary update; returns its update_id (see BotApiEmulator.inject_update)."""
        explicit = "update_id" in raw
        update_id = int(raw["update_id"]) if explicit else self.take_update_id()
        for key in ("message", "edited_message", "channel_post"):
            message = raw.get(key)
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                self._remember_user_message(message)
        self.queue(dict(raw, update_id=update_id), explicit=explicit)
        return update_id

    def _remember_user_message(self, message: JSON) -> None:
        """Make an injected message repliable, copyable and deletable, like a user's."""
        chat = self.state.chat(int(message["chat"]["id"]))
        if chat.id < 0 and "title" in message["chat"]:
            chat.raw = dict(message["chat"])
        message_id = int(message.get("message_id", 0))
        if message_id and message_id not in chat.by_id:
            chat.from_user[message_id] = UserMessage(message)
            chat.next_message_id = max(chat.next_message_id, message_id + 1)

    # ---------------------------------------------------------------- getUpdates

    async def _get_updates(self, req: Request) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = req.int_param("offset")
        limit = min(100, max(1, req.int_param("limit") or 100))
        timeout = max(0.0, req.float_param("timeout") or 0.0)
        if "allowed_updates" in req.params:
            self._set_allowed_updates(req.obj_param("allowed_updates"))
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self.state.notify()  # an older long poll still waiting answers 409

        def take() -> list[JSON] | None:
            if req.disconnected():  # PTB gave up on this long poll (it stopped polling)
                raise ApiError(499, "Client Closed Request")
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            batch = self._serve(limit)
            return batch or None

        batch = await self.state.wait_until(take, timeout)
        return batch or []

    def _set_allowed_updates(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            raise bad("can't parse allowed updates")
        self._allowed_updates = frozenset(str(v) for v in value) if value else None

    def _allowed(self, kind: str) -> bool:
        if self._allowed_updates is None:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _confirm(self, offset: int | None) -> None:
        if not offset:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
            return
        self._updates = [
            u for u in self._updates if u.update_id >= offset or (u.explicit_id and not u.served)
        ]

    def _serve(self, limit: int) -> list[JSON]:
        self._updates = [u for u in self._updates if self._allowed(u.kind)]
        batch = self._updates[:limit]
        for update in batch:
            update.served = True
        self.state.stats.updates_delivered += len(batch)
        return [u.payload for u in batch]

    # ---------------------------------------------------------------- webhook

    async def _set_webhook(self, req: Request) -> bool:
        url = req.str_param("url") or ""
        if not url:
            await self._delete_webhook(req)
            return True
        if not url.startswith(("http://", "https://")):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = req.str_param("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise bad("secret token contains unallowed characters")
        if req.params.get("drop_pending_updates") is True:
            self._updates.clear()
        if "allowed_updates" in req.params:
            self._set_allowed_updates(req.obj_param("allowed_updates"))
        await self._stop_webhook_task()
        self.webhook_url, self.webhook_secret = url, secret
        self._webhook_last_error = None
        self._poll_generation += 1  # a waiting long poll answers 409
        self.state.notify()
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="emulator-webhook")
        return True

    async def _delete_webhook(self, req: Request) -> bool:
        await self._stop_webhook_task()
        self.webhook_url = self.webhook_secret = None
        if req.params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    async def _get_webhook_info(self, req: Request) -> JSON:
        info: JSON = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info.update(max_connections=40, ip_address="127.0.0.1")
            if self._allowed_updates is not None:
                info["allowed_updates"] = sorted(self._allowed_updates)
        if self._webhook_last_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _webhook_loop(self) -> None:
        while not self.state.closing:
            update = await self.state.wait_until(self._next_webhook_update, None)
            if update is None:
                return
            if self.state.closing:
                return
            delivered = False
            for delay in (*self.WEBHOOK_RETRY_DELAYS, None):
                if await self._post_webhook(update.payload):
                    delivered = True
                    break
                if delay is not None:
                    await asyncio.sleep(delay)
            self._updates = [u for u in self._updates if u is not update]
            if delivered:
                self.state.stats.updates_delivered += 1
            else:
                self.state.stats.webhook_failures += 1
            self.state.notify()

    def _next_webhook_update(self) -> _QueuedUpdate | None:
        self._updates = [u for u in self._updates if self._allowed(u.kind)]
        return self._updates[0] if self._updates else None

    async def _post_webhook(self, payload: JSON) -> bool:
        assert self._session is not None and self.webhook_url is not None
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        self.state.stats.webhook_attempts += 1
        try:
            async with self._session.post(
                self.webhook_url, data=json.dumps(payload), headers=headers
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except Exception as exc:
            error = f"Connection failed: {exc!r}"
        self._webhook_last_error = (int(time.time()), error)
        return False
