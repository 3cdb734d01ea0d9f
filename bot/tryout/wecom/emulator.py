"""The WeCom API emulator: the few server calls the bot makes, with WeCom's answers and limits.

Faithful where it matters to the bot:
* `gettoken` hands out tokens valid 7,200 s (on the emulator's clock) and counts the calls;
  a call with an unknown token answers 40014, an expired one 42001.
* `message/send` records each message per userid; over 30 messages a minute or 1,000 an hour to
  one member the message is DROPPED SILENTLY (errcode 0, as WeCom does: no error comes back),
  counted in `dropped`. Unknown userids are listed in `invaliduser`; when nobody valid is left
  the answer is 81013. A template card's answer carries a `response_code`.
* `message/update_template_card` takes a response code once (either the send's or a tap's).
* `user/getuserid` maps a mobile to a userid from the table a test sets (46004 when unknown);
  `user/get` answers 60111 for an unknown userid.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN_SECONDS = 7200
PER_MINUTE = 30
PER_HOUR = 1000


@dataclass
class Card:
    """A template card as the member sees it now (after any update)."""

    task_id: str
    body: dict[str, Any]
    replaced_button: str | None = None  # the text an update put in place of the buttons

    def keys(self) -> list[str]:
        return [str(b.get("key", "")) for b in self.body.get("button_list", [])]

    def labels(self) -> list[str]:
        return [str(b.get("text", "")) for b in self.body.get("button_list", [])]


@dataclass
class Sent:
    """One message a member received."""

    msgtype: str
    body: dict[str, Any]  # the msgtype's object as sent (text, textcard or template_card)
    response_code: str | None = None
    card: Card | None = None

    @property
    def text(self) -> str:
        """What the member reads: a text's content, a card's titles and description."""
        if self.msgtype == "text":
            return str(self.body.get("content", ""))
        if self.msgtype == "textcard":
            return f"{self.body.get('title', '')}\n{self.body.get('description', '')}"
        main = self.body.get("main_title", {})
        parts = [main.get("title", ""), main.get("desc", ""), self.body.get("sub_title_text", "")]
        return "\n".join(str(p) for p in parts if p)


@dataclass
class _Token:
    value: str
    expires: float


@dataclass
class WeComEmulator:
    corp_id: str = "ww-emulated-corp"
    secret: str = "emulated-app-secret"
    agent_id: int = 1000002
    clock: Callable[[], float] = time.monotonic
    port: int = 0
    users: dict[str, str] = field(default_factory=dict)  # userid -> mobile
    received: dict[str, list[Sent]] = field(default_factory=lambda: defaultdict(list))
    dropped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    token_calls: int = 0
    _tokens: dict[str, _Token] = field(default_factory=dict)
    _sent_at: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (userid, task_id)
    _cards: dict[tuple[str, str], Card] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    # -- what a test sets and reads -------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_user(self, userid: str, mobile: str) -> None:
        """A user of the organisation (visible to the app), found by mobile (digits only)."""
        self.users[userid] = mobile

    def expire_tokens(self) -> None:
        """Every token handed out so far is now expired (the next call with one gets 42001)."""
        for token in self._tokens.values():
            token.expires = self.clock() - 1

    def messages(self, userid: str) -> list[Sent]:
        return list(self.received.get(userid, []))

    def card(self, userid: str, task_id: str) -> Card:
        return self._cards[(userid, task_id)]

    def response_code_for_tap(self, userid: str, task_id: str) -> str:
        """A fresh response code, as WeCom puts in the callback of a tap on that card."""
        code = secrets.token_hex(12)
        self._codes[code] = (userid, task_id)
        return code

    # -- server ---------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._with_token(self._send))
        app.router.add_post(
            "/cgi-bin/message/update_template_card", self._with_token(self._update_card)
        )
        app.router.add_post("/cgi-bin/user/getuserid", self._with_token(self._getuserid))
        app.router.add_get("/cgi-bin/user/get", self._with_token(self._user_get))
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.token_calls += 1
        q = request.query
        if q.get("corpid") != self.corp_id or q.get("corpsecret") != self.secret:
            return _error(40001, "invalid credential")
        value = secrets.token_urlsafe(32)
        self._tokens[value] = _Token(value, self.clock() + TOKEN_SECONDS)
        return _ok(access_token=value, expires_in=TOKEN_SECONDS)

    def _with_token(
        self, handler: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> Callable[[web.Request], Any]:
        async def checked(request: web.Request) -> web.Response:
            self.calls[request.path.removeprefix("/cgi-bin/")] += 1
            token = self._tokens.get(request.query.get("access_token", ""))
            if token is None:
                return _error(40014, "invalid access_token")
            if token.expires <= self.clock():
                return _error(42001, "access_token expired")
            if request.method == "GET":
                body: Any = dict(request.query)
            else:
                try:
                    body = json.loads(await request.read())
                except ValueError:
                    return _error(47001, "data format error")
            if not isinstance(body, dict):
                return _error(47001, "data format error")
            answer = handler(body)
            return web.json_response(answer)

        return checked

    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        msgtype = str(body.get("msgtype", ""))
        if msgtype not in ("text", "textcard", "template_card"):
            return _body(40008, "invalid message type")
        if body.get("agentid") != self.agent_id:
            return _body(40056, "invalid agentid")
        content = body.get(msgtype)
        if not isinstance(content, dict):
            return _body(44004, "empty content")
        if msgtype == "text" and len(str(content.get("content", "")).encode()) > 2048:
            return _body(45002, "content size out of limit")
        if msgtype == "template_card" and len(content.get("button_list", [])) > 6:
            return _body(40058, "button_list exceeds 6")
        targets = [u for u in str(body.get("touser", "")).split("|") if u]
        valid = [u for u in targets if u in self.users]
        invalid = [u for u in targets if u not in self.users]
        if not valid:
            return _body(81013, "user & party & tag all invalid")
        code = None
        task_id = str(content.get("task_id", "")) if msgtype == "template_card" else ""
        if task_id:
            code = secrets.token_hex(12)
        for userid in valid:
            if not self._admit(userid):
                self.dropped[userid] += 1  # WeCom's answer does not say so
                continue
            card = None
            if task_id:
                card = Card(task_id, content)
                self._cards[(userid, task_id)] = card
                assert code is not None
                self._codes[code] = (userid, task_id)
            self.received[userid].append(Sent(msgtype, content, code, card))
        answer = _body(0, "ok", msgid=f"emulated-{next(self._ids)}")
        answer["invaliduser"] = "|".join(invalid)
        if code is not None:
            answer["response_code"] = code
        return answer

    def _admit(self, userid: str) -> bool:
        """30 a minute and 1,000 an hour per member; beyond: dropped."""
        now = self.clock()
        sent = self._sent_at[userid]
        while sent and sent[0] <= now - 3600:
            sent.popleft()
        last_minute = sum(1 for at in sent if at > now - 60)
        if last_minute >= PER_MINUTE or len(sent) >= PER_HOUR:
            return False
        sent.append(now)
        return True

    def _update_card(self, body: dict[str, Any]) -> dict[str, Any]:
        found = self._codes.pop(str(body.get("response_code", "")), None)
        if found is None:
            return _body(40058, "invalid response_code (used, expired or unknown)")
        card = self._cards.get(found)
        if card is not None:
            button = body.get("button")
            if isinstance(button, dict):
                card.replaced_button = str(button.get("replace_name", ""))
            elif isinstance(body.get("template_card"), dict):
                card.body = body["template_card"]
        return _body(0, "ok", invaliduser=[])

    def _getuserid(self, body: dict[str, Any]) -> dict[str, Any]:
        mobile = str(body.get("mobile", ""))
        for userid, known in self.users.items():
            if known == mobile:
                return _body(0, "ok", userid=userid)
        return _body(46004, "user no exist")

    def _user_get(self, body: dict[str, Any]) -> dict[str, Any]:
        userid = str(body.get("userid", ""))
        if userid not in self.users:
            return _body(60111, "invalid userid")
        return _body(0, "ok", userid=userid, name=userid)


def _body(code: int, message: str, **more: Any) -> dict[str, Any]:
    return {"errcode": code, "errmsg": message, **more}


def _ok(**more: Any) -> web.Response:
    return web.json_response(_body(0, "ok", **more))


def _error(code: int, message: str) -> web.Response:
    # WeCom answers its errors with HTTP 200 and the code in the body.
    return web.json_response(_body(code, message))


@contextlib.asynccontextmanager
async def run_wecom_emulator(**kwargs: Any) -> AsyncIterator[WeComEmulator]:
    emulator = WeComEmulator(**kwargs)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
