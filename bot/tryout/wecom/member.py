"""A simulated WeCom member: callbacks posted to the bot as WeCom posts them.

Each message is XML encrypted and signed with wechatpy's `WeChatCrypto` (an implementation
independent of the bot's), sent as WeCom does: POST /wecom/callback?msg_signature&timestamp&nonce
with `<xml><ToUserName/><AgentID/><Encrypt/></xml>`. The knobs (timestamp, nonce, a broken
signature, a raw plaintext) let a test forge what an attacker or a broken client would send.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

_MSG_IDS = itertools.count(7_000_000_000_000_000_000)


@dataclass(frozen=True)
class CallbackAnswer:
    status: int
    body: str


def cdata(value: str) -> str:
    """value inside CDATA (a "]]>" in it split across two sections)."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass
class WeComMember:
    """One userid writing to the app whose callback is at callback_url."""

    callback_url: str
    token: str
    aes_key: str
    corp_id: str
    agent_id: int
    userid: str
    clock: Any = time.time
    session: aiohttp.ClientSession | None = None
    _created: list[int] = field(default_factory=list)

    def _crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.aes_key, self.corp_id)

    def _envelope(self, fields: str) -> str:
        return (
            f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName>"
            f"<FromUserName>{cdata(self.userid)}</FromUserName>"
            f"<CreateTime>{int(self.clock())}</CreateTime>{fields}"
            f"<AgentID>{self.agent_id}</AgentID></xml>"
        )

    def text_xml(self, text: str, msg_id: int | None = None) -> str:
        msg_id = next(_MSG_IDS) if msg_id is None else msg_id
        return self._envelope(
            f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(text)}</Content>"
            f"<MsgId>{msg_id}</MsgId>"
        )

    def card_event_xml(self, task_id: str, key: str, response_code: str) -> str:
        return self._envelope(
            f"<MsgType>{cdata('event')}</MsgType><Event>{cdata('template_card_event')}</Event>"
            f"<EventKey>{cdata(key)}</EventKey><TaskId>{cdata(task_id)}</TaskId>"
            f"<CardType>{cdata('button_interaction')}</CardType>"
            f"<ResponseCode>{cdata(response_code)}</ResponseCode>"
        )

    async def say(self, text: str, **knobs: Any) -> CallbackAnswer:
        """The member writes text in the app."""
        return await self.post(self.text_xml(text), **knobs)

    async def tap(self, task_id: str, key: str, response_code: str) -> CallbackAnswer:
        """The member taps the button with key on the card task_id."""
        return await self.post(self.card_event_xml(task_id, key, response_code))

    async def post(
        self,
        plaintext: str,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        bad_signature: bool = False,
    ) -> CallbackAnswer:
        """POST plaintext encrypted and signed as WeCom does."""
        stamp = str(int(self.clock()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(8)
        sealed = xmltodict.parse(self._crypto().encrypt_message(plaintext, nonce, stamp))["xml"]
        signature = str(sealed["MsgSignature"])
        if bad_signature:
            signature = ("0" if signature[0] != "0" else "1") + signature[1:]
        body = (
            f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName>"
            f"<AgentID>{cdata(str(self.agent_id))}</AgentID>"
            f"<Encrypt>{cdata(str(sealed['Encrypt']))}</Encrypt></xml>"
        )
        params = {"msg_signature": signature, "timestamp": stamp, "nonce": nonce}
        return await self._request("POST", params, body)

    async def verify_url(self, echo: str = "echo-1234") -> tuple[CallbackAnswer, str]:
        """WeCom's URL check when the admin saves the callback URL: (answer, the expected
        plaintext)."""
        stamp = str(int(self.clock()))
        nonce = secrets.token_hex(8)
        sealed = xmltodict.parse(self._crypto().encrypt_message(echo, nonce, stamp))
        encrypted = str(sealed["xml"]["Encrypt"])
        params = {
            "msg_signature": str(sealed["xml"]["MsgSignature"]),
            "timestamp": stamp,
            "nonce": nonce,
            "echostr": encrypted,
        }
        return await self._request("GET", params, None), echo

    async def _request(
        self, method: str, params: dict[str, str], body: str | None
    ) -> CallbackAnswer:
        own = self.session is None
        session = self.session or aiohttp.ClientSession()
        try:
            async with session.request(
                method, self.callback_url, params=params, data=body
            ) as response:
                return CallbackAnswer(response.status, await response.text())
        finally:
            if own:
                await session.close()
