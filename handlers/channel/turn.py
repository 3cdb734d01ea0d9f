"""One turn of a conversation on any channel: who wrote, what, and how to answer.

Flows written against `Turn` run on every channel: the channel's adapter subclasses it and says
how a `View` is sent (`reply`) and how a button press is acknowledged (`notify`). Everything
else — the account, the bound member, their language, their open dialog, the database — is
the same on every channel and lives here.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.context import NotBound
from bot.i18n import Texts
from bot.runtime import Runtime
from bot.settings import Settings
from handlers.callbacks import positive_int
from handlers.channel.views import Action, Button, View
from storage import dialogs, members
from storage.db import Database
from storage.dialogs import Dialog
from storage.identities import Account, Address
from storage.members import MemberRef


class DownloadFailed(Exception):
    """A channel could not give the content of a file a member sent."""


@dataclass(frozen=True)
class Posted:
    """A message the bot sent, as its channel names it, to be edited later (e.g. a progress
    message whose place is kept in the database)."""

    at: Address
    message_id: str


class Turn(abc.ABC):
    """A message or a button press from one account, and the means to answer it."""

    def __init__(
        self,
        runtime: Runtime,
        account: Account,
        *,
        viewer: MemberRef | None,
        dialog: Dialog | None,
        locale: str | None,
        text: str | None = None,
        formatted_text: str | None = None,
        action: Action | None = None,
        media: dict[str, Any] | None = None,
        location: tuple[float, float] | None = None,
    ) -> None:
        self.runtime = runtime
        self.account = account
        self.viewer = viewer
        self.dialog = dialog
        self.locale = locale
        self.text = text  # what they wrote (a message's text or a file's caption)
        # The same with the formatting they gave it (bold, links...), in the locale format
        # (Telegram HTML); None where the channel has no formatting (then: escape(text)).
        self.formatted_text = formatted_text
        self.action = action  # what they pressed
        # The file the message carries, as plain data: kind ("photo", "voice", "document",
        # "unsupported"), name, mime, size, and the channel's reference to fetch it ("file_id").
        self.media = media
        self.location = location  # a position they sent (latitude, longitude)

    # -- what a channel provides ----------------------------------------------------------
    @abc.abstractmethod
    async def reply(self, view: View) -> Posted | None:
        """Send view to the account, as a new message; where it went when the channel can edit
        it later (`edit_posted`), else None."""

    async def edit(self, view: View) -> None:
        """Show view in place of the message the pressed button sits on (pages, cards);
        channels that cannot edit a message send it anew."""
        await self.reply(view)

    async def try_reply(self, view: View) -> bool:
        """Send view; False when the channel refused it or could not deliver it (e.g. a stored
        file it will not take), so the flow can say so and go on. Channels whose sending cannot
        fail that way keep this default."""
        await self.reply(view)
        return True

    async def edit_buttons(self, buttons: Sequence[Sequence[Button]]) -> None:
        """Replace the buttons under the message the pressed button sits on, its text (or
        photo) unchanged: a choice ticked, an answer on record. Channels that cannot edit a
        message leave it as it was (the acknowledgement of the press says what changed)."""
        return None

    async def edit_posted(self, posted: Posted, view: View) -> None:
        """Show view in place of a message sent earlier (`reply` said where), e.g. a progress
        message once the notice is cancelled. Nothing happens where the channel cannot edit
        it (another channel's message, one too old or deleted)."""
        return None

    @abc.abstractmethod
    def link(self, payload: str) -> str:
        """A link that opens this bot on the channel with payload (an invitation, a check-in
        code in a QR code)."""

    @abc.abstractmethod
    async def notify(self, key: str, /, *, alert: bool = False, **params: Any) -> None:
        """Acknowledge a button press with a short text (a toast, or a message where the
        channel has no toasts); alert: one the member must close."""

    @abc.abstractmethod
    async def download(self, media: dict[str, Any]) -> bytes:
        """The content of a file the account sent; DownloadFailed when the channel cannot
        give it (expired, too big for its API, unreachable)."""

    # -- the same on every channel --------------------------------------------------------
    @property
    def member(self) -> MemberRef:
        """The bound member (flows registered with an access level run only for them)."""
        if self.viewer is None:
            raise NotBound
        return self.viewer

    def now(self) -> datetime:
        return self.runtime.clock()

    def arg(self, index: int) -> str | None:
        """The index-th argument of the pressed button, or None."""
        args = self.action.args if self.action is not None else ()
        return args[index] if index < len(args) else None

    def int_arg(self, index: int) -> int | None:
        """The index-th argument of the pressed button as a positive int; None when missing or
        malformed."""
        return positive_int(self.arg(index))

    @property
    def args(self) -> list[str]:
        """The words after a command ("/record 13800138000 2026" -> the two)."""
        text = (self.text or "").strip()
        return text.split()[1:] if text.startswith("/") else []

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def texts(self) -> Texts:
        return self.runtime.texts

    def t(self, key: str, /, **params: Any) -> str:
        """The text for key in the member's language, in the locale format (a `Markup`: it
        nests in a view's line or another text unescaped; str parameters are escaped)."""
        return self.runtime.texts.get(self.locale, key, **params)

    def plain(self, key: str, /, **params: Any) -> str:
        """The text for key, parameters as they are: for a file name or a label."""
        return self.runtime.texts.plain(self.locale, key, **params)

    async def open_dialog(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        """Start or move the account's dialog; its next free message goes to flow."""
        async with self.runtime.db.transaction() as session:
            self.dialog = await dialogs.set(
                session, self.account.key, flow, step, data, now=self.now()
            )

    async def close_dialog(self) -> None:
        async with self.runtime.db.transaction() as session:
            await dialogs.clear(session, self.account.key)
        self.dialog = None


async def identify(
    runtime: Runtime, account: Account, *, locale_hint: str | None = None
) -> tuple[MemberRef | None, Dialog | None, str]:
    """Who wrote (the bound member, if any), their open dialog, and the language to answer in:
    theirs (before binding: the one the account chose, kept with its dialog), else the
    channel's hint (e.g. the phone's language), else the office default."""
    async with runtime.db.read() as session:
        viewer, dialog = await members.who(session, account)
    if viewer is not None:
        chosen = viewer.locale or locale_hint
    else:
        chosen = (dialog.data.get("locale") if dialog is not None else None) or locale_hint
    return viewer, dialog, runtime.texts.resolve(chosen)
