"""Every text of every locale, filled with hostile values, still parses as Telegram parses HTML
and shows each value exactly as it was typed.

A member called ``<script>…`` or ``李‹四`` once got an error on every /start: names went into the
HTML unescaped. Texts.get now escapes every value; this renders all keys (placeholders found with
string.Formatter) and checks the result with the parser the Bot API emulator uses, in strict
mode (a stray ``&`` counts as unescaped too).
"""

from __future__ import annotations

import string

import pytest

from bot.i18n import Markup, Texts, escape
from bot.telegram_text import EntityParseError, parse_html

TEXTS = Texts("zh-CN")
HOSTILE = [
    "<script>alert(1)</script>",
    "&",
    "<b>",
    "</b>",
    "李‹四",
    "\"'",
    "a &amp; b &lt;",
    "&#x1F600; &nbsp;",
    "😀👍🏽 王芳",
    "<a href='http://x'>x</a>",
    "x" * 100_000,
]


def _fields(template: str) -> dict[str, str]:
    """Placeholder name -> format spec (a spec such as ":,d" wants a number)."""
    return {name: spec or "" for _, name, spec, _ in string.Formatter().parse(template) if name}


def _render(locale: str, key: str, value: str) -> tuple[str, str]:
    """The text with every placeholder set to value (numbers where a spec asks for one),
    and what a user would see of the value."""
    fields = _fields(TEXTS.catalogs[locale][key])
    params: dict[str, object] = {
        name: 7 if spec and spec[-1:] in "dfn%," else value for name, spec in fields.items()
    }
    return TEXTS.get(locale, key, **params), value


@pytest.mark.parametrize("locale", sorted(TEXTS.catalogs))
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: v[:12])
def test_every_text_parses_with_hostile_values_shown_as_typed(locale: str, value: str) -> None:
    failures = []
    for key in sorted(TEXTS.catalogs[locale]):
        html, shown = _render(locale, key, value)
        try:
            visible, _ = parse_html(html, strict=True)
        except EntityParseError as exc:
            failures.append(f"{locale}:{key}: {exc}")
            continue
        if _fields(TEXTS.catalogs[locale][key]) and shown not in visible:
            failures.append(f"{locale}:{key}: the value is not shown as typed")
    assert not failures, "\n".join(failures[:20])


def test_a_text_inside_another_is_not_escaped_twice() -> None:
    # A status name (itself a text) inside a line, and markup our code built, arrive intact.
    inner = TEXTS.get("zh-CN", "reports.status.submitted")
    outer = TEXTS.get("zh-CN", "reports.meta.status", status=inner)
    assert inner in outer
    built = Markup(f"<b>{escape('A & B')}</b>")
    line = TEXTS.get("en", "start.welcome_back", name=built)
    assert "<b>A &amp; B</b>" in line
    assert parse_html(line, strict=True)[0].startswith("Hello, A & B!")


def test_plain_texts_keep_values_as_typed() -> None:
    # Button labels and pop-ups are not HTML: there "A & B" must not become "A &amp; B".
    assert "A & B" in TEXTS.plain("en", "start.welcome_back", name="A & B")
