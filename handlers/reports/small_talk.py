"""Small talk ("谢谢", "好的", "收到", "谢谢您的帮助！", "👍"): answered with a friendly line, never
taken for a quick report. The one list of what counts, in any case, width and punctuation.

A message is small talk when, without punctuation and spaces, it is made only of the phrases
listed in the locale files, reports.small_talk_words (so "好的，谢谢您！" is), or only of emoji.
Anything else — a word more — is not: a member's report is never answered with "不客气".
"""

from __future__ import annotations

import functools
import unicodedata

from bot.i18n import Texts

KINDS = ("thanks", "hello", "ok", "tail")
# Longer than this is never small talk (and never costs more than a glance to decide).
MAX_CHARS = 40


@functools.cache
def _phrases(texts: Texts) -> list[tuple[str, str]]:
    """(phrase, kind), longest first, from reports.small_talk_words.<kind> in every language
    (a member may write in either). The kind picks the answer (reports.small_talk_<kind>);
    "tail" words only go with the others."""
    found = {
        (phrase.replace(" ", "").casefold(), kind)
        for kind in KINDS
        for variant in texts.all_variants(f"reports.small_talk_words.{kind}")
        for phrase in variant.split("|")
        if phrase.strip()
    }
    return sorted(found, key=lambda item: (-len(item[0]), item))


def small_talk(text: str | None, texts: Texts) -> str | None:
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
        phrase = next(((p, k) for p, k in _phrases(texts) if rest.startswith(p)), None)
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
