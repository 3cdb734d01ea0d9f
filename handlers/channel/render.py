"""Views into text, for any channel: in Telegram HTML or as plain text, in one language."""

from __future__ import annotations

from typing import Any

from bot.i18n import Markup, Texts, escape
from handlers.channel.views import Join, Text, View


def text_of(texts: Texts, locale: str | None, item: Text | Join | str, *, html: bool) -> str:
    """One text: HTML (typed values escaped, nested texts kept as markup) or plain."""
    if isinstance(item, str):
        return escape(item) if html else item
    if isinstance(item, Join):
        separator = text_of(texts, locale, item.separator, html=html)
        joined = separator.join(text_of(texts, locale, part, html=html) for part in item.items)
        return Markup(joined) if html else joined
    params = {name: _param(texts, locale, value, html=html) for name, value in item.params.items()}
    if html:
        return texts.get(locale, item.key, **params)
    return texts.plain(locale, item.key, **params)


def _param(texts: Texts, locale: str | None, value: Any, *, html: bool) -> Any:
    if isinstance(value, Text | Join):
        return text_of(texts, locale, value, html=html)
    return value


def body_of(texts: Texts, locale: str | None, view: View, *, html: bool) -> str:
    """The view's paragraphs, one per line."""
    return "\n".join(text_of(texts, locale, line, html=html) for line in view.lines)


def labels_of(texts: Texts, locale: str | None, view: View) -> list[list[tuple[str, str]]]:
    """The buttons as rows of (label, encoded action); labels are plain text on every channel
    we know (Telegram does not parse HTML on buttons)."""
    return [
        [(text_of(texts, locale, b.label, html=False), b.action.encode()) for b in row]
        for row in view.buttons
    ]
