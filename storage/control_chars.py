"""Control characters removed from text: one rule for what members type and what files hold.

Text pasted from Word or WPS carries Word's soft line break (vertical tab, U+000B) and page
break (form feed, U+000C); a broken client can send other C0 controls or a lone UTF-16
surrogate. None of them means anything in a report, and XML 1.0 forbids them, so one of them
made every xlsx and docx export fail (openpyxl's IllegalCharacterError, python-docx's
ValueError) and a lone surrogate cannot even be encoded for PostgreSQL. The two line breaks
become the newline the writer meant; every other character XML refuses is dropped. Tab,
newline and carriage return stay: they are legal and the member may have meant them.
"""

from __future__ import annotations

import re
import unicodedata

# Word's soft line break and page break: the writer meant a new line.
_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})
# What XML 1.0 refuses besides those two: other C0 controls, lone surrogates, U+FFFE/U+FFFF.
_REFUSED = re.compile("[\x00-\x08\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def without_control_chars(text: str) -> str:
    """The text with soft line and page breaks as newlines and other XML-illegal characters
    removed; everything else (tab, newline, emoji, any script) exactly as it was."""
    return _REFUSED.sub("", text.translate(_BREAKS))


def has_words(text: str) -> bool:
    """Whether the text has a letter or digit of any script: a title or a name made only of
    emoji, punctuation or symbols ("🎉🎉", "……") says nothing and is refused where one is typed."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def has_control_chars(text: str) -> bool:
    """Whether without_control_chars would change the text."""
    return "\x0b" in text or "\x0c" in text or _REFUSED.search(text) is not None


def removed_positions(text: str) -> list[int]:
    """The UTF-16 offsets of the characters without_control_chars drops (every one of them is
    a single UTF-16 unit): what an entity's offsets into the text must be moved by."""
    positions: list[int] = []
    offset = 0
    for char in text:
        if _REFUSED.match(char):
            positions.append(offset)
        offset += 2 if ord(char) > 0xFFFF else 1
    return positions
