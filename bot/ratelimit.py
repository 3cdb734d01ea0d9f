"""Bot API calls of the handlers: group chats paced, 429 honoured, server errors retried.

Telegram answering 5xx or dropping the connection is retried with backoff a few times, then the
error goes to the error handler: the bot never spins on a failing server. A send that timed out
may have arrived, so only calls that are safe to repeat are retried after a timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.5, 4.0)
SAFE_TO_REPEAT = {
    "answerCallbackQuery",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
    "deleteMessage",
    "getMe",
    "getFile",
    "setMyCommands",
    "sendChatAction",
}
Result = bool | dict[str, Any] | list[dict[str, Any]]


class RetryingRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter plus bounded retries of transient server and network errors."""

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
            except (BadRequest, Forbidden, InvalidToken, RetryAfter):
                raise
            except TimedOut:
                if delay is None or endpoint not in SAFE_TO_REPEAT:
                    raise
                log.warning("%s timed out (attempt %d); retrying", endpoint, attempt + 1)
            except NetworkError as exc:
                if delay is None:
                    raise
                log.warning("%s failed: %s (attempt %d); retrying", endpoint, exc, attempt + 1)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises
