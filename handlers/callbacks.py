"""Callback data, built and parsed in one place: "<feature>:<action>[:<arg>...]".

Arguments are short ids; every handler re-checks on the server that the viewer may act on the
object, so forged data gets the same polite refusal as a stale button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64  # Telegram's limit on callback_data


@dataclass(frozen=True)
class Callback:
    feature: str
    action: str
    args: tuple[str, ...] = ()

    def int_arg(self, index: int = 0) -> int | None:
        """The index-th argument as a positive int, or None when missing or malformed."""
        return positive_int(self.arg(index))

    def arg(self, index: int = 0) -> str | None:
        return self.args[index] if index < len(self.args) else None


def positive_int(text: str | None) -> int | None:
    """An id from a button: a positive int, or None when missing or malformed (forged or
    stale data gets the same polite answer as a stale button)."""
    try:
        value = int(text or "")
    except ValueError:
        return None
    return value if value > 0 else None


def make(feature: str, action: str, *args: object) -> str:
    data = ":".join([feature, action, *(str(a) for a in args)])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def parse(data: str | None) -> Callback | None:
    if not data:
        return None
    parts = data.split(":")
    if len(parts) < 2 or not all(parts[:2]):
        return None
    return Callback(parts[0], parts[1], tuple(parts[2:]))


def pattern(feature: str) -> re.Pattern[str]:
    """The CallbackQueryHandler pattern that selects one feature's buttons."""
    return re.compile(rf"^{re.escape(feature)}:")
