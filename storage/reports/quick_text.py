"""Reading a free message (the quick report) into the report's fields.

What a member types on a phone is rarely labelled: often one long line ("…进展缓慢，…。问题是…。
建议…。") or a few lines. The rules, in order:

* labelled lines ("标题：", "存在问题：", "1. 建议：" …) open their field;
* inside any line, a clause that starts with a marker opens the problem ("问题是…", "存在问题…",
  "主要问题在于…") or the suggestions ("建议…", "希望…", "呼吁…", "为此，建议…"). Marker words
  that only label ("问题是", "建议如下：") are dropped; words that are part of the sentence
  ("建议设立…", "希望…") stay;
* whatever is not recognised is the situation (基本情况): no text is ever dropped;
* the title: a short first line of several, taken out of the body (as typed: it is a heading);
  otherwise the first clause of the message (up to the first ，。；！？ or line end), capped and
  without markers, as a copy: the sentence it starts stays whole in its section.
"""

from __future__ import annotations

import re

from storage.control_chars import without_control_chars

_LABELS = {
    "title": ("标题", "题目", "title"),
    "situation": ("基本情况", "情况", "situation", "background"),
    "problem": ("存在问题", "问题", "problems", "problem"),
    "suggestions": ("意见建议", "对策建议", "建议", "suggestions", "suggestion"),
}
_LIST_MARK = r"(?:[一二三四五六七八九十]{1,2}|\d{1,2})[、.．)）]"
_LABEL_RE = re.compile(
    r"^\s*(?:[一二三四五1-5][、.．)）]\s*)?(?P<label>"
    + "|".join(re.escape(label) for labels in _LABELS.values() for label in labels)
    + r")\s*[:：]\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_LABEL_OF = {label.lower(): name for name, labels in _LABELS.items() for label in labels}

# Where a clause ends (and the next may start with a marker).
_CLAUSE_PUNCT = "，。；！？,;!?"
# Markers that only label what follows: dropped. Markers that are words of the sentence: kept.
_PROBLEM_LABEL = (
    r"(?:目前|当前|现在)?(?:存在的|存在|主要的|主要|突出的|突出)?问题(?:主要)?(?:是|在于)[:：]?"
    r"|(?:存在的|存在|主要的|主要)?问题[:：]"
)
_PROBLEM_WORDS = r"(?:目前|当前|现在)?(?:存在的|存在|主要的|主要|突出的|突出)问题"
_SUGGESTIONS_LABEL = r"(?:意见建议|对策建议|意见和建议|建议)(?:如下)?[:：]|建议(?:如下|是)[:：]?"
_SUGGESTIONS_WORDS = r"(?:(?:为此|因此|对此|所以)[，,]?\s*)?(?:我们|我|本人|特)?(?:建议|希望|呼吁)"
# A marker counts only at the start of a line or right after a clause's punctuation.
_MARKER_RE = re.compile(
    rf"(?<![^{_CLAUSE_PUNCT}])\s*(?:"
    rf"(?P<problem_label>{_PROBLEM_LABEL})|(?P<problem>{_PROBLEM_WORDS})"
    rf"|(?P<suggestions_label>{_SUGGESTIONS_LABEL})|(?P<suggestions>{_SUGGESTIONS_WORDS}))"
)
_LEADING_LABEL_RE = re.compile(
    rf"^\s*(?:{_LIST_MARK}\s*)?(?:{_PROBLEM_LABEL}|{_SUGGESTIONS_LABEL})"
)
_FIRST_CLAUSE_RE = re.compile(rf"[{_CLAUSE_PUNCT}\n]|\.(?=\s|$)")
_PAIRS = {"「": "」", "『": "』", "“": "”", '"': '"', "【": "】", "(": ")", "（": "）", "《": "》"}
# A title taken from a sentence is a heading, not the sentence: about one line on a phone.
TITLE_FROM_CLAUSE_MAX = 40  # UTF-16 units, as Telegram counts
TITLE_MIN = 4  # characters; a shorter first clause ("另外", "您好") takes the next one too
# Characters that belong to the one before them (an emoji's skin tone, variation selector,
# joiner): a title is never cut between them.
_ATTACHED = re.compile(
    r"[\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff\u0300-\u036f\U000e0020-\U000e007f]"
)
_FLAG_HALF = re.compile(r"[\U0001f1e6-\U0001f1ff]")


def parse_quick_text(text: str, *, title_max: int, guess_title: bool) -> dict[str, str]:
    """The fields a free message fills (see the module's rules); empty ones left out."""
    lines = without_control_chars(text or "").replace("\r\n", "\n").strip().split("\n")
    parts: dict[str, list[str]] = {}
    # Text before any section: (text, whether it was a whole line of its own).
    preamble: list[tuple[str, bool]] = []
    first_words: str | None = None  # the message's first text, for a title
    current: str | None = None
    for line in lines:
        match = _LABEL_RE.match(line)
        if match:
            current = _LABEL_OF[match.group("label").lower()]
            parts.setdefault(current, [])
            line = match.group("rest")
            if not line.strip():
                continue
        # A title is one line of its own: only a label moves on from it.
        pieces = [(None, line)] if current == "title" else _split_markers(line, current)
        whole = match is None and len(pieces) == 1
        for field, piece in pieces:
            if field is not None:
                current = field
                parts.setdefault(current, [])
            if piece.strip() and first_words is None and current != "title":
                first_words = piece
            if current is None:
                preamble.append((piece, whole))
            else:
                parts[current].append(piece)
    result = {name: "\n".join(chunk).strip() for name, chunk in parts.items()}
    loose = [(line, whole) for line, whole in preamble if line.strip()]
    wants_title = guess_title and not result.get("title")
    if loose and wants_title:
        first, whole = loose[0][0].strip(), loose[0][1]
        if whole and len(first) <= title_max and (len(loose) > 1 or parts):
            # A short line of its own in front of more text reads as the title.
            result["title"] = first
            loose = loose[1:]
            wants_title = False
    if loose:
        body = "\n".join(line for line, _ in loose).strip()
        before = result.get("situation")
        result["situation"] = f"{body}\n{before}" if before else body
    if wants_title and first_words is not None:
        heading = title_from_clause(first_words, min(title_max, TITLE_FROM_CLAUSE_MAX))
        if heading:
            result["title"] = heading
    if "title" in result:
        result["title"] = " ".join(result["title"].split())
    return {name: value for name, value in result.items() if value}


def _split_markers(line: str, current: str | None) -> list[tuple[str | None, str]]:
    """A line cut where a clause starts with a problem or suggestions marker: (the field the
    piece opens, or None for the piece before the first marker; the piece). A marker of the
    field the text is in already ("建议…，呼吁…") cuts nothing."""
    pieces: list[tuple[str | None, str]] = []
    field: str | None = None
    start = 0
    for match in _MARKER_RE.finditer(line):
        kind = match.lastgroup or ""
        if kind.removesuffix("_label") == (field or current) and not kind.endswith("_label"):
            continue
        before = line[start : match.start()]
        if before.strip() or field is not None:
            # The clause's comma stays with nothing: "…缺口明显，" ends the problem.
            pieces.append((field, before.rstrip(" \t，,、；;")))
        field = kind.removesuffix("_label")
        start = match.end() if kind.endswith("_label") else match.start()
    pieces.append((field, line[start:].strip() if field is not None else line[start:]))
    # An empty piece that opens a field is kept: "问题是：" alone opens the problem.
    return [(f, p) for f, p in pieces if f is not None or p.strip()] or [(None, line)]


def title_from_clause(text: str, cap: int) -> str | None:
    """A heading from the first clause of text (with the next ones while it is shorter than
    TITLE_MIN: "另外，…" is no title): list and section markers and a wrapping pair of quotes
    or brackets dropped, cut to cap UTF-16 units (with "…") without splitting a character from
    what belongs to it; None when nothing is left."""
    rest = _LEADING_LABEL_RE.sub("", text.strip())
    rest = re.sub(rf"^\s*{_LIST_MARK}\s*", "", rest)
    clause = ""
    while rest and len(clause.strip()) < TITLE_MIN:
        found = _FIRST_CLAUSE_RE.search(rest)
        if found is None or found.group() == "\n":
            clause += rest[: found.start()] if found else rest
            break
        clause += rest[: found.end()]
        rest = rest[found.end() :]
    clause = " ".join(clause.split()).rstrip(_CLAUSE_PUNCT + ".")
    if len(clause) >= 2 and _PAIRS.get(clause[0]) == clause[-1]:
        clause = clause[1:-1].strip()
    if not clause:
        return None
    if _utf16(clause) <= cap:
        return clause
    end, used = 0, 0
    while end < len(clause) and used + _utf16(clause[end]) <= cap - 1:
        used += _utf16(clause[end])
        end += 1
    end = _grapheme_start(clause, end)
    cut = clause[:end]
    space = cut.rfind(" ")
    if space > len(cut) // 2:
        cut = cut[:space]  # a whole word, where there are words
    return f"{cut.rstrip()}…" if cut.strip() else None


def _grapheme_start(text: str, end: int) -> int:
    """end moved back to where the character at end begins (an emoji's modifiers, joined
    emoji and flag pairs are one character on the screen)."""
    while 0 < end < len(text) and (_ATTACHED.match(text[end]) or text[end - 1] == "\u200d"):
        end -= 1
    pairs = 0
    while pairs < end and _FLAG_HALF.match(text[end - pairs - 1]):
        pairs += 1
    if end < len(text) and _FLAG_HALF.match(text[end]) and pairs % 2:
        end -= 1  # half a flag
    return end


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
