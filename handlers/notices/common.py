"""What every part of the notices feature shares: its callback data, refusals, time and text
helpers, and the notice as a member sees it (body, photo or file, acknowledgement buttons)."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.telegram_text import MAX_CAPTION_LENGTH, truncate_utf16, visible_len
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.replies import answer_callback, send_text
from storage import notices
from storage.models import AckMode
from storage.notices import AckData, NoticeView, Problem

FEATURE = "ntc"
FLOW = "notice"

E = TypeVar("E", bound=enum.Enum)


def cb(action: str, *args: object) -> str:
    """Callback data of a notices button: "ntc:<action>:<args>"."""
    return callbacks.make(FEATURE, action, *args)


def ack_data(notice_id: int, option: int) -> str:
    """The data of a member's acknowledgement button. Storage writes it into outbox rows and the
    scheduler into reminders (bot/app.py hands it to both); handled by acks.acknowledge."""
    return cb("acknowledge", notice_id, option)


def enum_arg(data: Callback, index: int, kind: type[E]) -> E | None:
    """The index-th argument as a member of kind, or None (a forged button)."""
    try:
        return kind(data.arg(index) or "")
    except ValueError:
        return None


async def explain(update: Update, ctx: BotContext, problem: Problem, **params: Any) -> None:
    """Explain why nothing changed: an alert on a button, a message otherwise."""
    params.setdefault("max", notices.MAX_OPTION_CHARS)
    params.setdefault("limit", notices.MAX_BODY_CHARS)
    params.setdefault("length", "")
    key = f"notices.error_{problem.value}"
    if update.callback_query is not None:
        await answer_callback(update, ctx, key, alert=True, **params)
    else:
        await send_text(update, ctx, ctx.t(key, **params))


async def stale(update: Update, ctx: BotContext) -> None:
    await answer_callback(update, ctx, "common.stale_button", alert=True)


def local(ctx: BotContext, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ctx.settings.tz).strftime("%Y-%m-%d %H:%M")


def first_line(body: str, limit: int = 24) -> str:
    plain = re.sub(r"<[^>]+>", "", body).replace("&lt;", "<").replace("&gt;", ">")
    plain = plain.replace("&quot;", '"').replace("&amp;", "&")
    line = next((part.strip() for part in plain.splitlines() if part.strip()), "")
    return truncate_utf16(line, limit)


def answer_label(ctx: BotContext, view: NoticeView, option: int) -> str:
    """What a member answered: the option's label, or "received"."""
    if view.ack_mode is AckMode.options and 0 <= option < len(view.ack_options):
        return view.ack_options[option]
    return ctx.t("notices.received_answer")


def member_markup(ctx: BotContext, view: NoticeView, data: AckData) -> InlineKeyboardMarkup | None:
    """The acknowledgement buttons as members see them (labels in the viewer's language)."""
    rows = notices.ack_buttons(view, data)
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    ctx.t(spec["key"]) if "key" in spec else spec["label"],
                    callback_data=spec["data"],
                )
                for spec in row
            ]
            for row in rows
        ]
    )


async def send_notice_copy(
    update: Update, ctx: BotContext, view: NoticeView, text: str, markup: Any
) -> None:
    """The notice as a member gets it, with its photo or file (caption when it fits)."""
    chat = update.effective_chat
    assert chat is not None
    attachment = view.attachment
    if attachment:
        fits = visible_len(text) <= MAX_CAPTION_LENGTH
        sender = ctx.bot.send_photo if attachment.get("type") == "photo" else ctx.bot.send_document
        field = "photo" if attachment.get("type") == "photo" else "document"
        await sender(
            chat.id,
            **{field: attachment["file_id"]},
            caption=text if fits else None,
            reply_markup=markup if fits else None,
        )
        if fits:
            return
    await send_text(update, ctx, text, markup=markup)
