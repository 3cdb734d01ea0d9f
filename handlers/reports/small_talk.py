"""Small talk ("谢谢", "好的", "收到", "谢谢您的帮助！", "👍"): answered with a friendly line, never
taken for a quick report. The one list of what counts, in any case, width and punctuation.

A message is small talk when, without punctuation and spaces, it is made only of the phrases
below (so "好的，谢谢您！" is) or only of emoji. Anything else — a word more — is not: a
member's report is never answered with "不客气".
"""

from __future__ import annotations

import unicodedata

# Kind -> phrases, written without spaces or punctuation, lower case. The kind picks the
# answer (reports.small_talk_<kind>); "tail" words only go with the others.
PHRASES: dict[str, tuple[str, ...]] = {
    "thanks": ("谢谢", "多谢", "感谢", "非常感谢", "谢啦", "辛苦了", "辛苦", "麻烦了",
               "thanks", "thankyou", "thx", "3q", "🙏"),
    "hello": ("你好", "您好", "在吗", "早", "早上好", "上午好", "下午好", "晚上好",
              "hi", "hello", "hey"),
    "ok": ("好", "好的", "好滴", "好嘞", "好吧", "嗯", "嗯嗯", "哦", "噢", "收到", "知道了",
           "明白", "明白了", "了解", "行", "可以", "没问题", "是的", "对", "再见", "拜拜",
           "ok", "okay", "bye", "got it"),
    "tail": ("您", "你", "啦", "了", "呀", "啊", "哈", "哈哈", "的帮助", "您的帮助", "你的帮助",
             "大家", "老师", "领导", "very", "much", "so", "alot"),
}  # fmt: skip
# Longer than this is never small talk (and never costs more than a glance to decide).
MAX_CHARS = 40

_ORDERED = sorted(
    ((p.replace(" ", ""), kind) for kind, phrases in PHRASES.items() for p in phrases),
    key=lambda item: -len(item[0]),
)


def small_talk(text: str | None) -> str | None:
    """ "thanks", "hello" or "ok" when text is small talk (which answer fits), else None."""
    if not text or len(text) > MAX_CHARS:
        return None
    rest = "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text).casefold()
        if unicodedata.category(ch)[0] not in "PZC"  # punctuation, spaces, controls, joiners
        and unicodedata.category(ch) != "Sm"  # "~", "+": decoration here
    )
    if not rest:
        return None  # "？" or "……" asks something: not understood, with the menu
    kinds: set[str] = set()
    while rest:
        phrase = next(((p, k) for p, k in _ORDERED if rest.startswith(p)), None)
        if phrase is not None:
            kinds.add(phrase[1])
            rest = rest[len(phrase[0]) :]
        elif _is_emoji(rest[0]):
            kinds.add("ok")
            rest = rest[1:]
        else:
            return None
    for kind in ("thanks", "hello"):
        if kind in kinds:
            return kind
    return "ok"


def _is_emoji(ch: str) -> bool:
    """A pictograph or what dresses one (skin tone, variation selector)."""
    return unicodedata.category(ch) in ("So", "Sk", "Mn")
