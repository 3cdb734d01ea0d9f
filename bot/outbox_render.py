"""Outbox messages into text, for any channel: a row's locale key and parameters, in the
recipient's language, as Telegram HTML or as plain text.

A row carries no markup of its own: a parameter is shown as typed, or is itself a locale key
({"key": ..., "params": ...}, e.g. a status name, shown in the recipient's language too), or is
text already formatted in Telegram's HTML ({"formatted": ...}, a notice body as staff wrote
it). Each channel's delivery renders rows through here at send time.
"""

from __future__ import annotations

import html
import re
from typing import Any

from bot.i18n import Markup, Texts

Button = dict[str, Any]
_TAG = re.compile(r"<[^>]+>")


def params_of(texts: Texts, locale: str, params: dict[str, Any], *, html: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, dict) and "formatted" in value:
            formatted = str(value["formatted"])
            out[name] = Markup(formatted) if html else _plain(formatted)
        elif isinstance(value, dict) and "key" in value:
            inner = params_of(texts, locale, dict(value.get("params") or {}), html=html)
            key = str(value["key"])
            out[name] = (
                texts.get(locale, key, **inner) if html else texts.plain(locale, key, **inner)
            )
        else:
            out[name] = value
    return out


def text_of(
    texts: Texts,
    locale: str,
    *,
    template: str | None,
    params: dict[str, Any],
    text: str | None,
    html: bool,
) -> str:
    """The message: raw text as queued (Telegram HTML), or the template in locale."""
    if text is not None:
        return text if html else _plain(text)
    assert template is not None
    values = params_of(texts, locale, params, html=html)
    return (
        texts.get(locale, template, **values) if html else texts.plain(locale, template, **values)
    )


def label_of(texts: Texts, locale: str, spec: Button) -> str:
    """A button's label: always plain text (no channel we know parses markup on buttons)."""
    if "key" in spec:
        values = params_of(texts, locale, dict(spec.get("params") or {}), html=False)
        return texts.plain(locale, spec["key"], **values)
    return str(spec.get("label", ""))


def _text(texts: Texts, locale: str, key: str, values: dict[str, Any], *, html: bool) -> str:
    return texts.get(locale, key, **values) if html else texts.plain(locale, key, **values)


def _plain(html_text: str) -> str:
    """Telegram HTML as the text a member reads (tags dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", html_text))
