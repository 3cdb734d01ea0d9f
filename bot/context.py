"""The custom callback context: typed access to the runtime, the viewer and their texts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Texts
from bot.runtime import Runtime
from bot.settings import Settings
from storage.db import Database
from storage.dialogs import Dialog
from storage.identities import Account
from storage.members import MemberRef

if TYPE_CHECKING:
    from handlers.wiring import Wiring


class NotBound(LookupError):
    """`ctx.member` asked where nobody is bound: a handler registered without an access level."""


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Runtime]):
    """Per-update context; `viewer` and `dialog` are resolved once by handlers.identity."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.viewer: MemberRef | None = None
        # The account that sent the update (bound or not), as storage names it.
        self.account: Account | None = None
        self.dialog: Dialog | None = None
        self.locale: str | None = None
        # Set when a handler answered the button press itself; the router answers otherwise.
        self.callback_answered = False

    @property
    def member(self) -> MemberRef:
        """The bound viewer, for handlers the router lets through only for bound members
        (every handler registered with an access level); a stranger never reaches them."""
        if self.viewer is None:
            raise NotBound
        return self.viewer

    @property
    def speaker(self) -> Account:
        """The account the update came from, for handlers that only run on one (every message
        and button press has a sender; identity resolution set it)."""
        if self.account is None:
            raise NotBound
        return self.account

    @property
    def runtime(self) -> Runtime:
        return self.bot_data

    @property
    def db(self) -> Database:
        return self.bot_data.db

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def texts(self) -> Texts:
        return self.bot_data.texts

    @property
    def wiring(self) -> Wiring:
        return self.bot_data.wiring

    def deep_link(self, payload: str) -> str:
        return f"https://t.me/{self.bot_data.bot_username}?start={payload}"

    def now(self) -> datetime:
        return self.bot_data.clock()

    def t(self, key: str, /, **params: Any) -> str:
        """The HTML text for key in the viewer's language (str parameters escaped; a `Markup`
        at run time, so it nests in another text unescaped)."""
        return self.bot_data.texts.get(self.locale, key, **params)

    def plain(self, key: str, /, **params: Any) -> str:
        """The text for key, parameters as they are: for button labels and pop-ups."""
        return self.bot_data.texts.plain(self.locale, key, **params)
