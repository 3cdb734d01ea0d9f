"""Telegram's rules for message text, in one place: HTML parse mode and lengths.

Telegram measures text in UTF-16 code units (an emoji outside the BMP counts 2) and measures
the text *after* HTML parsing (tags take no room, ``&amp;`` takes one).  Python's ``len`` counts
code points, so a text of 4,000 characters with 100 emoji is 4,100 units and is refused.  The
bot counts, truncates and splits with the helpers here; the Bot API emulator parses with the
same `parse_html`, so what passes the tests passes Telegram.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "EntityParseError",
    "parse_html",
    "split_html",
    "split_html_lines",
    "truncate_html",
    "truncate_utf16",
    "utf16_len",
    "visible_len",
]

MAX_TEXT_LENGTH = 4096  # UTF-16 units of a message's visible text
MAX_CAPTION_LENGTH = 1024  # UTF-16 units of a caption's visible text
MAX_CALLBACK_DATA_BYTES = 64  # UTF-8 bytes

JSON = dict[str, Any]


class EntityParseError(ValueError):
    """Text that Telegram would refuse with "can't parse entities"."""


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def truncate_utf16(text: str, limit: int, ellipsis: str = "…") -> str:
    """Plain text cut to at most ``limit`` UTF-16 units, ending with ``ellipsis`` when cut.

    Cuts between code points, so an emoji (a surrogate pair in UTF-16) is never halved.
    Escape for HTML *after* truncating, so no entity is cut either."""
    if utf16_len(text) <= limit:
        return text
    room = max(0, limit - utf16_len(ellipsis))
    return text[: _fit(text, room)] + ellipsis


def _fit(text: str, room: int) -> int:
    """The number of leading code points of text that fit in ``room`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > room:
            return index
    return len(text)


# --------------------------------------------------------------------------------------------
# HTML parse mode, as Telegram (tdlib) does it

HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile(r"[<&]")


def _decode_html_entities(text: str) -> str:
    return _HTML_ENTITY_RE.sub(lambda m: _entity_char(m) or m.group(0), text)


def _entity_char(match: re.Match[str]) -> str | None:
    if match.group(3):
        return _NAMED_ENTITIES[match.group(3)]
    code = int(match.group(1)) if match.group(1) else int(match.group(2), 16)
    try:
        return chr(code)
    except (ValueError, OverflowError):
        return None


@dataclass
class _OpenTag:
    name: str
    start: int  # UTF-16 offset in the output
    attrs: dict[str, str]


def parse_html(source: str, *, strict: bool = False) -> tuple[str, list[JSON]]:
    """Parse Telegram's HTML parse mode into plain text and message entities.

    Raises `EntityParseError` with Telegram's wording for what Telegram refuses: unsupported
    or unclosed tags, mismatched end tags, ``<span>`` without ``class="tg-spoiler"``.
    Telegram shows a lone ``&`` (or ``&nbsp;``) as it is; ``strict`` refuses it too, for tests
    proving that every inserted value was escaped.
    """
    out: list[str] = []
    pos = 0  # UTF-16 length of the output so far
    entities: list[JSON] = []
    stack: list[_OpenTag] = []
    n = len(source)
    i = 0

    def offset(index: int) -> int:
        return len(source[:index].encode("utf-8"))

    while i < n:
        special = _SPECIAL.search(source, i)
        stop = special.start() if special else n
        if stop > i:  # a run of plain text, taken whole (a 100k-character text stays fast)
            piece = source[i:stop]
            out.append(piece)
            pos += utf16_len(piece)
            i = stop
            continue
        if source[i] == "&":
            match = _HTML_ENTITY_RE.match(source, i)
            char = _entity_char(match) if match else None
            if match and char is not None:
                piece, i = char, match.end()
            elif strict:
                raise EntityParseError(f'Unescaped "&" at byte offset {offset(i)}')
            else:  # a lone "&" or an entity Telegram does not know stays as it is
                piece, i = "&", i + 1
            out.append(piece)
            pos += utf16_len(piece)
            continue
        begin = i
        if source.startswith("</", i):
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {offset(begin)}")
            j = i + 2
            while j < n and not source[j].isspace() and source[j] != ">":
                j += 1
            end_name = source[i + 2 : j].lower()
            while j < n and source[j].isspace():
                j += 1
            if j >= n or source[j] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {offset(begin)}")
            top = stack[-1]
            if end_name and end_name != top.name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {offset(begin)}, expected "</{top.name}>", '
                    f'found "</{end_name}>"'
                )
            stack.pop()
            _close_tag(top, pos, entities, stack)
            i = j + 1
            continue
        j = i + 1
        while j < n and not source[j].isspace() and source[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset(begin)}")
        name = source[i + 1 : j].lower()
        if name not in HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset(begin)}')
        attrs, j = _parse_attributes(source, j, name, offset(begin))
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {offset(begin)}'
            )
        stack.append(_OpenTag(name, pos, attrs))
        i = j + 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_attributes(source: str, j: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Read attributes from ``source[j]`` up to the closing ``>``; return them and its index."""
    n = len(source)
    attrs: dict[str, str] = {}
    while True:
        while j < n and source[j].isspace():
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        if source[j] == ">":
            return attrs, j
        k = j
        while k < n and not source[k].isspace() and source[k] not in "=>":
            k += 1
        attr = source[j:k].lower()
        while k < n and source[k].isspace():
            k += 1
        if k < n and source[k] != "=" and tag == "blockquote" and attr == "expandable":
            attrs[attr] = ""
            j = k
            continue
        if k >= n or source[k] != "=":
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {begin}"
            )
        k += 1
        while k < n and source[k].isspace():
            k += 1
        if k >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        if source[k] in "\"'":
            quote = source[k]
            end = source.find(quote, k + 1)
            if end < 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
            value = source[k + 1 : end]
            j = end + 1
        else:
            end = k
            while end < n and not source[end].isspace() and source[end] != ">":
                end += 1
            value = source[k:end]
            j = end
        attrs[attr] = _decode_html_entities(value)


def _close_tag(tag: _OpenTag, pos: int, entities: list[JSON], stack: list[_OpenTag]) -> None:
    length = pos - tag.start
    kind = HTML_TAGS[tag.name]
    if tag.name == "code" and stack and stack[-1].name == "pre":
        language = tag.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].attrs["language"] = language.removeprefix("language-")
            return
    if length <= 0:
        return
    entity: JSON = {"type": kind, "offset": tag.start, "length": length}
    if kind == "text_link":
        if not tag.attrs.get("href"):
            return
        entity["url"] = tag.attrs["href"]
    elif kind == "pre" and tag.attrs.get("language"):
        entity["language"] = tag.attrs["language"]
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    elif kind == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    entities.append(entity)


# --------------------------------------------------------------------------------------------
# Lengths of HTML texts


def visible_len(html_text: str) -> int:
    """UTF-16 length of what the user sees of an HTML text: the length Telegram limits."""
    return utf16_len(parse_html(html_text)[0])


_TOKEN = re.compile(r"<(/?)([^\s>/]*)[^>]*>|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def truncate_html(html_text: str, limit: int, ellipsis: str = "…") -> str:
    """Valid HTML cut to at most ``limit`` visible UTF-16 units, ending with ``ellipsis``.

    Tags and entities are kept whole and tags still open at the cut are closed, so the result
    parses as the input did.  The input must be valid Telegram HTML."""
    if visible_len(html_text) <= limit:
        return html_text
    room = max(0, limit - utf16_len(ellipsis))
    out: list[str] = []
    open_tags: list[str] = []
    i = 0
    while i < len(html_text):
        token = _TOKEN.match(html_text, i) if html_text[i] in "<&" else None
        if token is not None and token.group(0).startswith("<"):
            out.append(token.group(0))
            if token.group(1):
                if open_tags:
                    open_tags.pop()
            else:
                open_tags.append(token.group(2).lower())
            i = token.end()
            continue
        piece = token.group(0) if token is not None else html_text[i]
        width = utf16_len(_decode_html_entities(piece))
        if width > room:
            break
        room -= width
        out.append(piece)
        i += len(piece)
    return "".join(out) + ellipsis + "".join(f"</{name}>" for name in reversed(open_tags))


def split_html(html_text: str, limit: int = MAX_TEXT_LENGTH) -> list[str]:
    """Valid HTML cut into pieces of at most ``limit`` visible UTF-16 units, nothing lost.

    Cuts at line ends where it can, else inside a line (never inside a tag, an entity or a
    surrogate pair); a tag open at a cut is closed there and opened again in the next piece."""
    if visible_len(html_text) <= limit:
        return [html_text]
    return split_html_lines(html_text.split("\n"), limit, shorten=False)


def split_html_lines(
    lines: Iterable[str], limit: int = MAX_TEXT_LENGTH, *, shorten: bool = True
) -> list[str]:
    """Lines of HTML (each valid on its own) joined into as few messages as fit ``limit``.

    A line longer than a whole message is shortened with an ellipsis, or with ``shorten=False``
    cut into several messages."""
    messages: list[str] = []
    current: list[str] = []
    used = 0
    for line in lines:
        width = visible_len(line)
        if width > limit:
            if shorten:
                line = truncate_html(line, limit)
                width = visible_len(line)
            else:
                # The first piece fills what is left of the current message (a heading line
                # stays with the start of its text), the others take whole messages.
                room = limit - used - 1 if current else limit
                first, *rest = _chunks(line, limit, first_room=room)
                if current and visible_len(first):
                    current.append(first)
                elif visible_len(first):
                    current = [first]
                # rest is never empty: the line is longer than a whole message.
                messages.append("\n".join(current))
                *whole, line = rest
                messages.extend(whole)
                current, used = [], 0
                width = visible_len(line)
        extra = width + (1 if current else 0)  # the "\n" joining it to the previous line
        if current and used + extra > limit:
            messages.append("\n".join(current))
            current, used = [], 0
            extra = width
        current.append(line)
        used += extra
    if current:
        messages.append("\n".join(current))
    return messages


def _chunks(line: str, limit: int, *, first_room: int | None = None) -> list[str]:
    """One valid HTML line cut into pieces of at most ``limit`` visible units each (the first
    of at most ``first_room``; it may then be empty)."""
    pieces: list[str] = []
    out: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, the start tag as written)
    used = 0
    room = limit if first_room is None else max(0, first_room)
    i = 0
    while i < len(line):
        token = _TOKEN.match(line, i) if line[i] in "<&" else None
        if token is not None and token.group(0).startswith("<"):
            out.append(token.group(0))
            if token.group(1):
                if open_tags:
                    open_tags.pop()
            else:
                open_tags.append((token.group(2).lower(), token.group(0)))
            i = token.end()
            continue
        piece = token.group(0) if token is not None else line[i]
        width = utf16_len(_decode_html_entities(piece))
        if used + width > room and (used > 0 or (not pieces and room < limit)):
            pieces.append("".join(out) + "".join(f"</{name}>" for name, _ in reversed(open_tags)))
            out = [start for _, start in open_tags]
            used = 0
            room = limit
        out.append(piece)
        used += width
        i += len(piece)
    pieces.append("".join(out))
    return pieces
