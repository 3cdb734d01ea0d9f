"""The WeCom server API over aiohttp (wechatpy's client is synchronous: it would block the loop).

One access token per process, fetched on first use, shared by every call, renewed a few minutes
before its 7,200 s run out and at once when WeCom says it is invalid or expired (40014, 42001):
fetching it too often is itself rate limited by WeCom. Concurrent callers wait on one fetch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

# Renew this long before WeCom's expiry (clock skew, a slow call in flight).
TOKEN_MARGIN_SECONDS = 300
TOKEN_ERRORS = frozenset({40014, 42001})
# A member who is not (or no longer) reachable by the app: unknown userid, outside the app's
# visible range, all recipients invalid, mobile unknown.
UNREACHABLE = frozenset({60111, 81013, 46004})


class WeComError(Exception):
    """WeCom answered a call with a non-zero errcode."""

    def __init__(self, code: int, message: str, path: str) -> None:
        super().__init__(f"WeCom {path}: errcode {code} ({message})")
        self.code = code
        self.errmsg = message

    @property
    def unreachable(self) -> bool:
        return self.code in UNREACHABLE


@dataclass(frozen=True)
class SendResult:
    msgid: str
    invalid_users: tuple[str, ...]
    response_code: str | None


class WeComClient:
    def __init__(
        self,
        *,
        base_url: str,
        corp_id: str,
        secret: str,
        agent_id: int,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.corp_id = corp_id
        self._secret = secret
        self.agent_id = agent_id
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    # -- the token ------------------------------------------------------------------------
    async def token(self, *, stale: str | None = None) -> str:
        """The shared access token; a new one when it is near expiry or when `stale` (the one a
        call was refused with) is still the current one."""
        async with self._lock:
            fresh = self._token is not None and self._clock() < self._expires
            if fresh and (stale is None or stale != self._token):
                assert self._token is not None
                return self._token
            params = {"corpid": self.corp_id, "corpsecret": self._secret}
            async with self._http().get(f"{self.base_url}/cgi-bin/gettoken", params=params) as r:
                data = await r.json(content_type=None)
            self.token_fetches += 1
            _check(data, "gettoken")
            self._token = str(data["access_token"])
            lifetime = float(data.get("expires_in", 7200))
            self._expires = self._clock() + max(lifetime - TOKEN_MARGIN_SECONDS, lifetime / 2)
            return self._token

    async def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, **query: str
    ) -> dict[str, Any]:
        """One API call with the shared token; a token error renews it and tries once more."""
        token = await self.token()
        for attempt in (1, 2):
            url = f"{self.base_url}/cgi-bin/{path}"
            params = {"access_token": token, **query}
            async with self._http().request(method, url, params=params, json=body) as response:
                data = await response.json(content_type=None)
            if not isinstance(data, dict):
                raise WeComError(-1, "not a JSON object", path)
            if attempt == 1 and data.get("errcode") in TOKEN_ERRORS:
                log.info("WeCom token refused (%s): fetching a new one", data.get("errcode"))
                token = await self.token(stale=token)
                continue
            _check(data, path)
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    # -- messages -------------------------------------------------------------------------
    async def send(
        self,
        touser: Sequence[str],
        msgtype: str,
        content: dict[str, Any],
        *,
        duplicate_check_seconds: int = 0,
    ) -> SendResult:
        """message/send of one message to up to 1,000 userids."""
        body: dict[str, Any] = {
            "touser": "|".join(touser),
            "msgtype": msgtype,
            "agentid": self.agent_id,
            msgtype: content,
        }
        if duplicate_check_seconds:
            body["enable_duplicate_check"] = 1
            body["duplicate_check_interval"] = duplicate_check_seconds
        data = await self.call("POST", "message/send", body)
        invalid = tuple(u for u in str(data.get("invaliduser") or "").split("|") if u)
        code = data.get("response_code")
        return SendResult(str(data.get("msgid", "")), invalid, str(code) if code else None)

    async def send_text(self, userid: str, text: str) -> SendResult:
        return await self.send([userid], "text", {"content": text})

    async def send_textcard(
        self, userid: str, *, title: str, description: str, url: str, button: str
    ) -> SendResult:
        card = {"title": title, "description": description, "url": url, "btntxt": button}
        return await self.send([userid], "textcard", card)

    async def send_template_card(self, userid: str, card: dict[str, Any]) -> SendResult:
        return await self.send([userid], "template_card", card)

    async def update_card_button(self, userid: str, response_code: str, text: str) -> None:
        """Show text in place of the card's buttons (they can no longer be tapped); a response
        code works once, within 72 hours."""
        body = {
            "userids": [userid],
            "agentid": self.agent_id,
            "response_code": response_code,
            "button": {"replace_name": text},
        }
        await self.call("POST", "message/update_template_card", body)

    # -- users ----------------------------------------------------------------------------
    async def userid_of_mobile(self, mobile: str) -> str | None:
        """The userid of the organisation's user with this mobile; None when there is none."""
        try:
            data = await self.call("POST", "user/getuserid", {"mobile": mobile})
        except WeComError as exc:
            if exc.unreachable:
                return None
            raise
        return str(data["userid"])


def _check(data: Any, path: str) -> None:
    if not isinstance(data, dict):
        raise WeComError(-1, "not a JSON object", path)
    code = data.get("errcode", 0)
    if code != 0:
        raise WeComError(int(code), str(data.get("errmsg", "")), path)
