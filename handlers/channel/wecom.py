"""The WeCom channel's adapter: `WeComTurn` and how views become WeCom messages.

A view without buttons is text; with up to six buttons it is a button-interaction template
card (a tap comes back as a template_card_event naming the button's key: the action, routed
like a Telegram button through `Wiring.press`); with more, numbered text choices ("回复 1 报名"),
kept per account (storage/channel_inbox.py) so the reply "1" presses the first. WeCom's limits
are kept by cutting and splitting, never by failing: a text is at most 2,048 bytes of UTF-8
(a longer one goes as several), a card's title, description and button texts are shortened.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from handlers.channel.render import body_of, labels_of
from handlers.channel.turn import DownloadFailed, Turn, identify
from handlers.channel.views import Action, View
from storage import channel_inbox
from storage.identities import Account

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.wecom.callback import WeComChannel, WeComMessage

WECOM = "wecom"
TEXT_MAX_BYTES = 2048
CARD_MAX_BUTTONS = 6
# WeCom's card fields, in characters (its documented advice; longer text is cut by the app).
CARD_TITLE_CHARS = 26
CARD_SUBTITLE_CHARS = 112
CARD_BUTTON_CHARS = 10


def split_text(text: str, limit: int = TEXT_MAX_BYTES) -> list[str]:
    """text in pieces of at most limit bytes of UTF-8, cut at line ends where possible and
    never inside a character."""
    pieces: list[str] = []
    rest = text
    while len(rest.encode()) > limit:
        cut = _fit(rest, limit)
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline + 1
        pieces.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _fit(text: str, limit: int) -> int:
    """How many characters of text fit in limit bytes of UTF-8."""
    size = 0
    for index, char in enumerate(text):
        size += len(char.encode("utf-8", "surrogatepass"))
        if size > limit:
            return max(index, 1)
    return len(text)


def shorten(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


class WeComTurn(Turn):
    def __init__(
        self,
        channel: WeComChannel,
        account: Account,
        *,
        response_code: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(channel.runtime, account, **kwargs)
        self.channel = channel
        self.response_code = response_code  # the tapped card's, usable once

    @property
    def userid(self) -> str:
        return self.account.address

    async def reply(self, view: View) -> None:
        texts = self.runtime.texts
        body = body_of(texts, self.locale, view, html=False)
        buttons = [b for row in labels_of(texts, self.locale, view) for b in row]
        client = self.channel.client
        if not buttons:
            await self._texts(body)
            await self._offer([])
            return
        if len(buttons) <= CARD_MAX_BUTTONS:
            title, _, rest = body.partition("\n")
            subtitle = rest.strip()
            if len(title) > CARD_TITLE_CHARS or len(subtitle) > CARD_SUBTITLE_CHARS:
                # Too long for a card: the whole text first, the card then only asks.
                await self._texts(body)
                title = shorten(title, CARD_TITLE_CHARS)
                subtitle = texts.plain(self.locale, "wecom.card_choose")
            card: dict[str, Any] = {
                "card_type": "button_interaction",
                "main_title": {"title": title or texts.plain(self.locale, "wecom.card_choose")},
                "task_id": f"c{secrets.token_hex(12)}",
                "button_list": [
                    {"text": shorten(label, CARD_BUTTON_CHARS), "style": 1, "key": data}
                    for label, data in buttons
                ],
            }
            if subtitle:
                card["sub_title_text"] = subtitle
            await client.send_template_card(self.userid, card)
            await self._offer([])
            return
        numbered = [
            texts.plain(self.locale, "wecom.reply_number", number=i, label=label)
            for i, (label, _) in enumerate(buttons, start=1)
        ]
        await self._texts("\n".join([body, "", *numbered]) if body else "\n".join(numbered))
        await self._offer([data for _, data in buttons])

    async def _texts(self, text: str) -> None:
        for piece in split_text(text):
            if piece.strip():
                await self.channel.client.send_text(self.userid, piece)

    async def _offer(self, actions: list[str]) -> None:
        """Remember numbered choices (or forget earlier ones: a later "1" is text again)."""
        pending = self.channel.choices_pending
        if not actions and self.userid not in pending:
            return
        async with self.runtime.db.transaction() as session:
            await channel_inbox.offer_choices(session, WECOM, self.account.external_id, actions)
        if actions:
            pending.add(self.userid)
        else:
            pending.discard(self.userid)

    async def notify(self, key: str, /, *, alert: bool = False, **params: Any) -> None:
        # No toasts on WeCom: the acknowledgement is a short message.
        await self._texts(self.runtime.texts.plain(self.locale, key, **params))

    def link(self, payload: str) -> str:
        # WeCom has no deep links into an app's chat: the member sends this text instead.
        return f"/start {payload}"

    async def download(self, media: dict[str, Any]) -> bytes:
        raise DownloadFailed("files from WeCom are not fetched yet")


async def handle(runtime: Runtime, message: WeComMessage) -> None:
    """One stored WeCom message or event, through the seam like any channel's."""
    channel = runtime.wecom
    assert channel is not None
    userid = message.sender
    account = Account(WECOM, userid, userid)
    viewer, dialog, locale = await identify(runtime, account)
    if viewer is None and channel.directory is not None:
        # Unknown userid: look the roster's phones up in WeCom, then ask again.
        await channel.directory.sync()
        viewer, dialog, locale = await identify(runtime, account)
    fields = message.fields
    kind = message.kind
    base: dict[str, Any] = {"viewer": viewer, "dialog": dialog, "locale": locale}
    if viewer is None:
        if kind in ("text", "image", "voice", "file", "event:template_card_event"):
            turn = WeComTurn(channel, account, **base)
            await turn.reply(View.of("start.not_on_roster", office=runtime.settings.office_contact))
        return
    wiring = runtime.wiring
    if kind == "event:template_card_event":
        action = Action.decode(fields.get("EventKey"))
        code = fields.get("ResponseCode") or None
        turn = WeComTurn(channel, account, action=action, response_code=code, **base)
        await wiring.press(turn)
        return
    if kind != "text":
        if not kind.startswith("event:"):
            await WeComTurn(channel, account, **base).reply(View.of("wecom.unsupported"))
        return  # entering the app, menu views...: nothing to answer
    text = fields.get("Content", "")
    number = text.strip()
    if number.isascii() and number.isdigit() and userid in channel.choices_pending:
        async with runtime.db.read() as session:
            data = await channel_inbox.choice(session, WECOM, userid, int(number))
        if data is not None:
            turn = WeComTurn(channel, account, action=Action.decode(data), **base)
            await wiring.press(turn)
            return
    turn = WeComTurn(channel, account, text=text, **base)
    if not await wiring.converse(turn):
        await turn.reply(View.of("common.not_understood"))
