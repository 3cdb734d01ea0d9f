"""The bot's messages: the Bot API methods that send, edit, copy, forward and delete them, and
answerCallbackQuery.

Editing text or caption without ``reply_markup`` removes the inline keyboard (as Telegram does);
an edit that changes nothing answers "message is not modified". Message ids are per chat and
shared by user and bot messages.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.tryout.entities import (
    Chat,
    MessageVersion,
    SentMessage,
    apply_content,
    markup,
    render_caption,
    render_text,
    reply_to,
    short,
)
from bot.tryout.files import FileStore, StoredFile, file_object, photo_sizes
from bot.tryout.limits import MAX_POPUP_LENGTH, FloodLimits, check_length
from bot.tryout.protocol import JSON, Handler, Request, bad
from bot.tryout.state import EmulatorState

# fmt: off
_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
# fmt: on
_MEDIA_KINDS = ("document", "photo", "voice", "audio", "video", "animation")


@dataclass
class _Source:
    """Content of a message being copied or forwarded."""

    kind: str
    content: JSON
    text: str | None
    entities: list[JSON]
    file: StoredFile | None
    sender: JSON


class MessageMethods:
    """sendMessage, the media sends, edits, deleteMessage, copy/forward, answerCallbackQuery."""

    def __init__(self, state: EmulatorState, files: FileStore, flood: FloodLimits) -> None:
        self.state = state
        self.files = files
        self.flood = flood

    def methods(self) -> dict[str, Handler]:
        return {
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
        }

    # ---------------------------------------------------------------- sending

    def _deliver(
        self,
        req: Request,
        chat: Chat,
        kind: str,
        content: JSON,
        *,
        text: str | None = None,
        entities: list[JSON] | None = None,
        file: StoredFile | None = None,
        check_flood: bool = True,
    ) -> SentMessage:
        keyboard = markup(req)
        reply_to_id = reply_to(req, chat)
        if check_flood:
            self.flood.check(chat.id)
        message_id = chat.take_message_id()
        sent = SentMessage(
            message_id=message_id,
            chat_id=chat.id,
            kind=kind,
            text=text,
            source_text=req.str_param("text" if kind == "text" else "caption"),
            parse_mode=req.str_param("parse_mode"),
            entities=entities or [],
            reply_markup=keyboard,
            file=file,
            raw={},
            params=req.params,
            sent_at=self.state.clock(),
            reply_to_message_id=reply_to_id,
        )
        sent.raw = {
            "message_id": message_id,
            "from": self.state.bot_user(),
            "chat": dict(chat.raw),
            "date": int(time.time()),
            **content,
        }
        if reply_to_id is not None:
            original = chat.by_id.get(reply_to_id)
            sent.raw["reply_to_message"] = (
                dict(original.raw) if original else dict(chat.from_user[reply_to_id].raw)
            )
        apply_content(sent)
        chat.sent.append(sent)
        chat.by_id[message_id] = sent
        self.state.stats.messages_sent[chat.id] += 1
        buttons = sent.buttons() or sent.keyboard_texts()
        chat.log.append(
            f"<- bot #{message_id} [{kind}]: {short(text)}"
            + (f" [buttons: {' | '.join(buttons)}]" if buttons else "")
            + (f" [file {file.file_name or file.file_id}, {len(file.data)} B]" if file else "")
        )
        self.state.emit("sent", sent)
        return sent

    async def _send_message(self, req: Request) -> JSON:
        chat = self.state.chat_for(req)
        text, entities = render_text(req)
        return self._deliver(req, chat, "text", {}, text=text, entities=entities).raw

    def _media_sender(self, kind: str) -> Handler:
        async def send(req: Request) -> JSON:
            chat = self.state.chat_for(req)
            caption, entities = render_caption(req)
            stored = self.files.resolve(req, kind, kind)
            content: JSON
            if kind == "photo":
                content = {"photo": photo_sizes(stored, stored)}
            else:
                content = {kind: file_object(stored, duration=req.int_param("duration"))}
            if kind == "animation":
                content["document"] = file_object(stored)
            sent = self._deliver(
                req, chat, kind, content, text=caption, entities=entities, file=stored
            )
            return sent.raw

        return send

    async def _send_media_group(self, req: Request) -> list[JSON]:
        chat = self.state.chat_for(req)
        media = req.obj_param("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad("wrong number of media in the group: must be 2-10")
        items: list[tuple[Request, str, StoredFile, str | None, list[JSON]]] = []
        for index, item in enumerate(media):  # validate all before sending any
            if not isinstance(item, dict) or item.get("type") not in _MEDIA_KINDS:
                raise bad(f"can't parse InputMedia: media #{index} has an unsupported type")
            kind = str(item["type"])
            sub = Request(req.method, {**req.params, **item, kind: item.get("media")}, req.files)
            stored = self.files.resolve(sub, kind, kind)
            caption, entities = render_caption(sub)
            items.append((sub, kind, stored, caption, entities))
        self.flood.check(chat.id)  # an album counts as one message
        group_id = str(10**12 + len(self.state.calls))
        results: list[JSON] = []
        for sub, kind, stored, caption, entities in items:
            content: JSON = {"media_group_id": group_id}
            if kind == "photo":
                content["photo"] = photo_sizes(stored, stored)
            else:
                content[kind] = file_object(stored)
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

    async def _send_location(self, req: Request) -> JSON:
        chat = self.state.chat_for(req)
        latitude, longitude = req.float_param("latitude"), req.float_param("longitude")
        if latitude is None or longitude is None:
            raise bad("latitude and longitude must be specified")
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._deliver(req, chat, "location", content).raw

    async def _send_contact(self, req: Request) -> JSON:
        chat = self.state.chat_for(req)
        phone, first = req.str_param("phone_number"), req.str_param("first_name")
        if not phone or not first:
            raise bad("phone_number and first_name must be specified")
        content = {"contact": {"phone_number": phone, "first_name": first}}
        return self._deliver(req, chat, "contact", content).raw

    async def _send_chat_action(self, req: Request) -> bool:
        self.state.chat_for(req)
        if req.str_param("action") not in _CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        return True

    # ---------------------------------------------------------------- copying and forwarding

    async def _copy_message(self, req: Request) -> JSON:
        chat = self.state.chat_for(req)
        source = self._source_message(req)
        text, entities = source.text, source.entities
        if "caption" in req.params:
            text, entities = render_caption(req)
        copy = self._deliver(
            req, chat, source.kind, source.content, text=text, entities=entities, file=source.file
        )
        return {"message_id": copy.message_id}

    async def _forward_message(self, req: Request) -> JSON:
        chat = self.state.chat_for(req)
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

    def _source_message(self, req: Request) -> _Source:
        """The message copyMessage / forwardMessage take their content from."""
        chat = self.state.chat_for(req, "from_chat_id")
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
            raise bad(f"message to {action} not found")
        return _Source(
            kind=kind,
            content={k: v for k, v in raw.items() if k in (*_MEDIA_KINDS, "location", "contact")},
            text=raw.get("text", raw.get("caption")),
            entities=list(raw.get("entities") or raw.get("caption_entities") or []),
            file=file,
            sender=dict(raw.get("from") or self.state.bot_user()),
        )

    # ---------------------------------------------------------------- editing and deleting

    def _editable(self, req: Request) -> tuple[Chat, SentMessage]:
        if req.params.get("inline_message_id") is not None:
            raise bad("inline messages are not emulated")
        chat = self.state.chat_for(req)
        message_id = req.require_int("message_id", "message identifier is not specified")
        sent = self.state.find_sent(chat, message_id)
        if sent is None or sent.deleted:
            if message_id in chat.from_user:
                raise bad("message can't be edited")
            raise bad("message to edit not found")
        return chat, sent

    def _edit(
        self,
        chat: Chat,
        sent: SentMessage,
        text: str | None,
        source: str | None,
        entities: list[JSON],
        keyboard: JSON | None,
        parse_mode: str | None,
    ) -> JSON:
        inline = keyboard if keyboard and "inline_keyboard" in keyboard else None
        current = (
            sent.reply_markup
            if sent.reply_markup and "inline_keyboard" in sent.reply_markup
            else None
        )
        if (text, entities, inline) == (sent.text, sent.entities, current):
            raise bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        now = self.state.clock()
        sent.history.append(
            MessageVersion(sent.text, sent.source_text, sent.entities, sent.reply_markup, now)
        )
        sent.text, sent.source_text, sent.entities = text, source, entities
        # A reply keyboard is not part of the message and stays; an inline one is replaced.
        sent.reply_markup = inline or (None if current else sent.reply_markup)
        sent.parse_mode, sent.edited_at = parse_mode, now
        sent.raw["edit_date"] = int(time.time())
        apply_content(sent)
        buttons = sent.buttons()
        chat.log.append(
            f"<- bot edited #{sent.message_id}: {short(text)}"
            + (f" [buttons: {' | '.join(buttons)}]" if buttons else "")
        )
        self.state.emit("edited", sent)
        return dict(sent.raw)

    async def _edit_message_text(self, req: Request) -> JSON:
        chat, sent = self._editable(req)
        if sent.kind != "text":
            raise bad("there is no text in the message to edit")
        text, entities = render_text(req)
        keyboard = markup(req)
        return self._edit(
            chat, sent, text, req.str_param("text"), entities, keyboard, req.str_param("parse_mode")
        )

    async def _edit_message_caption(self, req: Request) -> JSON:
        chat, sent = self._editable(req)
        if sent.kind in ("text", "location", "contact"):
            raise bad("there is no caption in the message to edit")
        caption, entities = render_caption(req)
        keyboard = markup(req)
        return self._edit(
            chat,
            sent,
            caption,
            req.str_param("caption"),
            entities,
            keyboard,
            req.str_param("parse_mode"),
        )

    async def _edit_message_reply_markup(self, req: Request) -> JSON:
        chat, sent = self._editable(req)
        keyboard = markup(req)
        return self._edit(
            chat, sent, sent.text, sent.source_text, sent.entities, keyboard, sent.parse_mode
        )

    async def _delete_message(self, req: Request) -> bool:
        chat = self.state.chat_for(req)
        message_id = req.require_int("message_id", "message identifier is not specified")
        sent = self.state.find_sent(chat, message_id)
        if sent is not None and not sent.deleted:
            sent.deleted = True
            chat.log.append(f"<- bot deleted #{message_id}")
            self.state.emit("deleted", sent)
            return True
        user_message = chat.from_user.get(message_id)
        if user_message is not None and not user_message.deleted:
            user_message.deleted = True
            chat.log.append(f"<- bot deleted user message #{message_id}")
            return True
        raise bad("message to delete not found")

    # ---------------------------------------------------------------- callback queries

    async def _answer_callback_query(self, req: Request) -> bool:
        query_id = req.str_param("callback_query_id")
        if not query_id:
            raise bad("callback_query_id is empty")
        if query_id not in self.state.pending_callbacks:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        text = req.str_param("text")
        if text is not None:
            check_length(text, MAX_POPUP_LENGTH, "MESSAGE_TOO_LONG")
        self.state.pending_callbacks.discard(query_id)
        self.state.callback_answers[query_id] = dict(req.params)
        chat_id = self.state.callback_chats.pop(query_id, None)
        if chat_id is not None:
            for listener in self.state.answer_listeners:
                listener(chat_id, dict(req.params))
        return True
