"""Bot API calls of the handlers: group chats paced, 429 honoured, network trouble retried.

Two kinds of failure (bot/http.py): NotSent (no connection was made: nothing happened) and the
ambiguous rest (a 5xx, a connection dropped after the request went out, an answer later than
the read timeout): the call may have taken effect. NotSent and the calls that are safe to repeat
(edits, callback answers, reads) are retried whatever happened. A send is retried after an
ambiguous failure too: a member left without the answer is worse than one who sees it twice,
and each such retry can cost at most one duplicate, for the one failure that caused it. Retries
are few and spaced (RETRY_DELAYS), so a failing server is never hammered; then the error goes
to the error handler, which does not apologise for what may well have arrived.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter

from bot.http import NotSent

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.5, 4.0)
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
            except NetworkError as exc:  # TimedOut and NotSent included
                if delay is None:
                    raise
                kind = "not sent" if isinstance(exc, NotSent) else "may have arrived"
                log.warning(
                    "%s failed (%s): %s (attempt %d); retrying", endpoint, kind, exc, attempt + 1
                )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises
