"""Locale texts: one folder per language, one TOML file per feature, kept beside the code that
says them: a feature package's texts in handlers/<feature>/locales/<lang>/<name>.toml, the
texts several features share (common, commands, binding, reminders...) in bot/locales.

A key is "<file>.<name>" (nested tables add more dots). Values use str.format placeholders. A
name belongs to one file: a second file of the same name elsewhere stops start-up.

Texts are Telegram HTML. `Texts.get` is the one place where values meet markup: every str
parameter is HTML-escaped there, unless it is `Markup` (HTML our own code built, such as another
text from `get`), so a member called ``<b>李‹四`` is shown as written and never breaks a message.
Call sites pass raw values and do not escape.  `Texts.plain` is for where Telegram does not parse
HTML (button labels, pop-ups, file names, the command line).
"""

from __future__ import annotations

import html
import tomllib
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).parent / "locales"
# The features' own texts. Found by path, not by import: the platform imports no feature.
FEATURES_DIR = Path(__file__).parent.parent / "handlers"


def locale_roots() -> list[Path]:
    """Every folder holding one sub-folder per language: the shared texts, then each feature's."""
    return [LOCALES_DIR, *sorted(FEATURES_DIR.glob("*/locales"))]


class Markup(str):
    """Text that already is Telegram HTML, built by our own code: inserted as it is.

    Only wrap what our code composed from escaped pieces (texts from `Texts.get`, tags around
    `escape`d values) and notice bodies, which are the HTML Telegram made of the staff member's
    formatting (``message.text_html``). Never wrap plain text someone typed."""

    __slots__ = ()


def escape(text: str) -> Markup:
    """Plain text made safe to put into Telegram HTML (for HTML built outside a locale text).

    Quotes are left alone: Telegram needs only <, > and & escaped outside attributes."""
    if isinstance(text, Markup):
        return text
    return Markup(html.escape(text, quote=False))


def _escaped(params: dict[str, Any]) -> dict[str, Any]:
    return {
        name: escape(value) if isinstance(value, str) else value for name, value in params.items()
    }


class Texts:
    """All texts of all locales, loaded once at start-up."""

    def __init__(self, default_locale: str = "zh-CN", roots: list[Path] | None = None) -> None:
        self.default_locale = default_locale
        self.catalogs: dict[str, dict[str, str]] = {}
        owners: dict[tuple[str, str], Path] = {}  # (language, file name) -> the file
        for root in locale_roots() if roots is None else roots:
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                catalog = self.catalogs.setdefault(folder.name, {})
                for file in sorted(folder.glob("*.toml")):
                    seen = owners.setdefault((folder.name, file.stem), file)
                    if seen != file:
                        raise ValueError(f"locale texts {file.stem!r} in both {seen} and {file}")
                    with file.open("rb") as fh:
                        _flatten(tomllib.load(fh), file.stem, catalog)
        if default_locale not in self.catalogs:
            raise ValueError(f"no locale folder for {default_locale}")

    @property
    def locales(self) -> list[str]:
        return list(self.catalogs)

    def resolve(self, locale: str | None) -> str:
        return locale if locale in self.catalogs else self.default_locale

    def get(self, locale: str | None, key: str, /, **params: Any) -> str:
        """The HTML text for key in locale (falling back to the default locale), with every str
        parameter escaped unless it is `Markup`.

        Declared str so callers build lists and keyboards freely; the value is a `Markup`, so a
        text passed as a parameter of another is inserted as it is, not escaped twice."""
        template = self._template(locale, key)
        return Markup(template.format(**_escaped(params)) if params else template)

    def plain(self, locale: str | None, key: str, /, **params: Any) -> str:
        """The text for key with parameters inserted as they are: for places Telegram shows as
        plain text (button labels, callback pop-ups, file names) and the command line."""
        template = self._template(locale, key)
        return template.format(**params) if params else template

    def _template(self, locale: str | None, key: str) -> str:
        catalog = self.catalogs[self.resolve(locale)]
        template = catalog.get(key)
        if template is None:
            template = self.catalogs[self.default_locale][key]
        return template

    def all_variants(self, key: str) -> list[str]:
        """The text of key in every locale: for matching reply-keyboard button presses."""
        return sorted({c[key] for c in self.catalogs.values() if key in c})

    def has(self, key: str) -> bool:
        return key in self.catalogs[self.default_locale]


def _flatten(table: dict[str, Any], prefix: str, out: dict[str, str]) -> None:
    for name, value in table.items():
        key = f"{prefix}.{name}"
        if isinstance(value, dict):
            _flatten(value, key, out)
        else:
            out[key] = str(value)
