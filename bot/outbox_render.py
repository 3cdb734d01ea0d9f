"""Outbox messages into text, for any channel: a row's locale key and parameters, in the
recipient's language, as Telegram HTML or as the plain text a member reads.

A row carries no markup of its own: a parameter is shown as typed, or is itself a locale key
({"key": ..., "params": ...}, e.g. a status name, shown in the recipient's language too), or is
text already formatted in Telegram's HTML ({"formatted": ...}, a notice body as staff wrote
it), or the start of such text as the recipient reads it, on one line ({"preview": ...,
"length": n}), or lines, each a locale key with parameters ({"lines": [...]}; "—" when none).
Each channel's delivery renders rows through here at send time. Plain text is the HTML's
visible text, so a typed value that looks like a tag stays as typed.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import Markup, Texts
from bot.telegram_text import parse_html

Button = dict[str, Any]


def params_of(texts: Texts, locale: str, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, dict) and "formatted" in value:
            out[name] = Markup(str(value["formatted"]))
        elif isinstance(value, dict) and "key" in value:
            inner = params_of(texts, locale, dict(value.get("params") or {}))
            out[name] = texts.get(locale, str(value["key"]), **inner)
        elif isinstance(value, dict) and "preview" in value:
            visible = " ".join(plain_of(str(value["preview"])).split("\n")).strip()
            out[name] = visible[: int(value.get("length", 30))]
        elif isinstance(value, dict) and "lines" in value:
            lines = [params_of(texts, locale, {"line": line})["line"] for line in value["lines"]]
            out[name] = Markup("\n".join(lines)) if lines else "—"
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
    if text is None:
        assert template is not None
        text = texts.get(locale, template, **params_of(texts, locale, params))
    return text if html else plain_of(text)


def plain_of(html_text: str) -> str:
    """Telegram HTML as the text a member reads (tags dropped, entities decoded)."""
    return parse_html(html_text)[0]


def label_of(texts: Texts, locale: str, spec: Button) -> str:
    """A button's label: always plain text (no channel we know parses markup on buttons)."""
    if "key" in spec:
        values = {
            name: plain_of(value) if isinstance(value, Markup) else value
            for name, value in params_of(texts, locale, dict(spec.get("params") or {})).items()
        }
        return texts.plain(locale, spec["key"], **values)
    return str(spec.get("label", ""))
