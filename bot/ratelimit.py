"""Bot API calls of the handlers: group chats paced, 429 honoured, network trouble retried.

A text reply (sendMessage to a private chat) still failing after the retries is not dropped: it
goes to the outbox (urgent), so the member gets it once Telegram answers again, however long the
outage; the delivery worker waits it out (bot/delivery.py). Reply keyboards are not kept (the
member's menu stays as it was); inline buttons are.

Two kinds of failure (bot/http.py): NotSent (no connection was made: nothing happened) and the
ambiguous rest (a 5xx, a connection dropped after the request went out, an answer later than
the read timeout): the call may have taken effect. NotSent is always safe to repeat, and so are
edits, callback answers and reads. A send is retried after an ambiguous failure too: a member
left without the answer is worse than one who sees it twice, and each such retry can cost at
most one duplicate, for the one failure that caused it. Retries
are few and spaced (RETRY_DELAYS), so a failing server is never hammered; then the error goes
to the error handler, which does not apologise for what may well have arrived.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter

from bot.channels import telegram_address
from bot.http import NotSent
from storage import outbox
from storage.models import Priority
from storage.outbox import Button

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.5, 4.0)
_KEEPING: set[asyncio.Task[None]] = set()  # replies being written to the outbox (kept referenced)
Result = bool | dict[str, Any] | list[dict[str, Any]]


class Unconfirmed(NetworkError):
    """A call that changes something failed after the retries in a way that may have taken
    effect (a 5xx, a dropped connection, a late answer), or a reply was kept in the outbox to
    go later: the error handler tells the member nothing, as "something went wrong" would be
    false or premature. A read (get*) or a call that certainly never left raises as it was."""


class RetryingRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter plus bounded retries of transient server and network errors.

    runtime is set once the Application is built: with it, a reply that could not be sent is
    kept in the outbox."""

    runtime: Runtime | None = None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except (BadRequest, Forbidden, InvalidToken):
                raise
            except RetryAfter as exc:
                # Still flood-limited after PTB's own waits (a burst of hundreds of replies at
                # once, e.g. a backlog after a restart): the reply goes out later, paced by the
                # delivery worker, instead of being lost with its apology.
                if self._keep_for_later(endpoint, data, exc):
                    raise Unconfirmed(f"{endpoint}: {exc}") from exc
                raise
            except NetworkError as exc:  # TimedOut and NotSent included
                if delay is None:
                    kept = self._keep_for_later(endpoint, data, exc)
                    if kept or (not isinstance(exc, NotSent) and not endpoint.startswith("get")):
                        raise Unconfirmed(f"{endpoint}: {exc}") from exc
                    raise
                kind = "not sent" if isinstance(exc, NotSent) else "may have arrived"
                log.warning(
                    "%s failed (%s): %s (attempt %d); retrying", endpoint, kind, exc, attempt + 1
                )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _keep_for_later(self, endpoint: str, data: dict[str, Any], exc: Exception) -> bool:
        """Put a text reply that could not be sent in the outbox, to go when Telegram answers.

        If the last failure was ambiguous the reply may have arrived, and this may be its one
        duplicate; a member left without an answer (their input is saved, they would not know
        it) is worse. Written by a task of its own: the handler may be sending from inside a
        transaction, and on SQLite a second one in the same task would wait for itself."""
        chat_id, text = data.get("chat_id"), data.get("text")
        if self.runtime is None or endpoint != "sendMessage":
            return False
        if not isinstance(chat_id, int) or chat_id <= 0 or not isinstance(text, str):
            return False
        task = asyncio.create_task(self._enqueue(self.runtime, data, type(exc).__name__))
        _KEEPING.add(task)
        task.add_done_callback(_KEEPING.discard)
        return True

    async def _enqueue(self, runtime: Runtime, data: dict[str, Any], error: str) -> None:
        chat_id, text = data.get("chat_id"), data.get("text")
        assert isinstance(chat_id, int) and isinstance(text, str)  # checked by _keep_for_later
        if data.get("parse_mode") != ParseMode.HTML:
            text = html.escape(text, quote=False)
        try:
            async with runtime.db.transaction() as session:
                await outbox.enqueue(
                    session,
                    to=telegram_address(chat_id),
                    kind="reply",
                    text=text,
                    buttons=_inline_buttons(data.get("reply_markup")),
                    priority=Priority.urgent,
                )
        except Exception:
            log.exception("a reply to chat %s could not be kept for later either", chat_id)
            return
        runtime.outbox_signal()
        log.warning("reply to chat %s kept in the outbox after %s", chat_id, error)


def _inline_buttons(markup: Any) -> list[list[Button]] | None:
    """An inline keyboard as outbox buttons (label + callback data or URL); None otherwise."""
    if not isinstance(markup, InlineKeyboardMarkup):
        return None
    rows: list[list[Button]] = []
    for row in markup.inline_keyboard:
        specs: list[Button] = []
        for b in row:
            if b.callback_data is not None:
                specs.append({"label": b.text, "data": str(b.callback_data)})
            elif b.url is not None:
                specs.append({"label": b.text, "url": b.url})
        if specs:
            rows.append(specs)
    return rows or None
