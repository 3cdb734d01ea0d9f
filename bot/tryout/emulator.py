"""A local emulator of the Telegram Bot API, for end-to-end tests and a console mode.

`BotApiEmulator` is a small aiohttp server on ``127.0.0.1`` (ephemeral port).  The *real*
python-telegram-bot ``Application`` talks to it over HTTP, exactly as it would to Telegram::

    async with run_emulator() as emu:
        app = (
            ApplicationBuilder()
            .token(emu.token)
            .base_url(emu.base_url)
            .base_file_url(emu.base_file_url)
            .build()
        )
        ...  # add handlers, then start polling (or set a webhook)
        alice = emu.user(1001, "Alice")          # a Telegram user in a private chat 1001
        await alice.send_command("start")        # queued for getUpdates / POSTed to the webhook
        hello = await emu.wait_for(1001, "欢迎")  # the next bot message containing "欢迎"
        await alice.tap(hello, "确认")            # presses an inline button -> callback_query
        assert not emu.unknown_methods           # the bot only used emulated methods

What is emulated, and how faithfully:

* Responses are ``{"ok": true, "result": ...}`` or Telegram's error objects
  (``error_code``, ``description``, ``parameters.retry_after``) with the same HTTP status, so
  PTB raises its real exceptions (`RetryAfter`, `Forbidden`, `BadRequest`, `NetworkError`...).
* Requests may be JSON, url-encoded or multipart (PTB sends url-encoded forms, or multipart
  when uploading; every non-string value is a JSON-encoded string).  Parameters are decoded
  back to Python values and recorded in `BotApiEmulator.calls`.
* ``parse_mode="HTML"`` is parsed like Telegram does (supported tags only, entities, byte
  offsets in errors), so a stray ``<`` fails with "can't parse entities" as in production.
  `SentMessage.text` is what the user sees (tags stripped); ``source_text`` is what was sent.
  Markdown modes are stored verbatim and not validated.
* Lengths are Telegram's: 4096 for a text, 1024 for a caption, 200 for a pop-up, counted in UTF-16
  units of the visible text (after parsing; an emoji counts 2); callback_data at most 64 bytes.
  The parser and the counting live in `bot.telegram_text`, which the bot uses too.
* Editing text or caption without ``reply_markup`` removes the inline keyboard (as Telegram
  does); an edit that changes nothing answers "message is not modified".
* Flood limits: token buckets, global and per chat, on message-sending methods (429).
* Updates: long polling with ``offset``/``timeout``/``limit``/``allowed_updates`` and a
  409 conflict for two concurrent pollers, or webhook delivery with the secret header and
  a few retries.
* Faults of Telegram's network edge (`BotApiEmulator.inject_fault`, `outage`): a 502 or a dropped
  connection before the request is handled (nothing happened), and the ambiguous ones after it
  was handled (the message *was* sent): a 502, a dropped connection, an answer held back past
  the client's timeout. Counted per kind and, for the ambiguous ones, per chat.
* Unknown methods answer 404 and are listed in `BotApiEmulator.unknown_methods`; bugs in the
  emulator itself answer 500 and are listed in `BotApiEmulator.internal_errors`.

Message ids are per chat and shared by user and bot messages.  Callback query ids are
``str(update_id)`` of the update that carried them.  Flood limits read ``clock`` (default
`time.monotonic`), so a test can pass a fake clock and move time by hand.

Note for assertions on errors: PTB strips the "Bad Request: " prefix and then calls
``str.capitalize()``, which also lowercases the rest ("Bad Request: BUTTON_DATA_INVALID"
becomes "Button_data_invalid"); match error texts case-insensitively.

For a console mode, `BotApiEmulator.add_listener` reports every message the bot sends, edits
or deletes, and `SimUser` methods play the user's side.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import math
import mimetypes
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from aiohttp import ClientSession, ClientTimeout, web

from bot.telegram_text import (
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    EntityParseError,
    parse_html,
)
from bot.telegram_text import utf16_len as _utf16_len

__all__ = [
    "ApiCall",
    "BotApiEmulator",
    "EmulatorStats",
    "EntityParseError",
    "Fault",
    "MessageVersion",
    "SentMessage",
    "SimUser",
    "StoredFile",
    "UploadedPart",
    "parse_html",
    "run_emulator",
]

_LOGGER = logging.getLogger(__name__)

JSON = dict[str, Any]
_T = TypeVar("_T")

MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
BLOCKED_DESCRIPTION = "Forbidden: bot was blocked by the user"

# Parameters whose values are plain strings.  Every other form value is JSON-decoded when it
# can be (PTB JSON-encodes ints, bools, lists and objects but sends strings as they are).
# fmt: off
_RAW_STRING_PARAMS = frozenset({
    "action", "address", "animation", "audio", "business_connection_id", "callback_query_id",
    "caption", "currency", "custom_title", "description", "document", "emoji", "explanation",
    "file_id", "first_name", "foursquare_id", "google_place_id", "inline_message_id",
    "invite_link", "ip_address", "language_code", "last_name", "message_effect_id", "name",
    "parse_mode", "payload", "phone_number", "photo", "provider_token", "query", "question",
    "secret_token", "short_description", "start_parameter", "sticker", "text", "thumbnail",
    "title", "url", "vcard", "video", "video_note", "voice",
})
_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
# fmt: on
# Update types delivered when allowed_updates is empty or was never set.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_MEDIA_KINDS = ("document", "photo", "voice", "audio", "video", "animation")
_FILE_DIRS = {
    "document": "documents",
    "photo": "photos",
    "voice": "voice",
    "audio": "music",
    "video": "videos",
    "animation": "animations",
}


# --------------------------------------------------------------------------------------------
# Records


@dataclass
class UploadedPart:
    """One file part of a multipart request, as the bot uploaded it."""

    name: str
    file_name: str | None
    mime_type: str | None
    data: bytes


@dataclass
class ApiCall:
    """One Bot API request the bot made, with the answer it got.

    ``ok`` is ``None`` while the request is still being answered (a long poll).
    """

    method: str
    params: JSON
    at: float
    files: dict[str, UploadedPart] = field(default_factory=dict)
    ok: bool | None = None
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    retry_after: int | None = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int) else None


@dataclass
class StoredFile:
    """A file the emulator can serve through getFile and the download route."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_name: str | None
    mime_type: str | None
    file_path: str


@dataclass
class MessageVersion:
    """A past state of a bot message (kept in `SentMessage.history` when it is edited)."""

    text: str | None
    source_text: str | None
    entities: list[JSON]
    reply_markup: JSON | None
    at: float


@dataclass
class SentMessage:
    """A message the bot sent, in its current state (edits applied, deletion flagged)."""

    message_id: int
    chat_id: int
    kind: str  # "text", "photo", "document", "voice", "location", ...
    text: str | None  # text or caption as the user sees it (HTML tags stripped)
    source_text: str | None  # text or caption as the bot sent it
    parse_mode: str | None
    entities: list[JSON]
    reply_markup: JSON | None  # as sent (inline keyboard, reply keyboard, remove, force_reply)
    file: StoredFile | None
    raw: JSON  # the Message object Telegram would return for it now
    params: JSON  # the parameters of the call that sent it
    sent_at: float
    reply_to_message_id: int | None = None
    deleted: bool = False
    edited_at: float | None = None
    history: list[MessageVersion] = field(default_factory=list)

    @property
    def file_name(self) -> str | None:
        return self.file.file_name if self.file else None

    @property
    def data(self) -> bytes | None:
        return self.file.data if self.file else None

    def buttons(self) -> list[str]:
        """Texts of the inline keyboard's buttons, row by row."""
        return [button.get("text", "") for button in self._inline_buttons()]

    def keyboard_texts(self) -> list[str]:
        """Texts of the reply keyboard's buttons, row by row."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [b if isinstance(b, str) else str(b.get("text", "")) for row in rows for b in row]

    def callback_for(self, text: str) -> str:
        """The callback_data of the inline button labelled ``text``."""
        for button in self._inline_buttons():
            if button.get("text") == text and "callback_data" in button:
                return str(button["callback_data"])
        raise AssertionError(
            f"no inline button {text!r} with callback data on message #{self.message_id}; "
            f"buttons: {self.buttons()}"
        )

    def _inline_buttons(self) -> list[JSON]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [b for row in rows for b in row if isinstance(b, dict)]


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


class Fault(enum.StrEnum):
    """A network fault at Telegram's edge (see BotApiEmulator.inject_fault)."""

    server_error = "server_error"  # 502 Bad Gateway before the request is handled
    drop = "drop"  # connection closed before the request is handled
    server_error_after = "server_error_after"  # handled (a message is sent), then 502
    drop_after = "drop_after"  # handled, then the connection is closed without an answer
    slow = "slow"  # handled, the answer held back `delay` seconds (past the client's timeout)

    @property
    def ambiguous(self) -> bool:
        """The request took effect, but the client cannot tell."""
        return self in (Fault.server_error_after, Fault.drop_after, Fault.slow)


@dataclass
class _FaultRule:
    fault: Fault
    methods: frozenset[str] | None  # lower-case names; None: every method
    chat_id: int | None
    remaining: int | None  # None: until removed (an outage)
    delay: float


class _ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


# --------------------------------------------------------------------------------------------
# Flood limits


class _TokenBucket:
    """``capacity`` tokens, refilled continuously at ``rate`` per second."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0 - 1e-9:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0


# --------------------------------------------------------------------------------------------
# Chats and updates


@dataclass
class _UserMessage:
    raw: JSON
    deleted: bool = False


@dataclass
class _Chat:
    id: int
    raw: JSON  # the Chat object
    next_message_id: int = 1
    sent: list[SentMessage] = field(default_factory=list)
    by_id: dict[int, SentMessage] = field(default_factory=dict)
    from_user: dict[int, _UserMessage] = field(default_factory=dict)
    blocked: str | None = None  # 403 description while the user has blocked the bot
    log: list[str] = field(default_factory=list)

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class _QueuedUpdate:
    update_id: int
    payload: JSON
    explicit_id: bool  # injected with its own update_id (a redelivery): confirm only once served
    served: bool = False

    @property
    def kind(self) -> str:
        return next((key for key in self.payload if key != "update_id"), "")


@dataclass
class _Source:
    """Content of a message being copied or forwarded."""

    kind: str
    content: JSON
    text: str | None
    entities: list[JSON]
    file: StoredFile | None
    sender: JSON


class _Own(enum.Enum):
    ID = enum.auto()


_OWN_ID: Literal[_Own.ID] = _Own.ID


def _short(text: str | None, limit: int = 300) -> str:
    text = (text or "").replace("\n", "⏎")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# Simulated users


class SimUser:
    """A Telegram user talking to the bot in a private chat (chat id == user id)."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        self.emulator = emulator
        self.user_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code

    @property
    def chat_id(self) -> int:
        return self.user_id

    def to_dict(self) -> JSON:
        """The User object of this user."""
        user: JSON = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def messages(self) -> list[SentMessage]:
        """Messages the bot sent to this user (shortcut for `BotApiEmulator.messages_to`)."""
        return self.emulator.messages_to(self.user_id)

    async def send_text(self, text: str) -> int:
        """Send a text message; ``/cmd args`` gets a bot_command entity.  Returns update_id."""
        content: JSON = {"text": text}
        if text.startswith("/") and len(text) > 1:
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self._send(content, f"{text}")

    async def send_command(self, command: str, args: str = "") -> int:
        """Send ``/command args``."""
        text = "/" + command.lstrip("/")
        return await self.send_text(f"{text} {args}" if args else text)

    async def send_contact(
        self,
        phone: str,
        *,
        contact_user_id: int | Literal[_Own.ID] | None = _OWN_ID,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> int:
        """Share a contact: by default the user's own (``user_id`` set to the sender's id).

        ``contact_user_id=None`` shares a contact without a Telegram account.
        """
        contact: JSON = {"phone_number": phone, "first_name": first_name or self.first_name}
        if last_name or (first_name is None and self.last_name):
            contact["last_name"] = last_name or self.last_name
        user_id = self.user_id if contact_user_id is _OWN_ID else contact_user_id
        if user_id is not None:
            contact["user_id"] = user_id
        return self._send({"contact": contact}, f"[contact {phone} user_id={user_id}]")

    async def send_photo(self, data: bytes, caption: str | None = None) -> int:
        """Send a photo; its sizes are downloadable through getFile."""
        big = self.emulator.register_file(data, kind="photo", mime_type="image/jpeg")
        small = self.emulator.register_file(data, kind="photo", mime_type="image/jpeg")
        content: JSON = {"photo": _photo_sizes(small, big)}
        if caption is not None:
            content["caption"] = caption
        return self._send(content, f"[photo {len(data)} B] {caption or ''}")

    async def send_document(
        self, data: bytes, file_name: str, mime_type: str, caption: str | None = None
    ) -> int:
        """Send a document; downloadable through getFile."""
        stored = self.emulator.register_file(
            data, kind="document", file_name=file_name, mime_type=mime_type
        )
        content: JSON = {"document": _file_object(stored)}
        if caption is not None:
            content["caption"] = caption
        return self._send(content, f"[document {file_name} {len(data)} B] {caption or ''}")

    async def send_voice(self, data: bytes, duration: int = 3, caption: str | None = None) -> int:
        """Send a voice note; downloadable through getFile."""
        stored = self.emulator.register_file(data, kind="voice", mime_type="audio/ogg")
        content: JSON = {"voice": _file_object(stored, duration=duration)}
        if caption is not None:
            content["caption"] = caption
        return self._send(content, f"[voice {duration}s] {caption or ''}")

    async def send_location(self, latitude: float, longitude: float) -> int:
        """Share a location."""
        content: JSON = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._send(content, f"[location {latitude},{longitude}]")

    async def tap(self, message: SentMessage, button: str) -> int:
        """Press the inline button whose text or callback_data is ``button``."""
        if message.deleted:
            raise AssertionError(f"message #{message.message_id} was deleted; cannot tap it")
        current = self.emulator.message(message.chat_id, message.message_id) or message
        for candidate in current._inline_buttons():
            if button in (candidate.get("text"), candidate.get("callback_data")):
                if "callback_data" not in candidate:
                    raise AssertionError(f"inline button {button!r} has no callback_data")
                return await self.send_callback(message.message_id, candidate["callback_data"])
        raise AssertionError(
            f"no inline button {button!r} on message #{message.message_id}; "
            f"buttons: {current.buttons()}"
        )

    async def send_callback(self, message_id: int, data: str) -> int:
        """Send a callback query for ``message_id`` with any (possibly forged) data."""
        return self.emulator._user_callback(self, message_id, data)

    async def send_text_in_group(self, chat_id: int, text: str) -> int:
        """Post ``text`` in a group chat (``chat_id`` < 0; ``-100…`` is a supergroup) the bot is
        a member of; ``/cmd`` gets a bot_command entity.  Returns update_id."""
        content: JSON = {"text": text}
        if text.startswith("/") and len(text) > 1:
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self.emulator._group_message(self, chat_id, content, text)

    async def send_callback_in_group(self, chat_id: int, message_id: int, data: str) -> int:
        """Press (or forge) an inline button on message ``message_id`` of a group chat."""
        return self.emulator._user_callback(self, message_id, data, chat_id=chat_id)

    def _send(self, content: JSON, log_text: str) -> int:
        return self.emulator._user_message(self, content, log_text)


def _file_object(stored: StoredFile, *, duration: int | None = None) -> JSON:
    obj: JSON = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if stored.file_name and stored.kind in ("document", "audio", "video", "animation"):
        obj["file_name"] = stored.file_name
    if stored.mime_type:
        obj["mime_type"] = stored.mime_type
    if stored.kind in ("voice", "audio", "video", "animation"):
        obj["duration"] = duration if duration is not None else 1
    if stored.kind in ("video", "animation"):
        obj.update(width=640, height=360)
    return obj


def _photo_sizes(small: StoredFile, big: StoredFile) -> list[JSON]:
    sizes = ((small, 320, 240), (big, 1280, 960))
    return [
        {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": len(f.data)}
        | {"width": width, "height": height}
        for f, width, height in sizes
    ]


# --------------------------------------------------------------------------------------------
# The emulator


_Handler = Callable[["_Request"], Awaitable[Any]]


@dataclass
class _Request:
    method: str
    params: JSON
    files: dict[str, UploadedPart]
    disconnected: Callable[[], bool] = lambda: False

    def str_param(self, key: str) -> str | None:
        value = self.params.get(key)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def int_param(self, key: str) -> int | None:
        value = self.params.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _bad(f"invalid {key} specified")
        try:
            return int(value)
        except ValueError:
            raise _bad(f"invalid {key} specified") from None

    def float_param(self, key: str) -> float | None:
        value = self.params.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _bad(f"invalid {key} specified")
        try:
            return float(value)
        except ValueError:
            raise _bad(f"invalid {key} specified") from None

    def obj_param(self, key: str) -> Any:
        value = self.params.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _bad(f"can't parse {key} JSON object") from None
        return value

    def require_int(self, key: str, empty: str | None = None) -> int:
        value = self.int_param(key)
        if value is None:
            raise _bad(empty or f"{key} is empty")
        return value


class BotApiEmulator:
    """A local Telegram Bot API for tests (see the module docstring)."""

    WEBHOOK_RETRY_DELAYS: tuple[float, ...] = (0.05, 0.2, 0.5)

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "cppcc_test_bot",
        enforce_limits: bool = True,
        global_rate: float = 30.0,
        global_burst: int = 30,
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 5,
        group_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.enforce_limits = enforce_limits
        self.global_rate = global_rate
        self.global_burst = global_burst
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self.group_per_minute = group_per_minute
        self.clock = clock
        self.base_url = ""
        self.base_file_url = ""
        self.port = 0

        self.calls: list[ApiCall] = []
        self.unknown_methods: list[str] = []
        self.internal_errors: list[str] = []
        self.stats = EmulatorStats()
        self.callback_answers: dict[str, JSON] = {}  # callback query id -> answer parameters
        self.commands: dict[str, list[JSON]] = {}  # "scope|language" -> commands
        self.menu_buttons: dict[int | None, JSON] = {}
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None

        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, SimUser] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_seq = 0
        self._updates: list[_QueuedUpdate] = []
        self._next_update_id = 10_000
        self._allowed_updates: frozenset[str] | None = None
        self._pending_callbacks: set[str] = set()
        self._injected: list[tuple[str, int | None, _ApiError, list[int]]] = []
        self._faults: list[_FaultRule] = []
        self._outage: _FaultRule | None = None
        self._returned: dict[int, set[int]] = {}
        self._returned_calls: set[int] = set()
        self._listeners: list[Callable[[str, SentMessage], None]] = []
        self._call_listeners: list[Callable[[ApiCall], None]] = []
        self._global_bucket = _TokenBucket(global_rate, global_burst, clock())
        self._chat_buckets: dict[int, _TokenBucket] = {}
        self._poll_generation = 0
        self._webhook_last_error: tuple[int, str] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._methods: dict[str, tuple[str, _Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendDocument": self._media_sender("document"),
                "sendPhoto": self._media_sender("photo"),
                "sendVoice": self._media_sender("voice"),
                "sendAudio": self._media_sender("audio"),
                "sendVideo": self._media_sender("video"),
                "sendAnimation": self._media_sender("animation"),
                "sendMediaGroup": self._send_media_group,
                "sendLocation": self._send_location,
                "sendContact": self._send_contact,
                "sendChatAction": self._send_chat_action,
                "copyMessage": self._copy_message,
                "forwardMessage": self._forward_message,
                "getFile": self._get_file,
                "setMyCommands": self._set_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "getMyCommands": self._get_my_commands,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
                "close": self._true,
                "logOut": self._true,
            }.items()
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port; sets `base_url` and `base_file_url`."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.base_url = f"http://127.0.0.1:{self.port}/bot"
        self.base_file_url = f"http://127.0.0.1:{self.port}/file/bot"
        self._session = ClientSession(timeout=ClientTimeout(total=5))
        self._closing = False

    async def stop(self) -> None:
        """Answer pending long polls, stop webhook delivery and close the server."""
        self._closing = True
        self._notify()
        await self._stop_webhook_task()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- test-facing API

    def user(
        self,
        user_id: int,
        first_name: str = "测试用户",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> SimUser:
        """The simulated user ``user_id`` (created, or updated with the names given)."""
        sim = SimUser(
            self,
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self._users[user_id] = sim
        chat = self._chat(user_id)
        chat.raw = self._private_chat_object(sim)
        return sim

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to ``chat_id``, oldest first, in their current state."""
        chat = self._chats.get(chat_id)
        return list(chat.sent) if chat else []

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """The bot message ``message_id`` in ``chat_id``, if the bot sent one."""
        chat = self._chats.get(chat_id)
        return chat.by_id.get(message_id) if chat else None

    async def wait_for(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | str | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the emulator's own wait
        after: int | None = None,
    ) -> SentMessage:
        """Wait for a bot message to ``chat_id`` that matches ``predicate``.

        A string predicate matches a substring of the text or caption (as shown, or as sent).
        Without ``after``, the earliest matching message not returned by an earlier
        ``wait_for`` for this chat is returned; with ``after``, the earliest matching one at
        index ``>= after`` in `messages_to`.  Raises AssertionError with the chat's transcript
        on timeout.
        """
        match = _as_predicate(predicate)
        returned = self._returned.setdefault(chat_id, set())

        def find() -> int | None:
            messages = self.messages_to(chat_id)
            for index in range(after or 0, len(messages)):
                if after is None and index in returned:
                    continue
                if match(messages[index]):
                    return index
            return None

        index = await self._wait_until(find, timeout)
        if index is None:
            wanted = predicate if isinstance(predicate, str) else getattr(predicate, "__name__", "")
            raise AssertionError(
                f"no bot message to chat {chat_id} matching {wanted!r} within {timeout}s\n"
                f"transcript of chat {chat_id}:\n{self.transcript(chat_id)}"
            )
        returned.add(index)
        return self.messages_to(chat_id)[index]

    def callback_unanswered(self, query_id: str) -> bool:
        """True while the callback query has not been answered (answerCallbackQuery)."""
        return query_id in self._pending_callbacks

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the emulator's own wait
    ) -> ApiCall:
        """Wait for an answered call of ``method`` (earliest not returned before)."""

        def find() -> int | None:
            for index, call in enumerate(self.calls):
                if index in self._returned_calls or call.ok is None:
                    continue
                if call.method.lower() == method.lower() and (predicate is None or predicate(call)):
                    return index
            return None

        index = await self._wait_until(find, timeout)
        if index is None:
            recent = "\n".join(f"  {_describe_call(c)}" for c in self.calls[-20:])
            raise AssertionError(f"no {method} call within {timeout}s; last calls:\n{recent}")
        self._returned_calls.add(index)
        return self.calls[index]

    def block(
        self, chat_id: int, *, description: str = BLOCKED_DESCRIPTION, send_update: bool = False
    ) -> None:
        """The user blocked the bot: calls for ``chat_id`` answer 403 ``description``.

        ``send_update`` also queues the my_chat_member update Telegram sends then.
        """
        chat = self._chat(chat_id)
        chat.blocked = description
        chat.log.append("-> user blocked the bot")
        if send_update:
            self._queue_member_update(chat, "member", "kicked")

    def unblock(self, chat_id: int, *, send_update: bool = False) -> None:
        """The user unblocked the bot."""
        chat = self._chat(chat_id)
        chat.blocked = None
        chat.log.append("-> user unblocked the bot")
        if send_update:
            self._queue_member_update(chat, "kicked", "member")

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id`` if given) with an error."""
        error = _ApiError(error_code, description, retry_after)
        self._injected.append((method.lower(), chat_id, error, [times]))

    def inject_fault(
        self,
        fault: Fault,
        *,
        methods: Iterable[str] | None = None,
        chat_id: int | None = None,
        times: int = 1,
        delay: float = 10.0,
    ) -> None:
        """Meet the next ``times`` calls (of ``methods``, to ``chat_id``) with ``fault``."""
        names = frozenset(m.lower() for m in methods) if methods is not None else None
        self._faults.append(_FaultRule(fault, names, chat_id, times, delay))

    def outage(
        self,
        fault: Fault = Fault.server_error,
        *,
        methods: Iterable[str] | None = None,
        delay: float = 10.0,
    ) -> None:
        """Telegram unreachable: every call (of ``methods``) meets ``fault`` until `end_outage`."""
        names = frozenset(m.lower() for m in methods) if methods is not None else None
        self._outage = _FaultRule(fault, names, None, None, delay)

    def end_outage(self) -> None:
        self._outage = None

    def _take_fault(self, method: str, params: JSON, *, handled: bool) -> _FaultRule | None:
        """The fault for this call: before handling it (handled False) one that stops it, after
        it succeeded one of the ambiguous kinds (so a call refused anyway spends none)."""
        name = method.lower()
        for rule in [*self._faults, *([self._outage] if self._outage else [])]:
            if rule.fault.ambiguous != handled:
                continue
            if rule.methods is not None and name not in rule.methods:
                continue
            if rule.chat_id is not None and params.get("chat_id") != rule.chat_id:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._faults.remove(rule)
            return rule
        return None

    def inject_update(self, raw: JSON) -> int:
        """Queue an arbitrary update; returns its update_id.

        An update with its own ``update_id`` is a redelivery: it is served even when the bot's
        offset already confirmed that id, and confirmed only once it was served.
        """
        explicit = "update_id" in raw
        update_id = int(raw["update_id"]) if explicit else self._take_update_id()
        for key in ("message", "edited_message", "channel_post"):
            message = raw.get(key)
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                self._remember_user_message(message)
        self._queue(dict(raw, update_id=update_id), explicit=explicit)
        return update_id

    def _remember_user_message(self, message: JSON) -> None:
        """Make an injected message repliable, copyable and deletable, like a user's."""
        chat = self._chat(int(message["chat"]["id"]))
        if chat.id < 0 and "title" in message["chat"]:
            chat.raw = dict(message["chat"])
        message_id = int(message.get("message_id", 0))
        if message_id and message_id not in chat.by_id:
            chat.from_user[message_id] = _UserMessage(message)
            chat.next_message_id = max(chat.next_message_id, message_id + 1)

    def register_file(
        self,
        data: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Store a file that getFile and the download route will serve."""
        self._file_seq += 1
        seq = self._file_seq
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        ext = ""
        if file_name and "." in file_name:
            ext = file_name.rsplit(".", 1)[1]
        elif mime_type:
            ext = (mimetypes.guess_extension(mime_type) or "").lstrip(".")
        ext = {"jpe": "jpg", "oga": "ogg"}.get(ext, ext)
        path = f"emu/{_FILE_DIRS.get(kind, 'files')}/file_{seq}" + (f".{ext}" if ext else "")
        stored = StoredFile(
            file_id=f"EMU{kind[:3].upper()}{seq:08d}",
            file_unique_id=f"U{seq:08d}",
            kind=kind,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            file_path=path,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[path] = stored
        return stored

    def file(self, file_id: str) -> StoredFile | None:
        """A stored file by its file_id."""
        return self._files.get(file_id)

    def add_call_listener(self, callback: Callable[[ApiCall], None]) -> None:
        """Call ``callback(call)`` after every successful Bot API call (load generators)."""
        self._call_listeners.append(callback)

    def add_listener(self, callback: Callable[[str, SentMessage], None]) -> None:
        """Call ``callback(event, message)`` on "sent", "edited" and "deleted" (console mode)."""
        self._listeners.append(callback)

    def transcript(self, chat_id: int) -> str:
        """What happened in ``chat_id``, one line per event ("->" user, "<-" bot, "!!" error)."""
        chat = self._chats.get(chat_id)
        if chat is None or not chat.log:
            return "  (nothing)"
        return "\n".join(f"  {line}" for line in chat.log)

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed (or delivered to the webhook)."""
        return len(self._updates)

    # ---------------------------------------------------------------- HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        at = self.clock()
        name = request.match_info["method"]
        try:
            params, files = await _read_params(request)
        except Exception as exc:  # a body we cannot read at all
            return _error_response(_bad(f"can't parse request: {exc}"))
        known = self._methods.get(name.lower())
        method = known[0] if known else name
        call = ApiCall(method=method, params=params, at=at, files=files)
        self.calls.append(call)
        self.stats.calls[method] += 1
        try:
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            if known is None:
                self.unknown_methods.append(name)
                raise _ApiError(404, f"Not Found: method {name} is not emulated")
            fault = self._take_fault(method, params, handled=False)
            if fault is not None:
                self.stats.faults[fault.fault] += 1
                if fault.fault is Fault.drop:
                    return self._drop(call, request)
                raise _ApiError(502, "Bad Gateway")
            self._raise_injected(method, params)
            self._raise_blocked(method, params)
            result = await known[1](_Request(method, params, files, _gone(request)))
        except _ApiError as error:
            self._finish_error(call, error)
            return _error_response(error)
        except Exception as exc:
            _LOGGER.exception("emulator bug in %s", method)
            self.internal_errors.append(f"{method}: {exc!r}")
            bug = _ApiError(500, f"Internal Server Error: emulator failed: {exc!r}")
            self._finish_error(call, bug)
            return _error_response(bug)
        call.ok = True
        call.result = result
        self._notify()
        for listener in self._call_listeners:
            listener(call)
        fault = self._take_fault(method, params, handled=True)
        if fault is not None:  # an ambiguous one: it took effect, the client will not know
            self.stats.faults[fault.fault] += 1
            if call.chat_id is not None:
                self.stats.ambiguous_by_chat[call.chat_id] += 1
            if fault.fault is Fault.drop_after:
                return self._drop(call, request)
            if fault.fault is Fault.server_error_after:
                return _error_response(_ApiError(502, "Bad Gateway"))
            await asyncio.sleep(fault.delay)
        return web.json_response({"ok": True, "result": result})

    def _drop(self, call: ApiCall, request: web.Request) -> web.Response:
        """Close the connection without an answer (what the client sees of a network cut)."""
        if call.ok is None:
            call.ok = False
            call.description = "connection dropped"
        if request.transport is not None:
            request.transport.abort()
        self._notify()
        return web.Response(status=500)  # never reaches the client

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self._files_by_path.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    def _finish_error(self, call: ApiCall, error: _ApiError) -> None:
        call.ok = False
        call.error_code = error.code
        call.description = error.description
        call.retry_after = error.retry_after
        if error.code == 499:  # nobody is listening: not an error the bot saw
            self._notify()
            return
        self.stats.errors[error.code] += 1
        if error.code == 429:
            self.stats.retry_after_responses += 1
            if call.chat_id is not None:
                self.stats.retry_after_by_chat[call.chat_id] += 1
        if call.chat_id is not None and call.chat_id in self._chats:
            self._chats[call.chat_id].log.append(
                f"!! {call.method} -> {error.code} {error.description}"
            )
        self._notify()

    def _raise_injected(self, method: str, params: JSON) -> None:
        for index, (name, chat_id, error, remaining) in enumerate(self._injected):
            if name != method.lower():
                continue
            if chat_id is not None and params.get("chat_id") != chat_id:
                continue
            remaining[0] -= 1
            if remaining[0] <= 0:
                del self._injected[index]
            self.stats.injected_errors += 1
            raise _ApiError(error.code, error.description, error.retry_after)

    def _raise_blocked(self, method: str, params: JSON) -> None:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int) or method in ("getUpdates", "getMe"):
            return
        chat = self._chats.get(chat_id)
        if chat is not None and chat.blocked:
            raise _ApiError(403, chat.blocked)

    # ---------------------------------------------------------------- waiting

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, check: Callable[[], _T | None], seconds: float | None) -> _T | None:
        """Poll ``check`` on every state change until it returns a value or time is up."""
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        while True:
            changed = self._changed
            found = check()
            if found is not None or self._closing:
                return found
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    # ---------------------------------------------------------------- chats and messages

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                raw: JSON = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
            else:
                kind = "supergroup" if str(chat_id).startswith("-100") else "group"
                raw = {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
            chat = self._chats[chat_id] = _Chat(chat_id, raw)
        return chat

    def _private_chat_object(self, user: SimUser) -> JSON:
        raw: JSON = {"id": user.user_id, "type": "private", "first_name": user.first_name}
        if user.last_name:
            raw["last_name"] = user.last_name
        if user.username:
            raw["username"] = user.username
        return raw

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "CPPCC Test Bot",
            "username": self.bot_username,
        }

    def _chat_for(self, req: _Request, key: str = "chat_id") -> _Chat:
        value = req.params.get(key)
        if value is None or value == "":
            raise _bad(f"{key} is empty")
        if isinstance(value, str) and value.startswith("@"):
            raise _bad("chat not found")
        return self._chat(req.require_int(key))

    def _take_update_id(self) -> int:
        self._next_update_id += 1
        return self._next_update_id

    def _queue(self, payload: JSON, *, explicit: bool = False) -> None:
        self._updates.append(_QueuedUpdate(int(payload["update_id"]), payload, explicit))
        self.stats.updates_queued += 1
        self._notify()

    def _user_active(self, user: SimUser) -> _Chat:
        """The user's private chat; writing to the bot unblocks it, as in Telegram."""
        chat = self._chat(user.user_id)
        chat.raw = self._private_chat_object(user)
        if chat.blocked:
            chat.blocked = None
            chat.log.append("-> user unblocked the bot")
        return chat

    def _user_message(self, user: SimUser, content: JSON, log_text: str) -> int:
        chat = self._user_active(user)
        return self._queue_message(chat, user, content, f"user #{{id}}: {_short(log_text)}")

    def _group_message(self, user: SimUser, chat_id: int, content: JSON, log_text: str) -> int:
        if chat_id >= 0:
            raise ValueError("a group chat id is negative")
        chat = self._chat(chat_id)
        label = f"{user.first_name} #{{id}}: {_short(log_text)}"
        return self._queue_message(chat, user, content, label)

    def _queue_message(self, chat: _Chat, user: SimUser, content: JSON, log_label: str) -> int:
        """A message from `user` in `chat`, queued as an update; `log_label` names it in the
        chat's transcript ({id} becomes its message id)."""
        message: JSON = {
            "message_id": chat.take_message_id(),
            "from": user.to_dict(),
            "chat": dict(chat.raw),
            "date": int(time.time()),
            **content,
        }
        chat.from_user[message["message_id"]] = _UserMessage(message)
        chat.log.append("-> " + log_label.replace("{id}", str(message["message_id"])))
        update_id = self._take_update_id()
        self._queue({"update_id": update_id, "message": message})
        return update_id

    def _user_callback(
        self, user: SimUser, message_id: int, data: str, *, chat_id: int | None = None
    ) -> int:
        chat = self._user_active(user) if chat_id is None else self._chat(chat_id)
        update_id = self._take_update_id()
        query_id = str(update_id)
        sent = chat.by_id.get(message_id)
        if sent is not None and not sent.deleted:
            message = dict(sent.raw)
        else:  # an inaccessible message, as Telegram sends for old or unknown ones
            message = {"chat": dict(chat.raw), "message_id": message_id, "date": 0}
        query: JSON = {
            "id": query_id,
            "from": user.to_dict(),
            "message": message,
            "chat_instance": str(abs(hash((self.bot_id, chat.id))) % 10**18),
            "data": data,
        }
        self._pending_callbacks.add(query_id)
        label = data
        if sent is not None:
            label = next(
                (
                    b.get("text", data)
                    for b in sent._inline_buttons()
                    if b.get("callback_data") == data
                ),
                data,
            )
        chat.log.append(f"-> user tapped {label!r} (data={data!r}) on #{message_id}")
        self._queue({"update_id": update_id, "callback_query": query})
        return update_id

    def _queue_member_update(self, chat: _Chat, old: str, new: str) -> None:
        user = self._users.get(chat.id)
        sender = user.to_dict() if user else {"id": chat.id, "is_bot": False, "first_name": "?"}
        now = int(time.time())
        self._queue(
            {
                "update_id": self._take_update_id(),
                "my_chat_member": {
                    "chat": dict(chat.raw),
                    "from": sender,
                    "date": now,
                    "old_chat_member": {"status": old, "user": self._bot_user()},
                    "new_chat_member": {"status": new, "user": self._bot_user(), "until_date": 0}
                    if new == "kicked"
                    else {"status": new, "user": self._bot_user()},
                },
            }
        )

    def _check_flood(self, chat_id: int) -> None:
        if not self.enforce_limits:
            return
        now = self.clock()
        bucket = self._chat_buckets.get(chat_id)
        if bucket is None:
            if chat_id < 0:
                bucket = _TokenBucket(self.group_per_minute / 60.0, self.group_per_minute, now)
            else:
                bucket = _TokenBucket(self.per_chat_rate, self.per_chat_burst, now)
            self._chat_buckets[chat_id] = bucket
        wait = max(self._global_bucket.wait_time(now), bucket.wait_time(now))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise _ApiError(429, f"Too Many Requests: retry after {seconds}", seconds)
        self._global_bucket.take()
        bucket.take()

    def _render(self, req: _Request, key: str, limit: int, too_long: str) -> tuple[str, list[JSON]]:
        """Text or caption as Telegram stores it: parsed by parse_mode, checked for length."""
        source = req.str_param(key) or ""
        parse_mode = req.str_param("parse_mode")
        entities_key = "entities" if key == "text" else "caption_entities"
        if parse_mode and parse_mode.lower() == "html":
            try:
                text, entities = parse_html(source)
            except EntityParseError as exc:
                raise _bad(f"can't parse entities: {exc}") from None
        elif parse_mode and parse_mode.lower() not in ("markdown", "markdownv2"):
            raise _bad(f"unsupported parse_mode {parse_mode!r}")
        else:
            text = source
            entities = list(req.obj_param(entities_key) or [])
        # Telegram counts the visible text (after parsing) in UTF-16 code units.
        if _utf16_len(text) > limit:
            raise _bad(too_long)
        return text, entities

    def _render_text(self, req: _Request) -> tuple[str, list[JSON]]:
        if not (req.str_param("text") or "").strip():
            raise _bad("message text is empty")
        text, entities = self._render(req, "text", MAX_TEXT_LENGTH, "message is too long")
        if not text.strip():
            raise _bad("message text is empty")
        return text, entities

    def _render_caption(self, req: _Request) -> tuple[str | None, list[JSON]]:
        if req.params.get("caption") is None:
            return None, []
        return self._render(req, "caption", MAX_CAPTION_LENGTH, "message caption is too long")

    def _markup(self, req: _Request) -> JSON | None:
        markup = req.obj_param("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is not None:
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse inline keyboard button: field must be an Array")
            for button in (b for row in rows for b in row):
                if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                    raise _bad("can't parse inline keyboard button: Text must be non-empty")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise _bad("BUTTON_DATA_INVALID")
                if len(button) < 2:
                    raise _bad("text buttons are unallowed in the inline keyboard")
        return markup

    def _reply_to(self, req: _Request, chat: _Chat) -> int | None:
        parameters = req.obj_param("reply_parameters")
        if not isinstance(parameters, dict):
            parameters = {}
        reply_to = parameters.get("message_id")
        if reply_to is None:
            reply_to = req.int_param("reply_to_message_id")
        if reply_to is None:
            return None
        exists = reply_to in chat.by_id or reply_to in chat.from_user
        allow = parameters.get("allow_sending_without_reply") or req.params.get(
            "allow_sending_without_reply"
        )
        if not exists and not allow:
            raise _bad("message to be replied not found")
        return int(reply_to) if exists else None

    def _deliver(
        self,
        req: _Request,
        chat: _Chat,
        kind: str,
        content: JSON,
        *,
        text: str | None = None,
        entities: list[JSON] | None = None,
        file: StoredFile | None = None,
        check_flood: bool = True,
    ) -> SentMessage:
        markup = self._markup(req)
        reply_to = self._reply_to(req, chat)
        if check_flood:
            self._check_flood(chat.id)
        message_id = chat.take_message_id()
        sent = SentMessage(
            message_id=message_id,
            chat_id=chat.id,
            kind=kind,
            text=text,
            source_text=req.str_param("text" if kind == "text" else "caption"),
            parse_mode=req.str_param("parse_mode"),
            entities=entities or [],
            reply_markup=markup,
            file=file,
            raw={},
            params=req.params,
            sent_at=self.clock(),
            reply_to_message_id=reply_to,
        )
        sent.raw = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": dict(chat.raw),
            "date": int(time.time()),
            **content,
        }
        if reply_to is not None:
            original = chat.by_id.get(reply_to)
            sent.raw["reply_to_message"] = (
                dict(original.raw) if original else dict(chat.from_user[reply_to].raw)
            )
        self._apply_content(sent)
        chat.sent.append(sent)
        chat.by_id[message_id] = sent
        self.stats.messages_sent[chat.id] += 1
        buttons = sent.buttons() or sent.keyboard_texts()
        chat.log.append(
            f"<- bot #{message_id} [{kind}]: {_short(text)}"
            + (f" [buttons: {' | '.join(buttons)}]" if buttons else "")
            + (f" [file {file.file_name or file.file_id}, {len(file.data)} B]" if file else "")
        )
        self._emit("sent", sent)
        return sent

    def _apply_content(self, sent: SentMessage) -> None:
        """Write text/caption, entities and inline markup of ``sent`` into its raw Message."""
        raw = sent.raw
        text_key = "text" if sent.kind == "text" else "caption"
        entity_key = "entities" if sent.kind == "text" else "caption_entities"
        for key in (text_key, entity_key, "reply_markup"):
            raw.pop(key, None)
        if sent.text is not None and (sent.text or sent.kind == "text"):
            raw[text_key] = sent.text
        if sent.entities:
            raw[entity_key] = sent.entities
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            raw["reply_markup"] = sent.reply_markup

    def _emit(self, event: str, sent: SentMessage) -> None:
        self._notify()
        for listener in self._listeners:
            try:
                listener(event, sent)
            except Exception:
                _LOGGER.exception("emulator listener failed")

    def _editable(self, req: _Request) -> tuple[_Chat, SentMessage]:
        if req.params.get("inline_message_id") is not None:
            raise _bad("inline messages are not emulated")
        chat = self._chat_for(req)
        message_id = req.require_int("message_id", "message identifier is not specified")
        sent = chat.by_id.get(message_id)
        if sent is None or sent.deleted:
            if message_id in chat.from_user:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return chat, sent

    def _edit(
        self,
        chat: _Chat,
        sent: SentMessage,
        text: str | None,
        source: str | None,
        entities: list[JSON],
        markup: JSON | None,
        parse_mode: str | None,
    ) -> JSON:
        inline = markup if markup and "inline_keyboard" in markup else None
        current = (
            sent.reply_markup
            if sent.reply_markup and "inline_keyboard" in sent.reply_markup
            else None
        )
        if (text, entities, inline) == (sent.text, sent.entities, current):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        now = self.clock()
        sent.history.append(
            MessageVersion(sent.text, sent.source_text, sent.entities, sent.reply_markup, now)
        )
        sent.text, sent.source_text, sent.entities = text, source, entities
        # A reply keyboard is not part of the message and stays; an inline one is replaced.
        sent.reply_markup = inline or (None if current else sent.reply_markup)
        sent.parse_mode, sent.edited_at = parse_mode, now
        sent.raw["edit_date"] = int(time.time())
        self._apply_content(sent)
        buttons = sent.buttons()
        chat.log.append(
            f"<- bot edited #{sent.message_id}: {_short(text)}"
            + (f" [buttons: {' | '.join(buttons)}]" if buttons else "")
        )
        self._emit("edited", sent)
        return dict(sent.raw)

    def _resolve_file(self, req: _Request, key: str, kind: str) -> StoredFile:
        part = req.files.get(key)
        value = req.params.get(key)
        if part is None and isinstance(value, str) and value.startswith("attach://"):
            part = req.files.get(value.removeprefix("attach://"))
            if part is None:
                raise _bad(f"file {value} not found in the request")
        if part is not None:
            return self.register_file(
                part.data, kind=kind, file_name=part.file_name, mime_type=part.mime_type
            )
        if not isinstance(value, str) or not value:
            raise _bad(f"there is no {key} in the request")
        if value.startswith(("http://", "https://")):
            name = value.rstrip("/").rsplit("/", 1)[-1] or None
            return self.register_file(b"", kind=kind, file_name=name)
        stored = self._files.get(value)
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if stored.kind != kind and {stored.kind, kind} != {"document", "animation"}:
            raise _bad(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    # ---------------------------------------------------------------- methods

    async def _true(self, req: _Request) -> bool:
        return True

    async def _get_me(self, req: _Request) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, req: _Request) -> list[JSON]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = req.int_param("offset")
        limit = min(100, max(1, req.int_param("limit") or 100))
        timeout = max(0.0, req.float_param("timeout") or 0.0)
        if "allowed_updates" in req.params:
            self._set_allowed_updates(req.obj_param("allowed_updates"))
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll still waiting answers 409

        def take() -> list[JSON] | None:
            if req.disconnected():  # PTB gave up on this long poll (it stopped polling)
                raise _ApiError(499, "Client Closed Request")
            if generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            batch = self._serve(limit)
            return batch or None

        batch = await self._wait_until(take, timeout)
        return batch or []

    def _set_allowed_updates(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            raise _bad("can't parse allowed updates")
        self._allowed_updates = frozenset(str(v) for v in value) if value else None

    def _allowed(self, kind: str) -> bool:
        if self._allowed_updates is None:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _confirm(self, offset: int | None) -> None:
        if not offset:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
            return
        self._updates = [
            u for u in self._updates if u.update_id >= offset or (u.explicit_id and not u.served)
        ]

    def _serve(self, limit: int) -> list[JSON]:
        self._updates = [u for u in self._updates if self._allowed(u.kind)]
        batch = self._updates[:limit]
        for update in batch:
            update.served = True
        self.stats.updates_delivered += len(batch)
        return [u.payload for u in batch]

    async def _set_webhook(self, req: _Request) -> bool:
        url = req.str_param("url") or ""
        if not url:
            await self._delete_webhook(req)
            return True
        if not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = req.str_param("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise _bad("secret token contains unallowed characters")
        if req.params.get("drop_pending_updates") is True:
            self._updates.clear()
        if "allowed_updates" in req.params:
            self._set_allowed_updates(req.obj_param("allowed_updates"))
        await self._stop_webhook_task()
        self.webhook_url, self.webhook_secret = url, secret
        self._webhook_last_error = None
        self._poll_generation += 1  # a waiting long poll answers 409
        self._notify()
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="emulator-webhook")
        return True

    async def _delete_webhook(self, req: _Request) -> bool:
        await self._stop_webhook_task()
        self.webhook_url = self.webhook_secret = None
        if req.params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    async def _get_webhook_info(self, req: _Request) -> JSON:
        info: JSON = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info.update(max_connections=40, ip_address="127.0.0.1")
            if self._allowed_updates is not None:
                info["allowed_updates"] = sorted(self._allowed_updates)
        if self._webhook_last_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _webhook_loop(self) -> None:
        while not self._closing:
            update = await self._wait_until(self._next_webhook_update, None)
            if update is None:
                return
            if self._closing:
                return
            delivered = False
            for delay in (*self.WEBHOOK_RETRY_DELAYS, None):
                if await self._post_webhook(update.payload):
                    delivered = True
                    break
                if delay is not None:
                    await asyncio.sleep(delay)
            self._updates = [u for u in self._updates if u is not update]
            if delivered:
                self.stats.updates_delivered += 1
            else:
                self.stats.webhook_failures += 1
            self._notify()

    def _next_webhook_update(self) -> _QueuedUpdate | None:
        self._updates = [u for u in self._updates if self._allowed(u.kind)]
        return self._updates[0] if self._updates else None

    async def _post_webhook(self, payload: JSON) -> bool:
        assert self._session is not None and self.webhook_url is not None
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        self.stats.webhook_attempts += 1
        try:
            async with self._session.post(
                self.webhook_url, data=json.dumps(payload), headers=headers
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except Exception as exc:
            error = f"Connection failed: {exc!r}"
        self._webhook_last_error = (int(time.time()), error)
        return False

    async def _send_message(self, req: _Request) -> JSON:
        chat = self._chat_for(req)
        text, entities = self._render_text(req)
        return self._deliver(req, chat, "text", {}, text=text, entities=entities).raw

    async def _edit_message_text(self, req: _Request) -> JSON:
        chat, sent = self._editable(req)
        if sent.kind != "text":
            raise _bad("there is no text in the message to edit")
        text, entities = self._render_text(req)
        markup = self._markup(req)
        return self._edit(
            chat, sent, text, req.str_param("text"), entities, markup, req.str_param("parse_mode")
        )

    async def _edit_message_caption(self, req: _Request) -> JSON:
        chat, sent = self._editable(req)
        if sent.kind in ("text", "location", "contact"):
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._render_caption(req)
        markup = self._markup(req)
        return self._edit(
            chat,
            sent,
            caption,
            req.str_param("caption"),
            entities,
            markup,
            req.str_param("parse_mode"),
        )

    async def _edit_message_reply_markup(self, req: _Request) -> JSON:
        chat, sent = self._editable(req)
        markup = self._markup(req)
        return self._edit(
            chat, sent, sent.text, sent.source_text, sent.entities, markup, sent.parse_mode
        )

    async def _delete_message(self, req: _Request) -> bool:
        chat = self._chat_for(req)
        message_id = req.require_int("message_id", "message identifier is not specified")
        sent = chat.by_id.get(message_id)
        if sent is not None and not sent.deleted:
            sent.deleted = True
            chat.log.append(f"<- bot deleted #{message_id}")
            self._emit("deleted", sent)
            return True
        user_message = chat.from_user.get(message_id)
        if user_message is not None and not user_message.deleted:
            user_message.deleted = True
            chat.log.append(f"<- bot deleted user message #{message_id}")
            return True
        raise _bad("message to delete not found")

    async def _answer_callback_query(self, req: _Request) -> bool:
        query_id = req.str_param("callback_query_id")
        if not query_id:
            raise _bad("callback_query_id is empty")
        if query_id not in self._pending_callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = req.str_param("text")
        if text is not None and _utf16_len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._pending_callbacks.discard(query_id)
        self.callback_answers[query_id] = dict(req.params)
        return True

    def _media_sender(self, kind: str) -> _Handler:
        async def send(req: _Request) -> JSON:
            chat = self._chat_for(req)
            caption, entities = self._render_caption(req)
            stored = self._resolve_file(req, kind, kind)
            content: JSON
            if kind == "photo":
                content = {"photo": _photo_sizes(stored, stored)}
            else:
                content = {kind: _file_object(stored, duration=req.int_param("duration"))}
            if kind == "animation":
                content["document"] = _file_object(stored)
            sent = self._deliver(
                req, chat, kind, content, text=caption, entities=entities, file=stored
            )
            return sent.raw

        return send

    async def _send_media_group(self, req: _Request) -> list[JSON]:
        chat = self._chat_for(req)
        media = req.obj_param("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _bad("wrong number of media in the group: must be 2-10")
        items: list[tuple[_Request, str, StoredFile, str | None, list[JSON]]] = []
        for index, item in enumerate(media):  # validate all before sending any
            if not isinstance(item, dict) or item.get("type") not in _MEDIA_KINDS:
                raise _bad(f"can't parse InputMedia: media #{index} has an unsupported type")
            kind = str(item["type"])
            sub = _Request(req.method, {**req.params, **item, kind: item.get("media")}, req.files)
            stored = self._resolve_file(sub, kind, kind)
            caption, entities = self._render_caption(sub)
            items.append((sub, kind, stored, caption, entities))
        self._check_flood(chat.id)  # an album counts as one message
        group_id = str(10**12 + len(self.calls))
        results: list[JSON] = []
        for sub, kind, stored, caption, entities in items:
            content: JSON = {"media_group_id": group_id}
            if kind == "photo":
                content["photo"] = _photo_sizes(stored, stored)
            else:
                content[kind] = _file_object(stored)
            sent = self._deliver(
                sub,
                chat,
                kind,
                content,
                text=caption,
                entities=entities,
                file=stored,
                check_flood=False,
            )
            results.append(sent.raw)
        return results

    async def _send_location(self, req: _Request) -> JSON:
        chat = self._chat_for(req)
        latitude, longitude = req.float_param("latitude"), req.float_param("longitude")
        if latitude is None or longitude is None:
            raise _bad("latitude and longitude must be specified")
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._deliver(req, chat, "location", content).raw

    async def _send_contact(self, req: _Request) -> JSON:
        chat = self._chat_for(req)
        phone, first = req.str_param("phone_number"), req.str_param("first_name")
        if not phone or not first:
            raise _bad("phone_number and first_name must be specified")
        content = {"contact": {"phone_number": phone, "first_name": first}}
        return self._deliver(req, chat, "contact", content).raw

    async def _send_chat_action(self, req: _Request) -> bool:
        self._chat_for(req)
        if req.str_param("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    async def _copy_message(self, req: _Request) -> JSON:
        chat = self._chat_for(req)
        source = self._source_message(req)
        text, entities = source.text, source.entities
        if "caption" in req.params:
            text, entities = self._render_caption(req)
        copy = self._deliver(
            req, chat, source.kind, source.content, text=text, entities=entities, file=source.file
        )
        return {"message_id": copy.message_id}

    async def _forward_message(self, req: _Request) -> JSON:
        chat = self._chat_for(req)
        source = self._source_message(req)
        origin = {"type": "user", "date": int(time.time()), "sender_user": source.sender}
        content = {**source.content, "forward_origin": origin}
        sent = self._deliver(
            req,
            chat,
            source.kind,
            content,
            text=source.text,
            entities=source.entities,
            file=source.file,
        )
        return sent.raw

    def _source_message(self, req: _Request) -> _Source:
        """The message copyMessage / forwardMessage take their content from."""
        chat = self._chat_for(req, "from_chat_id")
        message_id = req.require_int("message_id", "message identifier is not specified")
        sent = chat.by_id.get(message_id)
        if sent is not None and not sent.deleted:
            raw, kind, file = sent.raw, sent.kind, sent.file
        elif message_id in chat.from_user and not chat.from_user[message_id].deleted:
            raw, file = chat.from_user[message_id].raw, None
            kinds = ("text", *_MEDIA_KINDS, "location", "contact")
            kind = next((k for k in kinds if k in raw), "text")
        else:
            action = "copy" if req.method == "copyMessage" else "forward"
            raise _bad(f"message to {action} not found")
        return _Source(
            kind=kind,
            content={k: v for k, v in raw.items() if k in (*_MEDIA_KINDS, "location", "contact")},
            text=raw.get("text", raw.get("caption")),
            entities=list(raw.get("entities") or raw.get("caption_entities") or []),
            file=file,
            sender=dict(raw.get("from") or self._bot_user()),
        )

    async def _get_file(self, req: _Request) -> JSON:
        file_id = req.str_param("file_id")
        stored = self._files.get(file_id or "")
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_SIZE:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _commands_key(self, req: _Request) -> str:
        scope = req.obj_param("scope") or {"type": "default"}
        return f"{json.dumps(scope, sort_keys=True)}|{req.str_param('language_code') or ''}"

    async def _set_my_commands(self, req: _Request) -> bool:
        commands = req.obj_param("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be an array of at most 100 BotCommand")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(
                str(command.get("command", ""))
            ):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(req)] = commands
        return True

    async def _delete_my_commands(self, req: _Request) -> bool:
        self.commands.pop(self._commands_key(req), None)
        return True

    async def _get_my_commands(self, req: _Request) -> list[JSON]:
        return self.commands.get(self._commands_key(req), [])

    async def _set_chat_menu_button(self, req: _Request) -> bool:
        chat_id = req.int_param("chat_id")
        button = req.obj_param("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise _bad("can't parse menu button")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, req: _Request) -> JSON:
        chat_id = req.int_param("chat_id")
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "commands"}


# --------------------------------------------------------------------------------------------
# Helpers


async def _read_params(request: web.Request) -> tuple[JSON, dict[str, UploadedPart]]:
    """Parameters from the query string and a JSON, url-encoded or multipart body, decoded."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedPart] = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                raw.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedPart(
                        key, value.filename, value.content_type, value.file.read()
                    )
                elif isinstance(value, bytes | bytearray):
                    raw[key] = bytes(value).decode("utf-8", "replace")
                else:
                    raw[key] = value
    return {key: _decode_param(key, value) for key, value in raw.items()}, files


def _gone(request: web.Request) -> Callable[[], bool]:
    """Whether the client of ``request`` closed its connection."""

    def gone() -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()

    return gone


def _decode_param(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in _RAW_STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _error_response(error: _ApiError) -> web.Response:
    body: JSON = {"ok": False, "error_code": error.code, "description": error.description}
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    return web.json_response(body, status=error.code)


def _as_predicate(
    predicate: Callable[[SentMessage], bool] | str | None,
) -> Callable[[SentMessage], bool]:
    if predicate is None:
        return lambda _message: True
    if isinstance(predicate, str):
        needle = predicate
        return lambda m: needle in (m.text or "") or needle in (m.source_text or "")
    return predicate


def _describe_call(call: ApiCall) -> str:
    outcome = (
        "pending"
        if call.ok is None
        else "ok"
        if call.ok
        else f"{call.error_code} {call.description}"
    )
    params = {k: _short(str(v), 60) for k, v in call.params.items()}
    return f"{call.method} {params} -> {outcome}"


@contextlib.asynccontextmanager
async def run_emulator(
    token: str = "123456:TEST-TOKEN",
    *,
    bot_username: str = "cppcc_test_bot",
    enforce_limits: bool = True,
    global_rate: float = 30.0,
    global_burst: int = 30,
    per_chat_rate: float = 1.0,
    per_chat_burst: int = 5,
    group_per_minute: int = 20,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[BotApiEmulator]:
    """A started `BotApiEmulator`, stopped on exit."""
    emulator = BotApiEmulator(
        token,
        bot_username=bot_username,
        enforce_limits=enforce_limits,
        global_rate=global_rate,
        global_burst=global_burst,
        per_chat_rate=per_chat_rate,
        per_chat_burst=per_chat_burst,
        group_per_minute=group_per_minute,
        clock=clock,
    )
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
