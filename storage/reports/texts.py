"""Checking one answer (control characters, length) and reading a free message into the
report's fields by their labels ("标题：", "存在问题：" ...)."""

from __future__ import annotations

import re

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


_LABELS = {
    "title": ("标题", "题目", "title"),
    "situation": ("基本情况", "情况", "situation", "background"),
    "problem": ("存在问题", "问题", "problems", "problem"),
    "suggestions": ("意见建议", "对策建议", "建议", "suggestions", "suggestion"),
}
_LABEL_RE = re.compile(
    r"^\s*(?:[一二三四五1-5][、.．)）]\s*)?(?P<label>"
    + "|".join(re.escape(label) for labels in _LABELS.values() for label in labels)
    + r")\s*[:：]\s*(?P<rest>.*)$",
    re.IGNORECASE,
)


def parse_quick_text(text: str, *, title_max: int, guess_title: bool) -> dict[str, str]:
    """Fill what a free message can fill: labelled parts ("标题：", "存在问题：" ...) go to their
    field; unlabelled text is the situation, with a short first line as title when wanted."""
    lines = without_control_chars(text or "").replace("\r\n", "\n").strip().split("\n")
    label_of = {label.lower(): name for name, labels in _LABELS.items() for label in labels}
    parts: dict[str, list[str]] = {}
    preamble: list[str] = []
    current: str | None = None
    for line in lines:
        match = _LABEL_RE.match(line)
        if match:
            current = label_of[match.group("label").lower()]
            parts.setdefault(current, [])
            if match.group("rest").strip():
                parts[current].append(match.group("rest").strip())
        elif current is None:
            preamble.append(line)
        else:
            parts[current].append(line)
    result = {name: "\n".join(chunk).strip() for name, chunk in parts.items()}
    loose = [line for line in preamble if line.strip()]
    if loose:
        first = loose[0].strip()
        if guess_title and "title" not in result and len(first) <= title_max and len(loose) > 1:
            result["title"] = first
            loose = loose[1:]
        elif guess_title and "title" not in result and len(first) <= title_max and parts:
            # A short line in front of labelled sections reads as the title.
            result["title"] = first
            loose = []
        if loose:
            body = "\n".join(loose).strip()
            before = result.get("situation")
            result["situation"] = f"{body}\n{before}" if before else body
    if "title" in result:
        result["title"] = " ".join(result["title"].split())
    return {name: value for name, value in result.items() if value}
