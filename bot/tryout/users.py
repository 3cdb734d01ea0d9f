"""Simulated Telegram users: what they send the bot (messages, contacts, files, button presses,
in private chats or groups), queued as updates, and blocking or unblocking the bot."""

from __future__ import annotations

import enum
import time
from typing import Literal

from bot.telegram_text import utf16_len
from bot.tryout.entities import Chat, SentMessage, UserMessage, short
from bot.tryout.files import FileStore, file_object, photo_sizes
from bot.tryout.protocol import JSON, ApiError
from bot.tryout.state import EmulatorState
from bot.tryout.updates import UpdateQueue

BLOCKED_DESCRIPTION = "Forbidden: bot was blocked by the user"


class _Own(enum.Enum):
    ID = enum.auto()


_OWN_ID: Literal[_Own.ID] = _Own.ID


class SimUser:
    """A Telegram user talking to the bot in a private chat (chat id == user id)."""

    def __init__(
        self,
        users: Users,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        self._users = users
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

    def private_chat(self) -> JSON:
        """The Chat object of this user's private chat with the bot."""
        raw: JSON = {"id": self.user_id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            raw["last_name"] = self.last_name
        if self.username:
            raw["username"] = self.username
        return raw

    def messages(self) -> list[SentMessage]:
        """Messages the bot sent to this user (shortcut for `BotApiEmulator.messages_to`)."""
        return self._users.state.messages_to(self.user_id)

    async def send_text(self, text: str) -> int:
        """Send a text message; ``/cmd args`` gets a bot_command entity.  Returns update_id."""
        content: JSON = {"text": text}
        if text.startswith("/") and len(text) > 1:
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
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
        files = self._users.files
        big = files.register(data, kind="photo", mime_type="image/jpeg")
        small = files.register(data, kind="photo", mime_type="image/jpeg")
        content: JSON = {"photo": photo_sizes(small, big)}
        if caption is not None:
            content["caption"] = caption
        return self._send(content, f"[photo {len(data)} B] {caption or ''}")

    async def send_document(
        self, data: bytes, file_name: str, mime_type: str, caption: str | None = None
    ) -> int:
        """Send a document; downloadable through getFile."""
        stored = self._users.files.register(
            data, kind="document", file_name=file_name, mime_type=mime_type
        )
        content: JSON = {"document": file_object(stored)}
        if caption is not None:
            content["caption"] = caption
        return self._send(content, f"[document {file_name} {len(data)} B] {caption or ''}")

    async def send_voice(self, data: bytes, duration: int = 3, caption: str | None = None) -> int:
        """Send a voice note; downloadable through getFile."""
        stored = self._users.files.register(data, kind="voice", mime_type="audio/ogg")
        content: JSON = {"voice": file_object(stored, duration=duration)}
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
        current = self._users.state.message(message.chat_id, message.message_id) or message
        for candidate in current.inline_buttons():
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
        return self._users.callback(self, message_id, data)

    async def send_text_in_group(self, chat_id: int, text: str) -> int:
        """Post ``text`` in a group chat (``chat_id`` < 0; ``-100…`` is a supergroup) the bot is
        a member of; ``/cmd`` gets a bot_command entity.  Returns update_id."""
        content: JSON = {"text": text}
        if text.startswith("/") and len(text) > 1:
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return self._users.group_message(self, chat_id, content, text)

    async def send_callback_in_group(self, chat_id: int, message_id: int, data: str) -> int:
        """Press (or forge) an inline button on message ``message_id`` of a group chat."""
        return self._users.callback(self, message_id, data, chat_id=chat_id)

    def _send(self, content: JSON, log_text: str) -> int:
        return self._users.private_message(self, content, log_text)


class Users:
    """The simulated users, and their side of the chats, queued as updates for the bot."""

    def __init__(self, state: EmulatorState, files: FileStore, updates: UpdateQueue) -> None:
        self.state = state
        self.files = files
        self.updates = updates
        self._users: dict[int, SimUser] = {}

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
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
        chat = self.state.chat(user_id)
        chat.raw = sim.private_chat()
        return sim

    # ---------------------------------------------------------------- blocking the bot

    def block(self, chat_id: int, *, description: str, send_update: bool) -> None:
        chat = self.state.chat(chat_id)
        chat.blocked = description
        chat.log.append("-> user blocked the bot")
        if send_update:
            self._queue_member_update(chat, "member", "kicked")

    def unblock(self, chat_id: int, *, send_update: bool) -> None:
        chat = self.state.chat(chat_id)
        chat.blocked = None
        chat.log.append("-> user unblocked the bot")
        if send_update:
            self._queue_member_update(chat, "kicked", "member")

    def raise_blocked(self, method: str, params: JSON) -> None:
        """A call to a chat whose user blocked the bot answers 403."""
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int) or method in ("getUpdates", "getMe"):
            return
        chat = self.state.chats.get(chat_id)
        if chat is not None and chat.blocked:
            raise ApiError(403, chat.blocked)

    def _queue_member_update(self, chat: Chat, old: str, new: str) -> None:
        user = self._users.get(chat.id)
        sender = user.to_dict() if user else {"id": chat.id, "is_bot": False, "first_name": "?"}
        now = int(time.time())
        bot_user = self.state.bot_user
        self.updates.queue(
            {
                "update_id": self.updates.take_update_id(),
                "my_chat_member": {
                    "chat": dict(chat.raw),
                    "from": sender,
                    "date": now,
                    "old_chat_member": {"status": old, "user": bot_user()},
                    "new_chat_member": {"status": new, "user": bot_user(), "until_date": 0}
                    if new == "kicked"
                    else {"status": new, "user": bot_user()},
                },
            }
        )

    # ---------------------------------------------------------------- messages and presses

    def _active(self, user: SimUser) -> Chat:
        """The user's private chat; writing to the bot unblocks it, as in Telegram."""
        chat = self.state.chat(user.user_id)
        chat.raw = user.private_chat()
        if chat.blocked:
            chat.blocked = None
            chat.log.append("-> user unblocked the bot")
        return chat

    def private_message(self, user: SimUser, content: JSON, log_text: str) -> int:
        chat = self._active(user)
        return self._queue_message(chat, user, content, f"user #{{id}}: {short(log_text)}")

    def group_message(self, user: SimUser, chat_id: int, content: JSON, log_text: str) -> int:
        if chat_id >= 0:
            raise ValueError("a group chat id is negative")
        chat = self.state.chat(chat_id)
        label = f"{user.first_name} #{{id}}: {short(log_text)}"
        return self._queue_message(chat, user, content, label)

    def _queue_message(self, chat: Chat, user: SimUser, content: JSON, log_label: str) -> int:
        """A message from `user` in `chat`, queued as an update; `log_label` names it in the
        chat's transcript ({id} becomes its message id)."""
        message: JSON = {
            "message_id": chat.take_message_id(),
            "from": user.to_dict(),
            "chat": dict(chat.raw),
            "date": int(time.time()),
            **content,
        }
        chat.from_user[message["message_id"]] = UserMessage(message)
        chat.log.append("-> " + log_label.replace("{id}", str(message["message_id"])))
        update_id = self.updates.take_update_id()
        self.updates.queue({"update_id": update_id, "message": message})
        return update_id

    def callback(
        self, user: SimUser, message_id: int, data: str, *, chat_id: int | None = None
    ) -> int:
        """A press on message ``message_id`` (of the user's chat, or group ``chat_id``)."""
        chat = self._active(user) if chat_id is None else self.state.chat(chat_id)
        update_id = self.updates.take_update_id()
        query_id = str(update_id)
        sent = self.state.find_sent(chat, message_id)
        if sent is not None and not sent.deleted:
            message = dict(sent.raw)
        else:  # an inaccessible message, as Telegram sends for old or unknown ones
            message = {"chat": dict(chat.raw), "message_id": message_id, "date": 0}
        query: JSON = {
            "id": query_id,
            "from": user.to_dict(),
            "message": message,
            "chat_instance": str(abs(hash((self.state.bot_id, chat.id))) % 10**18),
            "data": data,
        }
        self.state.pending_callbacks.add(query_id)
        self.state.callback_chats[query_id] = chat.id
        label = data
        if sent is not None:
            label = next(
                (
                    b.get("text", data)
                    for b in sent.inline_buttons()
                    if b.get("callback_data") == data
                ),
                data,
            )
        chat.log.append(f"-> user tapped {label!r} (data={data!r}) on #{message_id}")
        self.updates.queue({"update_id": update_id, "callback_query": query})
        return update_id
