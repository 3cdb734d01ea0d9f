"""Every text exists in every language, with the same placeholders."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

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


def test_a_feature_keeps_its_texts_and_a_name_belongs_to_one_file(tmp_path: Path) -> None:
    """The activities' texts come from handlers/activities/locales; a second file of the same
    name in another place stops start-up instead of silently replacing texts."""
    texts = Texts("zh-CN")
    assert texts.has("activities.notice_cancelled") and texts.has("common.staff_only")
    assert texts.get("zh-CN", "activities.notice_cancelled", title="T", when="W", place="P",
                     reason="R", type="X")  # fmt: skip
    for root in ("shared", "feature"):
        (tmp_path / root / "zh-CN").mkdir(parents=True)
        (tmp_path / root / "zh-CN" / "common.toml").write_text('ok = "好"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="common"):
        Texts("zh-CN", [tmp_path / "shared", tmp_path / "feature"])
    assert Texts("zh-CN", [tmp_path / "shared"]).get("zh-CN", "common.ok") == "好"
