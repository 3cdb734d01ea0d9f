"""A second channel, for tests: plain text in and out, written only against the seam.

It is what adding a channel (WeCom, say) takes: an adapter (`PlainTurn`: how a view is sent and
how a button press is acknowledged), a renderer (views and outbox rows as plain text, through
handlers/channel/render.py and bot/outbox_render.py) and a delivery that claims the channel's
own outbox rows. Nothing in storage/ or in a feature's code knows it exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot import outbox_render
from bot.runtime import Runtime
from handlers.channel.render import body_of, labels_of
from handlers.channel.turn import DownloadFailed, Posted, Turn, identify
from handlers.channel.views import Action, Button, View
from storage import outbox
from storage.identities import Account, Address
from storage.outbox import Outcome, Result

PLAIN = "plain"


@dataclass
class Shown:
    """A message as a plain-text phone would show it: its text and its buttons."""

    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, encoded action)
    file: tuple[str, bytes] | None = None  # (name, content) of a file sent with the text

    def labels(self) -> list[str]:
        return [label for label, _ in self.buttons]


class PlainTurn(Turn):
    # No formatting here: `formatted_text` stays None.
    def __init__(
        self,
        channel: PlainChannel,
        account: Account,
        *,
        pressed: Shown | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(channel.runtime, account, **kwargs)
        self.channel = channel
        self.pressed = pressed  # the message whose button was pressed

    def _shown(self, view: View) -> Shown:
        texts = self.runtime.texts
        text = body_of(texts, self.locale, view, html=False)
        buttons = [b for row in labels_of(texts, self.locale, view) for b in row]
        file = None
        if view.file is not None:
            item = view.file
            content = self.channel.files[item.ref] if item.ref is not None else item.content()
            file = (item.name, content)
        return Shown(text, buttons, file)

    async def reply(self, view: View) -> Posted:
        address = self.account.address
        self.channel.show(address, self._shown(view))
        index = len(self.channel.shown[address]) - 1
        return Posted(Address(PLAIN, address), str(index))

    async def edit_buttons(self, buttons: Sequence[Sequence[Button]]) -> None:
        if self.pressed is not None:
            self.pressed.buttons = self._shown(View([], buttons)).buttons

    async def edit_posted(self, posted: Posted, view: View) -> None:
        if posted.at.channel == PLAIN:
            self.channel.shown[posted.at.address][int(posted.message_id)] = self._shown(view)

    async def notify(self, key: str, /, *, alert: bool = False, **params: Any) -> None:
        # No pop-ups here: an acknowledgement is a short message of its own.
        text = self.runtime.texts.plain(self.locale, key, **params)
        self.channel.show(self.account.address, Shown(text))

    def link(self, payload: str) -> str:
        return f"plain://start/{payload}"

    async def download(self, media: dict[str, Any]) -> bytes:
        try:
            return self.channel.files[media["file_id"]]
        except KeyError as exc:
            raise DownloadFailed(media["file_id"]) from exc


class PlainChannel:
    """Members writing through the plain channel to the running bot."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.shown: dict[str, list[Shown]] = {}
        self.files: dict[str, bytes] = {}  # what users uploaded, by the channel's reference

    def account(self, user: str) -> Account:
        return Account(PLAIN, user, user)

    def show(self, address: str, message: Shown) -> None:
        self.shown.setdefault(address, []).append(message)

    def last(self, user: str) -> Shown:
        return self.shown[user][-1]

    async def _turn(self, user: str, **what: Any) -> PlainTurn:
        account = self.account(user)
        viewer, dialog, locale = await identify(self.runtime, account)
        return PlainTurn(self, account, viewer=viewer, dialog=dialog, locale=locale, **what)

    async def send(self, user: str, text: str) -> None:
        """The user writes text."""
        await self._converse(await self._turn(user, text=text))

    async def send_file(self, user: str, name: str, data: bytes, mime: str) -> None:
        """The user sends a document."""
        ref = f"plain-file-{len(self.files) + 1}"
        self.files[ref] = data
        media = {"kind": "document", "file_id": ref, "name": name, "mime": mime, "size": len(data)}
        await self._converse(await self._turn(user, media=media))

    async def _converse(self, turn: PlainTurn) -> None:
        if not await self.runtime.wiring.converse(turn):
            await turn.reply(View.of("common.not_understood"))

    async def press(self, user: str, label: str) -> None:
        """The user presses the button with this label on the latest message that has it."""
        for message in reversed(self.shown.get(user, [])):
            for shown_label, data in message.buttons:
                if shown_label == label:
                    turn = await self._turn(user, action=Action.decode(data), pressed=message)
                    await self.runtime.wiring.press(turn)
                    return
        raise LookupError(f"no button {label!r} shown to {user}")

    async def deliver(self) -> int:
        """Send the outbox rows addressed to this channel; how many went."""
        texts = self.runtime.texts
        async with self.runtime.db.transaction() as session:
            rows = await outbox.claim(
                session, worker="plain", now=self.runtime.clock(), limit=100, channel=PLAIN
            )
            wanted = {row.member_id for row in rows if row.member_id is not None}
            recipients = await outbox.recipients(session, wanted)
        outcomes = []
        for row in rows:
            found = recipients.get(row.member_id) if row.member_id is not None else None
            locale = texts.resolve(found.locale if found else None)
            text = outbox_render.text_of(
                texts, locale, template=row.template, params=row.params, text=row.text, html=False
            )
            buttons = [
                (outbox_render.label_of(texts, locale, spec), str(spec.get("data", "")))
                for spec_row in row.buttons or []
                for spec in spec_row
            ]
            self.show(row.address, Shown(text, buttons))
            outcomes.append(Outcome(row.id, Result.sent, at=self.runtime.clock()))
        async with self.runtime.db.transaction() as session:
            await outbox.record(session, outcomes, worker="plain")
        return len(outcomes)
