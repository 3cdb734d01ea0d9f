"""Checking one answer (control characters, length). (A free message: quick_text.py.)"""

from __future__ import annotations

from storage.control_chars import without_control_chars
from storage.reports.views import Outcome, Result


def clean_text(text: str | None, limit: int, *, single_line: bool = False) -> Result:
    """Strip and check one answer; Result.report stays None, the cleaned text is in .field."""
    # Control characters (Word's soft line break...) mean nothing here and break the exports.
    value = without_control_chars(text or "").replace("\r\n", "\n").strip()
    if single_line:
        value = " ".join(value.split())
    if not value:
        return Result(Outcome.empty)
    if len(value) > limit:
        return Result(Outcome.too_long, length=len(value), limit=limit)
    return Result(Outcome.ok, field=value)
