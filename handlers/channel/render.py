"""Views into text, for any channel: in Telegram HTML or as the plain text a member reads."""

from __future__ import annotations

from typing import Any

from bot.i18n import Markup, Texts, escape
from bot.outbox_render import plain_of
from handlers.channel.views import Join, Line, Text, View


def text_of(texts: Texts, locale: str | None, item: Line, *, html: bool) -> str:
    """One text: Telegram HTML (typed values escaped, nested texts kept as markup), or its
    visible text (so a typed value that looks like a tag stays as typed)."""
    rendered = _html_of(texts, locale, item)
    return rendered if html else plain_of(rendered)


def _html_of(texts: Texts, locale: str | None, item: Line) -> str:
    if isinstance(item, str):
        return escape(item)  # a Markup (our own HTML) passes unchanged
    if isinstance(item, Join):
        separator = _html_of(texts, locale, item.separator)
        return Markup(separator.join(_html_of(texts, locale, part) for part in item.items))
    params = {name: _param(texts, locale, value) for name, value in item.params.items()}
    return texts.get(locale, item.key, **params)


def _param(texts: Texts, locale: str | None, value: Any) -> Any:
    if isinstance(value, Text | Join):
        return Markup(_html_of(texts, locale, value))
    return value


def body_of(texts: Texts, locale: str | None, view: View, *, html: bool) -> str:
    """The view's paragraphs, one per line."""
    return "\n".join(text_of(texts, locale, line, html=html) for line in view.lines)


def labels_of(texts: Texts, locale: str | None, view: View) -> list[list[tuple[str, str]]]:
    """The buttons as rows of (label, encoded action); labels are plain text on every channel
    we know (Telegram does not parse HTML on buttons)."""
    return [
        [(label_of(texts, locale, b.label), b.action.encode()) for b in row] for row in view.buttons
    ]


def label_of(texts: Texts, locale: str | None, label: Text | str) -> str:
    """A button's label as typed: a locale text with its parameters as they are (labels carry
    no markup, so nothing is escaped or parsed: a card shows a dozen of them)."""
    if isinstance(label, str):
        return plain_of(label) if isinstance(label, Markup) else label
    params = {
        name: text_of(texts, locale, value, html=False) if isinstance(value, Text | Join) else value
        for name, value in label.params.items()
    }
    return texts.plain(locale, label.key, **params)
