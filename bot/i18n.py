"""Locale texts: one folder per language under bot/locales, one TOML file per feature.

A key is "<file>.<name>" (nested tables add more dots). Values use str.format placeholders.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).parent / "locales"


class Texts:
    """All texts of all locales, loaded once at start-up."""

    def __init__(self, default_locale: str = "zh-CN", directory: Path = LOCALES_DIR) -> None:
        self.default_locale = default_locale
        self.catalogs: dict[str, dict[str, str]] = {}
        for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
            catalog: dict[str, str] = {}
            for file in sorted(folder.glob("*.toml")):
                with file.open("rb") as fh:
                    _flatten(tomllib.load(fh), file.stem, catalog)
            self.catalogs[folder.name] = catalog
        if default_locale not in self.catalogs:
            raise ValueError(f"no locale folder for {default_locale}")

    @property
    def locales(self) -> list[str]:
        return list(self.catalogs)

    def resolve(self, locale: str | None) -> str:
        return locale if locale in self.catalogs else self.default_locale

    def get(self, locale: str | None, key: str, /, **params: Any) -> str:
        """The text for key in locale (falling back to the default locale), formatted."""
        catalog = self.catalogs[self.resolve(locale)]
        template = catalog.get(key)
        if template is None:
            template = self.catalogs[self.default_locale][key]
        return template.format(**params) if params else template

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
