"""What counts as small talk (handlers/reports/small_talk.py): the phrases and emoji on their
own, in any case, width or punctuation; one word more and it is a message like any other.
(The answers end to end: tests/test_reports_edges_e2e.py.)"""

from __future__ import annotations

import pytest

from bot.i18n import Texts
from handlers.reports.small_talk import MAX_CHARS, small_talk

TEXTS = Texts("zh-CN")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("谢谢", "thanks"),
        ("谢谢您的帮助！", "thanks"),
        ("  多谢多谢~~ ", "thanks"),
        ("THANK YOU.", "thanks"),
        ("好的，谢谢您！", "thanks"),
        ("🙏", "thanks"),
        ("您好", "hello"),
        ("Hi!", "hello"),
        ("好的", "ok"),
        ("收到。", "ok"),
        ("嗯嗯", "ok"),
        ("ＯＫ", "ok"),
        ("Got it", "ok"),
        ("👍", "ok"),
        ("👍🏻👍🏻", "ok"),
        ("👨‍👩‍👧 ❤️", "ok"),
        ("好的\u200b", "ok"),
    ],
)
def test_small_talk(text: str, kind: str) -> None:
    assert small_talk(text, TEXTS) == kind


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "？",
        "……",
        "123456",
        "谢谢政府关心，路灯还是没修",
        "好的路灯坏了",
        "收到通知，但小区电梯还没装",
        "thanks for fixing the road, but the lights are still out",
        "谢谢" * (MAX_CHARS // 2 + 1),
        "<b>谢谢</b>",
    ],
)
def test_not_small_talk(text: str | None) -> None:
    assert small_talk(text, TEXTS) is None
