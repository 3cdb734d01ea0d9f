"""Outbox rows as Telegram messages: the text in the recipient's language (Telegram HTML),
the buttons, and a photo or document when the row carries one; sent through the Bot API.

The delivery worker (bot/delivery.py) decides when and whether a row goes; this decides what
Telegram receives. A file goes up once: after its first upload it is sent by Telegram's id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message

from bot import outbox_render
from bot.channels import chat_of
from bot.i18n import Texts
from bot.telegram_text import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, truncate_html, visible_len
from storage.outbox import Claimed

CAPTION_LIMIT = MAX_CAPTION_LENGTH  # visible text, in UTF-16 units as Telegram counts


class TelegramSender:
    def __init__(self, bot: Bot, texts: Texts) -> None:
        self.bot = bot
        self.texts = texts
        self._file_ids: dict[str, str] = {}  # uploaded path -> file_id, so a file goes up once

    async def send(self, row: Claimed, locale: str) -> Message:
        text = self._render(row, locale)
        markup = self._markup(row, locale)
        attachment = row.attachment
        if not attachment:
            return await self.bot.send_message(chat_of(row.address), text, reply_markup=markup)
        kind = attachment.get("type", "document")
        fits = visible_len(text) <= CAPTION_LIMIT
        caption = text if fits and text else None
        file_markup = markup if fits else None
        sender: Callable[..., Awaitable[Message]]
        if kind == "photo":
            sender, field_name = self.bot.send_photo, "photo"
        else:
            sender, field_name = self.bot.send_document, "document"
        source, cache_key = self._file_source(attachment)
        sent = await sender(
            chat_of(row.address), **{field_name: source}, caption=caption, reply_markup=file_markup
        )
        if cache_key is not None:
            file_id = _file_id(sent)
            if file_id:
                self._file_ids[cache_key] = file_id
        if fits or not text:
            return sent
        # Longer than a caption: the file first, then the whole text with the buttons.
        return await self.bot.send_message(chat_of(row.address), text, reply_markup=markup)

    def _file_source(self, attachment: dict[str, Any]) -> tuple[Any, str | None]:
        file_id = attachment.get("file_id")
        if file_id:
            return file_id, None
        path = str(attachment.get("path") or "")
        if path in self._file_ids:
            return self._file_ids[path], None
        data = Path(path).read_bytes()
        return InputFile(data, filename=attachment.get("filename") or Path(path).name), path

    def _render(self, row: Claimed, locale: str) -> str:
        text = outbox_render.text_of(
            self.texts,
            locale,
            template=row.template,
            params=row.params,
            text=row.text,
            html=True,
        )
        if row.text is not None:
            return text
        # A schedule or digest listing many long titles could outgrow a message; shortened,
        # it is delivered instead of being refused on every try.
        return truncate_html(text, MAX_TEXT_LENGTH)

    def _markup(self, row: Claimed, locale: str) -> InlineKeyboardMarkup | None:
        if not row.buttons:
            return None
        rows = []
        for spec_row in row.buttons:
            buttons = []
            for spec in spec_row:
                label = outbox_render.label_of(self.texts, locale, spec)
                if "url" in spec:
                    buttons.append(InlineKeyboardButton(label, url=spec["url"]))
                else:
                    buttons.append(InlineKeyboardButton(label, callback_data=spec["data"]))
            rows.append(buttons)
        return InlineKeyboardMarkup(rows)


def _file_id(message: Message) -> str | None:
    if message.photo:
        return message.photo[-1].file_id
    if message.document:
        return message.document.file_id
    return None
