"""The consoles' shared store: what every console's emulator sent, and the ids they hand out.

Each ``cppcc-bot console`` runs its own emulator, and the bot in any of them may send to anyone
(the delivery worker takes whatever outbox row is due, whichever console started it). So every
emulator writes what it sends, edits or deletes, and every pop-up it answers, into one SQLite
file beside the bot's data (``DATA_DIR/console/console.sqlite3``), keyed by chat; a console shows
its people's rows from there, including those written while it was not running, as a phone
shows a chat's new messages when it is opened.

The same file hands out the ids Telegram would: update ids and message ids. The bot remembers
the update ids it handled (``storage/updates.py``) and drops a repeated one as a redelivery, so
ids must never repeat for one bot database: they come from a counter here, under SQLite's write
lock (two consoles at once take turns), and never below the current time in milliseconds, so a
deleted store cannot make them start again below ids already used. Message ids are per chat and
shared by every console, so a message one console's bot sent can be pressed or edited in another.

Files the bot sends are written under ``DATA_DIR/console/files/<chat id>/``.
"""

from __future__ import annotations

import json
import mimetypes
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL,
    message_id INTEGER,
    event TEXT NOT NULL,
    at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_chat ON events (chat_id, seq);
CREATE TABLE IF NOT EXISTS seen (chat_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
"""
# Magic numbers of what the bot sends: a chart is a PNG, an export a zip (xlsx, docx).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF8", ".gif"),
    (b"%PDF", ".pdf"),
    (b"OggS", ".ogg"),
)
_UNSAFE = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class Event:
    """One row: a message "sent", "edited" or "deleted", or a "popup" (a button's answer)."""

    seq: int
    chat_id: int
    message_id: int | None
    event: str
    body: JSON


class ConsoleStore:
    """The shared store (see the module docstring); one connection per process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files_dir = directory / "files"
        directory.mkdir(parents=True, exist_ok=True)
        # Autocommit, explicit BEGIN IMMEDIATE: a counter is read and written under the lock.
        self._db = sqlite3.connect(directory / "console.sqlite3", timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # ---------------------------------------------------------------- ids

    def _take(self, name: str, floor: int) -> int:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            value = max(floor, (row[0] if row else 0) + 1)
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return int(value)

    def next_update_id(self) -> int:
        return self._take("update_id", int(time.time() * 1000))

    def next_message_id(self, chat_id: int) -> int:
        return self._take(f"message:{chat_id}", 1)

    # ---------------------------------------------------------------- events

    def record(self, chat_id: int, message_id: int | None, event: str, body: JSON) -> int:
        cursor = self._db.execute(
            "INSERT INTO events (chat_id, message_id, event, at, body) VALUES (?, ?, ?, ?, ?)",
            (chat_id, message_id, event, time.time(), json.dumps(body, ensure_ascii=False)),
        )
        return int(cursor.lastrowid or 0)

    def events(self, chat_ids: list[int], after: int) -> list[Event]:
        """Rows for these chats with seq > after, oldest first."""
        if not chat_ids:
            return []
        marks = ",".join("?" * len(chat_ids))
        rows = self._db.execute(
            f"SELECT seq, chat_id, message_id, event, body FROM events "  # only ? placeholders
            f"WHERE chat_id IN ({marks}) AND seq > ? ORDER BY seq",
            (*chat_ids, after),
        ).fetchall()
        return [Event(s, c, m, e, json.loads(b)) for s, c, m, e, b in rows]

    def last_seq(self) -> int:
        row = self._db.execute("SELECT MAX(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def latest(self, chat_id: int, message_id: int) -> Event | None:
        """The latest state of a message (its last "sent" or "edited" row), unless deleted."""
        row = self._db.execute(
            "SELECT seq, chat_id, message_id, event, body FROM events "
            "WHERE chat_id = ? AND message_id = ? AND event IN ('sent', 'edited', 'deleted') "
            "ORDER BY seq DESC LIMIT 1",
            (chat_id, message_id),
        ).fetchone()
        if row is None or row[3] == "deleted":
            return None
        return Event(row[0], row[1], row[2], row[3], json.loads(row[4]))

    def seen(self, chat_id: int) -> int:
        """The last row the person of this chat was shown."""
        row = self._db.execute("SELECT seq FROM seen WHERE chat_id = ?", (chat_id,)).fetchone()
        return int(row[0]) if row else 0

    def mark_seen(self, chat_id: int, seq: int) -> None:
        self._db.execute(
            "INSERT INTO seen (chat_id, seq) VALUES (?, ?) "
            "ON CONFLICT (chat_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            (chat_id, seq),
        )

    # ---------------------------------------------------------------- files

    def save_file(
        self,
        chat_id: int,
        message_id: int,
        data: bytes,
        *,
        kind: str,
        file_name: str | None,
        mime_type: str | None,
    ) -> Path:
        """Write a file the bot sent; the name keeps the bot's and gets a telling extension."""
        folder = self.files_dir / str(chat_id)
        folder.mkdir(parents=True, exist_ok=True)
        stem = _UNSAFE.sub("_", Path(file_name).name) if file_name else kind
        path = folder / f"{message_id}-{stem}"
        extension = file_extension(data, file_name, mime_type)
        if not path.name.lower().endswith(extension):
            path = path.with_name(path.name + extension)
        path.write_bytes(data)
        return path


def file_extension(data: bytes, file_name: str | None, mime_type: str | None) -> str:
    """The extension a file should have: its name's, else what its bytes are, else its type's.

    A chart comes as bytes without a name or type (PTB then says application/octet-stream);
    its bytes say PNG."""
    if file_name and "." in Path(file_name).name:
        return "." + Path(file_name).name.rsplit(".", 1)[1].lower()
    for magic, extension in _SIGNATURES:
        if data.startswith(magic):
            return extension
    if mime_type and mime_type != "application/octet-stream":
        guessed = mimetypes.guess_extension(mime_type)
        if guessed:
            return guessed
    return ".bin"
