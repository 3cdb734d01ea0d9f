"""Chats and messages as the emulator keeps them, and how Telegram checks what the bot sends.

`SentMessage` is a bot message in its current state (with its edit history); `Chat` holds a
chat's messages from both sides and its transcript. The checks turn a send's parameters into
what Telegram stores: text or caption parsed by ``parse_mode`` (HTML like Telegram, entities),
length-checked, the inline keyboard validated, the replied-to message found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.telegram_text import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, EntityParseError, parse_html
from bot.tryout.files import StoredFile
from bot.tryout.limits import callback_data_fits, check_length
from bot.tryout.protocol import JSON, Request, bad


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
        return [button.get("text", "") for button in self.inline_buttons()]

    def keyboard_texts(self) -> list[str]:
        """Texts of the reply keyboard's buttons, row by row."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [b if isinstance(b, str) else str(b.get("text", "")) for row in rows for b in row]

    def callback_for(self, text: str) -> str:
        """The callback_data of the inline button labelled ``text``."""
        for button in self.inline_buttons():
            if button.get("text") == text and "callback_data" in button:
                return str(button["callback_data"])
        raise AssertionError(
            f"no inline button {text!r} with callback data on message #{self.message_id}; "
            f"buttons: {self.buttons()}"
        )

    def inline_buttons(self) -> list[JSON]:
        """The inline keyboard's buttons (objects), row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [b for row in rows for b in row if isinstance(b, dict)]


@dataclass
class UserMessage:
    """A message from a user (or injected), kept so the bot can reply to, copy or delete it."""

    raw: JSON
    deleted: bool = False


@dataclass
class Chat:
    id: int
    raw: JSON  # the Chat object
    next_message_id: int = 1
    sent: list[SentMessage] = field(default_factory=list)
    by_id: dict[int, SentMessage] = field(default_factory=dict)
    from_user: dict[int, UserMessage] = field(default_factory=dict)
    blocked: str | None = None  # 403 description while the user has blocked the bot
    log: list[str] = field(default_factory=list)
    # Message ids from a shared source (several emulators on one store), else counted here.
    id_source: Callable[[], int] | None = None

    def take_message_id(self) -> int:
        if self.id_source is not None:
            return self.id_source()
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


def short(text: str | None, limit: int = 300) -> str:
    """``text`` on one line, cut to ``limit`` characters (for transcripts)."""
    text = (text or "").replace("\n", "⏎")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# What the bot sends, checked as Telegram does


def _render(req: Request, key: str, limit: int, too_long: str) -> tuple[str, list[JSON]]:
    """Text or caption as Telegram stores it: parsed by parse_mode, checked for length."""
    source = req.str_param(key) or ""
    parse_mode = req.str_param("parse_mode")
    entities_key = "entities" if key == "text" else "caption_entities"
    if parse_mode and parse_mode.lower() == "html":
        try:
            text, entities = parse_html(source)
        except EntityParseError as exc:
            raise bad(f"can't parse entities: {exc}") from None
    elif parse_mode and parse_mode.lower() not in ("markdown", "markdownv2"):
        raise bad(f"unsupported parse_mode {parse_mode!r}")
    else:
        text = source
        entities = list(req.obj_param(entities_key) or [])
    # Telegram counts the visible text (after parsing) in UTF-16 code units.
    check_length(text, limit, too_long)
    return text, entities


def render_text(req: Request) -> tuple[str, list[JSON]]:
    """The ``text`` of a send or edit, as shown, with its entities."""
    if not (req.str_param("text") or "").strip():
        raise bad("message text is empty")
    text, entities = _render(req, "text", MAX_TEXT_LENGTH, "message is too long")
    if not text.strip():
        raise bad("message text is empty")
    return text, entities


def render_caption(req: Request) -> tuple[str | None, list[JSON]]:
    """The ``caption`` of a send or edit, as shown, with its entities (None: no caption)."""
    if req.params.get("caption") is None:
        return None, []
    return _render(req, "caption", MAX_CAPTION_LENGTH, "message caption is too long")


def markup(req: Request) -> JSON | None:
    """The ``reply_markup`` of a call, an inline keyboard checked as Telegram does."""
    value = req.obj_param("reply_markup")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    rows = value.get("inline_keyboard")
    if rows is not None:
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad("can't parse inline keyboard button: field must be an Array")
        for button in (b for row in rows for b in row):
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise bad("can't parse inline keyboard button: Text must be non-empty")
            data = button.get("callback_data")
            if data is not None and not callback_data_fits(data):
                raise bad("BUTTON_DATA_INVALID")
            if len(button) < 2:
                raise bad("text buttons are unallowed in the inline keyboard")
    return value


def reply_to(req: Request, chat: Chat) -> int | None:
    """The message a send replies to (None: none, or a missing one it may do without)."""
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
        raise bad("message to be replied not found")
    return int(reply_to) if exists else None


def apply_content(sent: SentMessage) -> None:
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
