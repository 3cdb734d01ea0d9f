"""Keep what the database quotes back out of the logs.

PostgreSQL explains a failed statement with a DETAIL (and sometimes a HINT) that names the values
of the row: "Key (phone)=(+8613800138000) already exists", "Failing row contains (...report
text...)". asyncpg puts that text into the exception's message, so a logged traceback would carry
it. The engine already hides the statement's parameters (storage.db: hide_parameters); this filter
removes the quoted values from every record that passes a handler it is attached to.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping

from telegram import TelegramObject

HIDDEN = "[values hidden]"
PAYLOAD_HIDDEN = "[payload hidden]"


def quoted_values(error: BaseException | None) -> list[str]:
    """The DETAIL and HINT texts of an exception and of every exception it wraps or follows."""
    found: list[str] = []
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        for name in ("detail", "hint"):
            value = getattr(current, name, None)
            if isinstance(value, str) and value.strip():
                found.append(value)
        # SQLAlchemy keeps the driver's exception in .orig; Python chains the rest.
        pending += [current.__cause__, current.__context__, getattr(current, "orig", None)]
    # Longest first, so a value containing another is replaced whole.
    return sorted(set(found), key=len, reverse=True)


def redact(text: str, values: list[str]) -> str:
    for value in values:
        text = text.replace(value, HIDDEN)
    return text


class HideDatabaseValues(logging.Filter):
    """Replace database-quoted row values in a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        values = quoted_values(error)
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, BaseException):
                values += quoted_values(arg)
        if not values:
            return True
        if record.exc_info is not None and error is not None:
            # The formatter uses exc_text as it is when set (and caches it there otherwise).
            formatted = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = redact(formatted.rstrip("\n"), values)
        if args:
            record.msg = redact(record.getMessage(), values)
            record.args = None
        else:
            record.msg = redact(str(record.msg), values)
        return True


def _is_payload(value: object) -> bool:
    return isinstance(value, Mapping | list | tuple | TelegramObject)


class HideUpdatePayloads(logging.Filter):
    """python-telegram-bot logs whole updates and API answers as arguments of some records
    (at CRITICAL: "Error while parsing updates! Received data was %r", with members' phone
    numbers and report texts). Such arguments are replaced; the message itself stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("telegram"):
            return True
        if isinstance(record.args, Mapping) and record.args:
            # A single mapping argument (logging's "%(key)s" style): the template is kept as
            # written, without the values.
            record.msg = f"{record.msg} {PAYLOAD_HIDDEN}"
            record.args = None
            return True
        if isinstance(record.args, tuple) and any(_is_payload(a) for a in record.args):
            record.args = tuple(PAYLOAD_HIDDEN if _is_payload(a) else a for a in record.args)
        return True


def protect(handler: logging.Handler) -> None:
    """Attach the filters to a handler (once each)."""
    for kind in (HideDatabaseValues, HideUpdatePayloads):
        if not any(isinstance(f, kind) for f in handler.filters):
            handler.addFilter(kind())
