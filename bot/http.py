"""The bot's HTTP client for the Bot API: aiohttp in place of PTB's default httpx.

Every answer a member sees costs one or two Bot API calls, and under load the client's own CPU
time is a large share of the bot's: profiling the inbound benchmark put httpx and httpcore at a
quarter of the event loop's busy time. aiohttp (already a dependency, for the webhook server)
does the same request for about a third of that. The behaviour PTB relies on is kept: the same
parameters (as a JSON body, or multipart with files), its timeouts, and its error types
(TimedOut, NetworkError).
"""

from __future__ import annotations

import json

import aiohttp

# PTB's own types for "not given" arguments, as its HTTPXRequest uses them.
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

JSON_BODY = {"Content-Type": "application/json"}


class NotSent(NetworkError):
    """The request never reached the Bot API (no connection could be made): repeating it is
    safe whatever it was. Every other NetworkError or TimedOut may have taken effect: a
    connection dropped after the request went out, a 5xx, an answer that came too late."""


class AiohttpRequest(BaseRequest):
    """A pooled aiohttp session behind PTB's request interface.

    Timeouts as PTB means them: connect (opening a connection), read (waiting for the answer;
    getUpdates passes its long-poll time on top), pool (waiting for a free connection). Write
    has no aiohttp counterpart; a stuck upload ends at the read timeout instead."""

    __slots__ = ("_connect", "_pool", "_pool_size", "_read", "_session")

    def __init__(
        self,
        *,
        connection_pool_size: int = 1,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # The session belongs to the running loop, so it is made here, not in __init__.
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
                # The Bot API is reached by its configured address; no proxies from the
                # environment, like PTB's httpx default.
                trust_env=False,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_given(pool_timeout, self._pool),
            sock_connect=_given(connect_timeout, self._connect),
            sock_read=_given(read_timeout, self._read),
        )
        body: aiohttp.FormData | bytes | None = None
        headers = None
        if request_data is not None:
            if request_data.contains_files:
                body = _multipart(request_data)
            elif parameters := request_data.parameters:
                # JSON, which the Bot API takes for everything but uploads: percent-encoding a
                # form (every CJK character three times) cost more CPU than the HTTP call.
                body = json.dumps(parameters, ensure_ascii=False, separators=(",", ":")).encode()
                headers = JSON_BODY
        try:
            async with session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # Refused, unresolvable, or no connection (or pool slot) in time: nothing was sent.
            raise NotSent(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut(f"Bot API request timed out: {type(exc).__name__}") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _given(value: object, default: float | None) -> float | None:
    """A timeout the caller passed, or this request's own when PTB says "not given" (its
    documented sentinel, BaseRequest.DEFAULT_NONE; the parameters are typed `object` because
    PTB's own type for them lives in a private module)."""
    if value is BaseRequest.DEFAULT_NONE:
        return default
    if value is None or isinstance(value, int | float):
        return value
    raise TypeError(f"a timeout must be a number or None, not {type(value).__name__}")


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    """Parameters as form fields and each file as a named part, as httpx would send them."""
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, part in request_data.multipart_data.items():
        filename, content = part[0], part[1]
        content_type = part[2] if len(part) > 2 else None
        form.add_field(name, content, filename=filename, content_type=content_type)
    return form
