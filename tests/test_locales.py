"""Every text exists in every language, with the same placeholders."""

from __future__ import annotations

import string

from bot.i18n import Texts


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_locale_has_every_key_with_the_same_placeholders() -> None:
    texts = Texts("zh-CN")
    reference = texts.catalogs["zh-CN"]
    assert set(texts.locales) >= {"zh-CN", "en"}
    for locale, catalog in texts.catalogs.items():
        assert set(catalog) == set(reference), f"{locale}: keys differ"
        for key, template in catalog.items():
            assert _fields(template) == _fields(reference[key]), f"{locale}:{key} placeholders"


def test_missing_locale_falls_back_to_default() -> None:
    texts = Texts("zh-CN")
    assert texts.get("fr", "common.staff_only") == texts.get("zh-CN", "common.staff_only")
    assert texts.get("en", "common.staff_only") != texts.get("zh-CN", "common.staff_only")
