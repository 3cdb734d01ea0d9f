"""What every part of the emulator shares: the bot's identity and clock, the log of calls and the
counters, the chats, the callback queries awaiting an answer, and the change signal that waits
(long polls, `wait_for`, webhook delivery) wake on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from bot.tryout.entities import Chat, SentMessage
from bot.tryout.protocol import JSON, ApiCall, Request, bad

_LOGGER = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass
class EmulatorStats:
    """Counters for assertions about the bot's traffic."""

    calls: Counter[str] = field(default_factory=Counter)  # per method
    messages_sent: Counter[int] = field(default_factory=Counter)  # per chat, successful sends
    retry_after_responses: int = 0  # 429s returned (flood limits and injected ones)
    retry_after_by_chat: Counter[int] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)  # error responses by error_code
    injected_errors: int = 0
    faults: Counter[str] = field(default_factory=Counter)  # network faults by Fault value
    # Faults after a send was handled, per chat: each may leave the bot unsure it arrived.
    ambiguous_by_chat: Counter[int] = field(default_factory=Counter)
    updates_queued: int = 0
    updates_delivered: int = 0  # via getUpdates (re-serves count again) or webhook
    webhook_attempts: int = 0
    webhook_failures: int = 0  # updates dropped after all webhook retries failed


class IdSource(Protocol):
    """Where update ids and message ids come from when several emulators share one bot
    database (the console's store): ids that never repeat for that database."""

    def next_update_id(self) -> int: ...

    def next_message_id(self, chat_id: int) -> int: ...


class EmulatorState:
    """The emulator's shared state (see the module docstring)."""

    def __init__(self, token: str, bot_username: str, clock: Callable[[], float]) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.clock = clock
        self.calls: list[ApiCall] = []
        self.stats = EmulatorStats()
        self.chats: dict[int, Chat] = {}
        self.pending_callbacks: set[str] = set()
        self.callback_answers: dict[str, JSON] = {}  # callback query id -> answer parameters
        self.listeners: list[Callable[[str, SentMessage], None]] = []
        # (chat id, answerCallbackQuery parameters) for each answered press (console pop-ups).
        self.answer_listeners: list[Callable[[int, JSON], None]] = []
        self.callback_chats: dict[str, int] = {}  # callback query id -> the chat pressed in
        # Shared ids, and a bot message this emulator did not send (another console's), if any.
        self.ids: IdSource | None = None
        self.lookup: Callable[[int, int], SentMessage | None] | None = None
        self.closing = False
        self._changed = asyncio.Event()

    # ---------------------------------------------------------------- waiting

    def notify(self) -> None:
        """Wake every wait: something changed."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, check: Callable[[], _T | None], seconds: float | None) -> _T | None:
        """Poll ``check`` on every state change until it returns a value or time is up."""
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        while True:
            changed = self._changed
            found = check()
            if found is not None or self.closing:
                return found
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def emit(self, event: str, sent: SentMessage) -> None:
        """Tell the listeners (console mode) a bot message was "sent", "edited" or "deleted"."""
        self.notify()
        for listener in self.listeners:
            try:
                listener(event, sent)
            except Exception:
                _LOGGER.exception("emulator listener failed")

    # ---------------------------------------------------------------- chats

    def chat(self, chat_id: int) -> Chat:
        """The chat ``chat_id``, created on first use (a private chat for a positive id)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                raw: JSON = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
            else:
                kind = "supergroup" if str(chat_id).startswith("-100") else "group"
                raw = {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
            chat = self.chats[chat_id] = Chat(chat_id, raw)
            if self.ids is not None:
                ids = self.ids
                chat.id_source = lambda: ids.next_message_id(chat_id)
        return chat

    def find_sent(self, chat: Chat, message_id: int) -> SentMessage | None:
        """The bot message ``message_id`` of ``chat``: this emulator's, or one `lookup` finds
        (sent by another emulator on the same store), adopted so it can be edited or pressed."""
        sent = chat.by_id.get(message_id)
        if sent is None and self.lookup is not None and message_id not in chat.from_user:
            sent = self.lookup(chat.id, message_id)
            if sent is not None:
                chat.by_id[message_id] = sent
                chat.sent.append(sent)
        return sent

    def chat_for(self, req: Request, key: str = "chat_id") -> Chat:
        """The chat a call names in ``key``."""
        value = req.params.get(key)
        if value is None or value == "":
            raise bad(f"{key} is empty")
        if isinstance(value, str) and value.startswith("@"):
            raise bad("chat not found")
        return self.chat(req.require_int(key))

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to ``chat_id``, oldest first, in their current state."""
        chat = self.chats.get(chat_id)
        return list(chat.sent) if chat else []

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """The bot message ``message_id`` in ``chat_id``, if the bot sent one."""
        chat = self.chats.get(chat_id)
        return chat.by_id.get(message_id) if chat else None

    def bot_user(self) -> JSON:
        """The bot's User object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "CPPCC Test Bot",
            "username": self.bot_username,
        }
