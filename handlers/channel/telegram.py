"""The Telegram adapter and renderer of the channel seam.

Views become Telegram HTML with an inline keyboard whose callback data is the encoded action;
a button press is acknowledged with Telegram's pop-up. The Update and the per-update context
stay reachable (`update`, `ctx`) for the flows not yet written against the seam.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from telegram import (
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, TelegramError

from bot.channels import TELEGRAM, chat_of, telegram_account, telegram_address
from bot.context import BotContext, NotBound
from bot.telegram_text import MAX_CAPTION_LENGTH, visible_len
from handlers.channel.render import body_of, label_of, labels_of
from handlers.channel.turn import DownloadFailed, Posted, Turn
from handlers.channel.views import Action, Button, View
from handlers.replies import Markup, answer_callback, edit_or_send, inline, say, send_text
from storage.dialogs import Dialog
from storage.identities import Account
from storage.members import MemberRef

log = logging.getLogger(__name__)


def render(ctx: BotContext, view: View) -> tuple[str, InlineKeyboardMarkup | None]:
    """A view as Telegram HTML and its inline keyboard, in the viewer's language."""
    text = body_of(ctx.texts, ctx.locale, view, html=True)
    rows = labels_of(ctx.texts, ctx.locale, view)
    return text, inline(rows) if rows else None


class TelegramTurn(Turn):
    def __init__(self, update: Update, ctx: BotContext) -> None:
        self.update = update
        self.ctx = ctx
        message = update.effective_message
        query = update.callback_query
        super().__init__(
            ctx.runtime,
            account_of(update, ctx),
            viewer=ctx.viewer,
            dialog=ctx.dialog,
            locale=ctx.locale,
            text=(message.text or message.caption) if message and not query else None,
            action=Action.decode(query.data) if query else None,
            media=media_of(message) if message and not query else None,
            location=(
                (message.location.latitude, message.location.longitude)
                if message and message.location and not query
                else None
            ),
        )

    @property
    def formatted_text(self) -> str | None:
        """Worked out when asked (composing a notice): it re-renders the message's entities."""
        message = self.update.effective_message
        if message is None or self.update.callback_query is not None:
            return None
        return formatted_of(message)

    @formatted_text.setter
    def formatted_text(self, value: str | None) -> None:
        pass  # always read from the message

    # The dialog is the per-update context's, so Telegram-only handlers see every change.
    @property
    def dialog(self) -> Dialog | None:
        return self.ctx.dialog

    @dialog.setter
    def dialog(self, value: Dialog | None) -> None:
        self.ctx.dialog = value

    # So are the viewer and their language: a flow that binds the account or changes its
    # language mid-turn answers in the new one, with the menu of the member it now is.
    @property
    def viewer(self) -> MemberRef | None:
        return self.ctx.viewer

    @viewer.setter
    def viewer(self, value: MemberRef | None) -> None:
        self.ctx.viewer = value

    @property
    def locale(self) -> str | None:
        return self.ctx.locale

    @locale.setter
    def locale(self, value: str | None) -> None:
        self.ctx.locale = value

    async def reply(self, view: View) -> Posted | None:
        text, markup = render(self.ctx, view)
        keyboard: Markup = markup or self._keyboard(view)
        if view.file is not None:
            await self._send_file(view, text, keyboard)
            return None
        sent = await send_text(self.update, self.ctx, text, markup=keyboard)
        if sent is None:
            return None
        return Posted(telegram_address(sent.chat_id), str(sent.message_id))

    async def edit(self, view: View) -> None:
        if view.file is not None or view.request is not None or view.menu:
            await self.reply(view)
            return
        text, markup = render(self.ctx, view)
        await edit_or_send(self.update, self.ctx, text, markup=markup)

    async def try_reply(self, view: View) -> bool:
        try:
            await self.reply(view)
        except TelegramError as exc:
            log.warning("a message could not be sent: %s", exc)
            return False
        return True

    async def edit_buttons(self, buttons: Sequence[Sequence[Button]]) -> None:
        query = self.update.callback_query
        if query is None:
            return
        rows = labels_of(self.ctx.texts, self.ctx.locale, View([], buttons))
        try:
            await query.edit_message_reply_markup(inline(rows) if rows else None)
        except BadRequest as exc:
            # "not modified": it already shows them (a double tap); others: the message is
            # gone or too old, and the pop-up already said what changed.
            if "not modified" not in str(exc).lower():
                log.debug("buttons of the pressed message could not be changed: %s", exc)

    async def edit_posted(self, posted: Posted, view: View) -> None:
        if posted.at.channel != TELEGRAM:
            return
        text, markup = render(self.ctx, view)
        try:
            await self.ctx.bot.edit_message_text(
                text,
                chat_id=chat_of(posted.at.address),
                message_id=int(posted.message_id),
                reply_markup=markup,
            )
        except BadRequest as exc:
            log.debug("message %s could not be edited: %s", posted.message_id, exc)

    def link(self, payload: str) -> str:
        return self.ctx.deep_link(payload)

    def _keyboard(self, view: View) -> Markup:
        """A reply keyboard: the main menu, a one-tap contact or location request, or none."""
        if view.request is not None:
            label = label_of(self.ctx.texts, self.ctx.locale, view.request.label)
            button = KeyboardButton(
                label,
                request_contact=view.request.what == "contact",
                request_location=view.request.what == "location",
            )
            return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
        if view.menu:
            return self.ctx.wiring.keyboard(self.ctx)
        if view.close_request:
            return ReplyKeyboardRemove()
        return None

    async def _send_file(self, view: View, text: str, keyboard: Markup) -> None:
        """The file with the text as its caption where it fits; else the file, then the text."""
        chat = self.update.effective_chat
        assert view.file is not None and chat is not None
        item = view.file
        # A file Telegram already holds goes again by its file_id (nothing is uploaded).
        data = item.ref if item.ref is not None else InputFile(item.content(), filename=item.name)
        fits = bool(text) and visible_len(text) <= MAX_CAPTION_LENGTH
        caption = text if fits else None
        markup = keyboard if fits else None
        bot = self.ctx.bot
        if item.kind == "photo":
            await bot.send_photo(chat.id, data, caption=caption, reply_markup=markup)
        elif item.kind == "voice":
            await bot.send_voice(chat.id, data, caption=caption, reply_markup=markup)
        else:
            await bot.send_document(chat.id, data, caption=caption, reply_markup=markup)
        if text and not fits:
            await send_text(self.update, self.ctx, text, markup=keyboard)

    async def download(self, media: dict[str, Any]) -> bytes:
        try:
            file = await self.ctx.bot.get_file(media["file_id"])
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            raise DownloadFailed(str(exc)) from exc

    async def notify(self, key: str, /, *, alert: bool = False, **params: Any) -> None:
        if self.update.callback_query is not None:
            try:
                await answer_callback(self.update, self.ctx, key, alert=alert, **params)
                return
            except BadRequest:
                pass  # the press can no longer be answered (too old): say it in the chat
        await say(self.update, self.ctx, key, **params)


def formatted_of(message: Message) -> str | None:
    """The message's text (or its file's caption) as Telegram HTML, with the sender's own
    formatting (bold, links...) kept."""
    if message.text is not None:
        return message.text_html
    if message.caption is not None:
        return message.caption_html
    return None


def account_of(update: Update, ctx: BotContext) -> Account:
    """The account the update came from: as identity resolved it, or, when resolving failed
    (the database was down, and the error handler has said so), as the update names it, so a
    command that needs no database (/help, /start's "share your number") still answers."""
    if ctx.account is not None:
        return ctx.account
    user = update.effective_user
    if user is None:
        raise NotBound
    chat = update.effective_chat
    return telegram_account(user.id, chat.id if chat else None)


def media_of(message: Message) -> dict[str, Any] | None:
    """The file a Telegram message carries, as the seam's plain data (kept in dialog state
    until stored; "file_id" is the channel's reference to fetch it)."""
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return {
            "kind": "photo",
            "file_id": photo.file_id,
            "name": f"photo_{photo.file_unique_id}.jpg",
            "mime": "image/jpeg",
            "size": photo.file_size or 0,
        }
    if message.voice:
        voice = message.voice
        return {
            "kind": "voice",
            "file_id": voice.file_id,
            "name": f"voice_{voice.file_unique_id}.ogg",
            "mime": voice.mime_type or "audio/ogg",
            "size": voice.file_size or 0,
        }
    if message.document:
        doc = message.document
        return {
            "kind": "document",
            "file_id": doc.file_id,
            "name": doc.file_name or f"file_{doc.file_unique_id}",
            "mime": doc.mime_type,
            "size": doc.file_size or 0,
        }
    other = (message.video, message.audio, message.video_note, message.sticker, message.animation)
    if any(item is not None for item in other):
        return {"kind": "unsupported", "file_id": "", "name": "", "mime": None, "size": 0}
    return None
