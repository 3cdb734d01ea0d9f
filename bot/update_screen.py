"""Telling a readable update from a poisoned one, before python-telegram-bot sees the batch.

PTB turns a getUpdates answer into objects all at once: one update it cannot parse fails the
whole batch, the offset never moves, and polling asks for the same batch forever (every member
ignored, and a restart replays it). So each update is tried here on its own first. What the
library cannot parse, or what it parses into something our handlers cannot work with (a message
without a chat, a text that is not a string), is quarantined and replaced in the batch by a bare
`{"update_id": N}`: PTB still sees the id, so its next getUpdates confirms it, and the rest flow.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from typing import Any

from telegram import Update

from storage.control_chars import has_control_chars, removed_positions, without_control_chars

# Fields of a message our handlers read as text; Telegram always sends strings there.
_TEXT_FIELDS = ("text", "caption")
_MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")


@dataclass(frozen=True)
class Poisoned:
    """An update that must not reach the handlers, with what was wrong with it."""

    update_id: int | None
    kind: str
    raw: str
    error: str

    def placeholder(self) -> dict[str, Any] | None:
        """What stands in its place in the batch: the id alone, so the offset moves past it."""
        return None if self.update_id is None else {"update_id": self.update_id}


# Texts whose entities (formatting, commands, links) are UTF-16 offsets into them.
_ENTITIES_OF = {"text": "entities", "caption": "caption_entities"}


def clean_text(raw: object) -> bool:
    """Remove, in place, the control characters XML and PostgreSQL refuse from every string of
    an update (a NUL in a name failed its write on PostgreSQL; Word's vertical tab broke every
    export): the rule of storage/control_chars.py, with the entities of a text moved to match.
    True when anything changed (the batch must then be handed on as changed)."""
    container: Any = raw
    if isinstance(raw, dict):
        slots: list[tuple[Any, object]] = list(raw.items())
    elif isinstance(raw, list):
        slots = list(enumerate(raw))
    else:
        return False
    changed = False
    for slot, value in slots:
        if isinstance(value, str):
            if has_control_chars(value):
                if isinstance(raw, dict) and slot in _ENTITIES_OF:
                    _shift_entities(raw.get(_ENTITIES_OF[slot]), removed_positions(value))
                container[slot] = without_control_chars(value)
                changed = True
        else:
            changed = clean_text(value) or changed
    return changed


def _shift_entities(entities: object, removed: list[int]) -> None:
    """Move entity offsets and lengths (UTF-16 units) past the removed characters; an entity
    that covered nothing else is dropped."""
    if not isinstance(entities, list) or not removed:
        return
    kept = []
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        start, length = entity.get("offset"), entity.get("length")
        if not isinstance(start, int) or not isinstance(length, int):
            continue
        new_start = start - bisect.bisect_left(removed, start)
        new_end = start + length - bisect.bisect_left(removed, start + length)
        if new_end > new_start:
            kept.append(dict(entity, offset=new_start, length=new_end - new_start))
    entities[:] = kept


def kind_of(raw: object) -> str:
    """What the update seems to be ("message", "poll", ...): logged instead of its payload."""
    if not isinstance(raw, dict):
        return type(raw).__name__
    kinds = [key for key in raw if key != "update_id"]
    return str(kinds[0])[:64] if kinds else "empty"


def update_id_of(raw: object) -> int | None:
    if not isinstance(raw, dict):
        return None
    value = raw.get("update_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def problem(raw: object) -> str | None:
    """Why this update cannot be handled, or None when it can."""
    if not isinstance(raw, dict):
        return "an update must be a JSON object"
    if update_id_of(raw) is None:
        return "update_id is missing or not an integer"
    try:
        Update.de_json(raw, None)
    except Exception as exc:  # the library's errors are of any kind (KeyError, TypeError, ...)
        return f"{type(exc).__name__}: {exc}"
    for kind in _MESSAGE_KINDS:
        message = raw.get(kind)
        if message is not None:
            return _message_problem(kind, message)
    query = raw.get("callback_query")
    if isinstance(query, dict) and not isinstance(query.get("from"), dict):
        return "callback_query.from is missing"
    return None


def _message_problem(kind: str, message: object) -> str | None:
    if not isinstance(message, dict):
        return f"{kind} is not an object"
    chat = message.get("chat")
    if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
        return f"{kind}.chat is missing or has no id"
    for name in _TEXT_FIELDS:
        if name in message and not isinstance(message[name], str):
            return f"{kind}.{name} is not a string"
    sender = message.get("from")
    sender_id = sender.get("id") if isinstance(sender, dict) else None
    if sender is not None and not isinstance(sender_id, int):
        return f"{kind}.from has no id"
    return None


def screen(raw: object) -> Poisoned | None:
    """None for an update the handlers can take; otherwise what to quarantine."""
    error = problem(raw)
    if error is None:
        return None
    try:
        text = json.dumps(raw, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(raw)
    return Poisoned(update_id=update_id_of(raw), kind=kind_of(raw), raw=text, error=error)
