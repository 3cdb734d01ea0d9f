"""What the console shows: the bot's messages to the people it plays, numbered, from the store.

`Recorder` is the emulator's listener: every message the bot sends, edits or deletes, and every
pop-up it answers a press with, goes into the shared store (files are written to disk there).
`Screen` prints the store's rows for the chats it watches: on start (or `/as`) the ones the
person has not seen yet, collapsed to each message's latest state, then new ones as they come,
whichever console's bot sent them. Each message gets a number here, its buttons ``[n.k]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from bot.tryout.entities import SentMessage, apply_content
from bot.tryout.protocol import JSON
from bot.tryout.store import ConsoleStore, Event

PROMPT = "> "


@dataclass(frozen=True)
class Person:
    """Someone the console plays or watches: their private chat (== Telegram id) and name."""

    chat_id: int
    name: str
    phone: str | None = None
    member_id: int | None = None


class Recorder:
    """Writes what the bot does in this console's emulator into the shared store."""

    def __init__(self, store: ConsoleStore, wake: Callable[[], None]) -> None:
        self.store = store
        self.wake = wake

    def __call__(self, event: str, message: SentMessage) -> None:
        if message.chat_id <= 0:  # group chats: nobody plays one here
            return
        body: JSON = {}
        if event != "deleted":
            body = {
                "kind": message.kind,
                "text": message.text,
                "reply_markup": message.reply_markup,
                "raw": message.raw,
            }
            previous = self.store.latest(message.chat_id, message.message_id)
            if message.file is not None and event == "sent":
                path = self.store.save_file(
                    message.chat_id,
                    message.message_id,
                    message.file.data,
                    kind=message.kind,
                    file_name=message.file.file_name,
                    mime_type=message.file.mime_type,
                )
                body["file"] = {"path": str(path.resolve()), "size": len(message.file.data)}
            elif previous is not None and "file" in previous.body:
                body["file"] = previous.body["file"]
        self.store.record(message.chat_id, message.message_id, event, body)
        self.wake()

    def popup(self, chat_id: int, params: JSON) -> None:
        """A press answered: its text, if any, is a pop-up (or an alert) for whoever pressed."""
        text = params.get("text")
        if chat_id > 0 and isinstance(text, str) and text:
            alert = bool(params.get("show_alert"))
            self.store.record(chat_id, None, "popup", {"text": text, "alert": alert})
            self.wake()

    def lookup(self, chat_id: int, message_id: int) -> SentMessage | None:
        """A bot message another console sent, rebuilt from the store (to press or edit it)."""
        row = self.store.latest(chat_id, message_id)
        if row is None:
            return None
        raw = dict(row.body.get("raw") or {})
        sent = SentMessage(
            message_id=message_id,
            chat_id=chat_id,
            kind=str(row.body.get("kind") or "text"),
            text=row.body.get("text"),
            source_text=row.body.get("text"),
            parse_mode=None,
            entities=list(raw.get("entities") or raw.get("caption_entities") or []),
            reply_markup=row.body.get("reply_markup"),
            file=None,
            raw=raw,
            params={},
            sent_at=0.0,
        )
        apply_content(sent)
        return sent


class Screen:
    """Prints the watched chats' rows from the store and keeps the message numbers."""

    def __init__(self, store: ConsoleStore, out: TextIO = sys.stdout) -> None:
        self.store = store
        self.out = out
        self.people: dict[int, Person] = {}
        self.current: Person | None = None
        self._cursor: dict[int, int] = {}
        self._numbers: dict[tuple[int, int], int] = {}
        self._messages: dict[int, tuple[int, int]] = {}
        self._last_with_buttons: dict[int, int] = {}  # chat -> number of its latest with buttons
        self._wake = asyncio.Event()

    # ---------------------------------------------------------------- people

    def watch(self, person: Person, *, current: bool = False) -> None:
        """Show this person's chat from now on, starting with what they have not seen."""
        if current:
            self.current = person
        if person.chat_id in self.people:
            self.people[person.chat_id] = person
            return
        self.people[person.chat_id] = person
        seen = self.store.seen(person.chat_id)
        away = self.store.events([person.chat_id], seen)
        self._cursor[person.chat_id] = away[-1].seq if away else seen
        self._print_away(person, away)

    def message_at(self, number: int) -> tuple[int, int] | None:
        """(chat id, message id) of the message shown as ``number``."""
        return self._messages.get(number)

    def latest_with_buttons(self, chat_id: int) -> int | None:
        return self._last_with_buttons.get(chat_id)

    # ---------------------------------------------------------------- refreshing

    def wake(self) -> None:
        self._wake.set()

    async def follow(self, interval: float = 0.3) -> None:
        """Print new rows as they arrive: at once for this console's bot, within ``interval``
        for another console's."""
        while True:
            self.refresh()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)

    def refresh(self) -> None:
        printed = False
        for chat_id in list(self.people):
            for event in self.store.events([chat_id], self._cursor[chat_id]):
                self._cursor[chat_id] = event.seq
                printed = self._print_event(event) or printed
            self.store.mark_seen(chat_id, self._cursor[chat_id])
        if printed:
            self.prompt()

    def prompt(self) -> None:
        self.out.write(PROMPT)
        self.out.flush()

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    # ---------------------------------------------------------------- printing

    def _print_away(self, person: Person, away: list[Event]) -> None:
        latest: dict[int, Event | None] = {}
        for event in away:
            if event.message_id is None:
                continue  # a pop-up is gone once its moment passed
            # Each message once, where it first came, in its latest state (a deleted one not).
            latest[event.message_id] = None if event.event == "deleted" else event
        shown = [event for event in latest.values() if event is not None]
        if not shown:
            self.store.mark_seen(person.chat_id, self._cursor[person.chat_id])
            return
        self.say(f"\n── {len(shown)} new for {person.name} since last time ──")
        for event in shown:
            self._print_message(event, edited=False)
        self.store.mark_seen(person.chat_id, self._cursor[person.chat_id])

    def _print_event(self, event: Event) -> bool:
        if event.event == "popup":
            kind = "alert" if event.body.get("alert") else "pop-up"
            self.say(f"\n  ({kind}{self._for(event.chat_id)}) {event.body.get('text')}")
            return True
        if event.message_id is None:
            return False
        if event.event == "deleted":
            number = self._numbers.get((event.chat_id, event.message_id))
            if number is None:
                return False
            self.say(f"\n[{number}] bot deleted this message{self._for(event.chat_id)}")
            return True
        self._print_message(event, edited=event.event == "edited")
        return True

    def _for(self, chat_id: int) -> str:
        """ " → name" when the chat is not the current person's."""
        if self.current is not None and chat_id == self.current.chat_id:
            return ""
        person = self.people.get(chat_id)
        return f" → {person.name if person else chat_id}"

    def _number(self, chat_id: int, message_id: int) -> int:
        key = (chat_id, message_id)
        if key not in self._numbers:
            self._numbers[key] = len(self._numbers) + 1
            self._messages[self._numbers[key]] = key
        return self._numbers[key]

    def _print_message(self, event: Event, *, edited: bool) -> None:
        assert event.message_id is not None
        number = self._number(event.chat_id, event.message_id)
        body = event.body
        kind = str(body.get("kind") or "text")
        text = body.get("text")
        label = "bot (edited)" if edited else "bot"
        lines = (text or f"<{kind}>").split("\n")
        self.say(f"\n[{number}] {label}{self._for(event.chat_id)}: {lines[0]}")
        for line in lines[1:]:
            self.say(f"    {line}")
        markup = body.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or []
        index = 0
        for row in rows:
            cells = []
            for button in row:
                index += 1
                cell = f"[{number}.{index}] {button.get('text', '')}"
                if "url" in button:
                    cell += f" ({button['url']})"
                cells.append(cell)
            self.say("    " + "  ".join(cells))
        if index:
            self._last_with_buttons[event.chat_id] = number
        keyboard = markup.get("keyboard") or []
        if keyboard:
            texts = [
                b if isinstance(b, str) else str(b.get("text", "")) for r in keyboard for b in r
            ]
            self.say("    menu: " + " | ".join(texts))
        file = body.get("file")
        if isinstance(file, dict):
            self.say(f"    file ({kind}, {file.get('size')} bytes): {file.get('path')}")
        location = (body.get("raw") or {}).get("location")
        if isinstance(location, dict):
            self.say(f"    location: {location.get('latitude')}, {location.get('longitude')}")
