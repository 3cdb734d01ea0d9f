"""The Telegram channel's name and how its accounts and chats are written as identities.

Storage keeps accounts and addresses as opaque strings on a named channel; this is the one
place that says how a Telegram user id and chat id become those strings.
"""

from __future__ import annotations

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Defaults

from storage.identities import Account, Address

TELEGRAM = "telegram"


def telegram_account(user_id: int, chat_id: int | None = None) -> Account:
    """A Telegram user writing in a chat (a private chat's id is the user's own)."""
    return Account(TELEGRAM, str(user_id), str(chat_id if chat_id is not None else user_id))


def telegram_address(chat_id: int) -> Address:
    return Address(TELEGRAM, str(chat_id))


def chat_of(address: str) -> int:
    """The Telegram chat id an address on the Telegram channel names."""
    return int(address)


def telegram_defaults() -> Defaults:
    """What every Bot API call of ours assumes: texts are Telegram HTML built by bot/i18n.py,
    and links in them are never previewed (a member's typed URL must not pull a stranger's page
    into a card)."""
    return Defaults(
        parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
