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

# Word's soft line break and page break: the writer meant a new line.
_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})
# What XML 1.0 refuses besides those two: other C0 controls, lone surrogates, U+FFFE/U+FFFF.
_REFUSED = re.compile("[\x00-\x08\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def without_control_chars(text: str) -> str:
    """The text with soft line and page breaks as newlines and other XML-illegal characters
    removed; everything else (tab, newline, emoji, any script) exactly as it was."""
    return _REFUSED.sub("", text.translate(_BREAKS))


# Every C0 control XML refuses, as a space: same length, so offsets into the text stay right.
_KEEP_LENGTH = str.maketrans(
    {"\x0b": "\n", "\x0c": "\n"}
    | {chr(code): " " for code in range(32) if chr(code) not in "\t\n\r\x0b\x0c"}
)


def control_chars_replaced(text: str) -> str:
    """The same rule for text whose character positions matter (an incoming message, whose
    entities are offsets into it): each refused character becomes one of the same UTF-16 length
    (breaks a newline, other controls a space, a lone surrogate or U+FFFE/U+FFFF U+FFFD)."""
    if not _REFUSED.search(text) and "\x0b" not in text and "\x0c" not in text:
        return text
    return _REFUSED.sub("\ufffd", text.translate(_KEEP_LENGTH))
