"""Phone numbers: one canonical form for matching the roster against Telegram contacts.

Members are matched by phone: staff import a spreadsheet, members share their Telegram contact.
Both sides go through `normalize_phone`, so "138-0013-8000" in the roster and "8613800138000"
from Telegram meet as "+8613800138000".
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["mask_phone", "normalize_phone"]

# Separators people put inside numbers: spaces, dashes of every kind, dots, parentheses.
_SEPARATORS = re.compile(r"[\s.()\-\u2010-\u2015\u2212\u00ad\u200b-\u200d\u2060\ufeff]+")

_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
# Country code -> national number pattern. Hong Kong, Macau and Taiwan are only recognised
# when the country code is given: a bare 8- or 9-digit number is ambiguous.
_REGIONS: dict[str, re.Pattern[str]] = {
    "86": _CN_MOBILE,
    "852": re.compile(r"[2-9]\d{7}"),
    "853": re.compile(r"[2-9]\d{7}"),
    "886": re.compile(r"[2-9]\d{8}"),
}
_MAX_RAW_LENGTH = 64


def _national(code: str, rest: str) -> str | None:
    pattern = _REGIONS[code]
    if code == "886" and len(rest) == 10 and rest.startswith("0"):
        rest = rest[1:]  # "+886 0912 345 678": the domestic trunk 0 written after the code
    return f"+{code}{rest}" if pattern.fullmatch(rest) else None


def _with_country_code(digits: str) -> str | None:
    """Digits that start with a country code (after "+" or "00", or as Telegram sends them)."""
    for code in ("852", "853", "886", "86"):
        if digits.startswith(code):
            return _national(code, digits[len(code) :])
    return None


def normalize_phone(raw: str) -> str | None:
    """The canonical "+<country code><number>" form of `raw`, or None if it is not a usable number.

    Accepted: mainland China mobiles with or without +86 / 0086 / 86 (→ "+86" + 11 digits);
    Hong Kong (+852, 8 digits), Macau (+853, 8 digits) and Taiwan (+886, 9 digits) only with the
    country code; Telegram's contact form (digits with the country code, no "+"). Full-width
    digits and spaces, dashes, dots and parentheses are tolerated. Anything else gives None.
    """
    if not isinstance(raw, str) or len(raw) > _MAX_RAW_LENGTH:
        return None
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if not text:
        return None
    international = False
    if text.startswith("+"):
        text, international = text[1:], True
    elif text.startswith("00"):
        text, international = text[2:], True
    if not text.isascii() or not text.isdigit():
        return None
    if international:
        return _with_country_code(text)
    if _CN_MOBILE.fullmatch(text):
        return "+86" + text
    # Without "+": Telegram contacts ("8613800138000", "85291234567") and "86138..." in sheets.
    return _with_country_code(text)


def mask_phone(phone: str) -> str:
    """A phone number fit for logs and lists: "+86 138****8000", "+852 91****67".

    Values that are not valid numbers are masked too (all but their last two digits).
    """
    canonical = normalize_phone(phone) if isinstance(phone, str) else None
    if canonical is None:
        text = str(phone)
        digits = sum(ch.isdigit() for ch in text)
        seen = 0
        out = []
        for ch in text:
            if ch.isdigit():
                seen += 1
                out.append(ch if seen > digits - 2 else "*")
            else:
                out.append(ch)
        return "".join(out)
    code, national = _split(canonical)
    keep_head, keep_tail = {11: (3, 4), 9: (3, 3)}.get(len(national), (2, 2))
    hidden = len(national) - keep_head - keep_tail
    return f"+{code} {national[:keep_head]}{'*' * hidden}{national[-keep_tail:]}"


def _split(canonical: str) -> tuple[str, str]:
    """("86", "13800138000") from "+8613800138000"."""
    digits = canonical.lstrip("+")
    code = next(c for c in ("852", "853", "886", "86") if digits.startswith(c))
    return code, digits[len(code) :]
