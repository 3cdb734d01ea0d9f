"""Channel-neutral answers: texts by locale key, buttons by named action.

A `View` says what to show, never how: no HTML, no keyboard types. Parameters are shown as
typed (each channel's renderer escapes them for its own markup); a parameter may itself be a
`Text` (a status name, a label) or a `Join` of texts, rendered in the same language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers import callbacks


@dataclass(frozen=True)
class Text:
    """The text for a locale key, with parameters (str, numbers, `Text`, `Join`)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, key: str, /, **params: Any) -> Text:
        return cls(key, params)


@dataclass(frozen=True)
class Join:
    """Items shown one after another with a separator (e.g. a localized list separator)."""

    separator: Text | str
    items: Sequence[Text | str]


@dataclass(frozen=True)
class Action:
    """What a button does: a feature's named action with its arguments (short ids)."""

    feature: str
    name: str
    args: tuple[str, ...] = ()

    @classmethod
    def of(cls, feature: str, name: str, *args: object) -> Action:
        return cls(feature, name, tuple(str(a) for a in args))

    def encode(self) -> str:
        """ "feature:name:args": Telegram's callback data, any channel's button key (≤ 64 bytes,
        checked here, so a view that could not be sent fails where it is built)."""
        return callbacks.make(self.feature, self.name, *self.args)

    @classmethod
    def decode(cls, data: str | None) -> Action | None:
        parsed = callbacks.parse(data)
        return cls(parsed.feature, parsed.action, parsed.args) if parsed else None


# A paragraph: a text by key, a joined list, or a string. A plain str is shown as typed;
# `bot.i18n.Markup` is text our own code already composed in the locale format (Telegram HTML,
# e.g. from `turn.t`), which each channel's renderer turns into its own.
Line = Text | Join | str


@dataclass(frozen=True)
class Button:
    label: Text | str  # a str label is shown as typed
    action: Action


@dataclass(frozen=True)
class OutFile:
    """A file to send with a view: its bytes, a stored file's path (read when sent), or a
    file the channel already holds (`ref`: a received media's "file_id", sent again as is)."""

    name: str
    data: bytes | None = None
    path: Path | None = None
    kind: str = "document"  # "document", "photo" or "voice"
    ref: str | None = None

    def content(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()


@dataclass(frozen=True)
class Request:
    """A one-tap request for something the member's phone knows: "contact" (their own phone
    number) or "location" (where they are), on a button labelled `label`."""

    what: str
    label: Text


@dataclass(frozen=True)
class View:
    """One message: paragraphs, rows of buttons, and optionally a file (the text becomes its
    caption where it fits) or a request for the member's contact or location."""

    lines: Sequence[Line]
    buttons: Sequence[Sequence[Button]] = ()
    # Show the channel's main menu with this message (where the channel has one and the
    # message has no buttons of its own), e.g. after a dialog ends.
    menu: bool = False
    file: OutFile | None = None
    request: Request | None = None
    # Take away a request's keyboard (where the channel shows one) once it was answered.
    close_request: bool = False

    @classmethod
    def of(cls, key: str, /, **params: Any) -> View:
        return cls([Text(key, params)])


def buttons_of(rows: Sequence[Sequence[tuple[Text | str, str]]]) -> list[list[Button]]:
    """Rows of (label, encoded action "feature:name:args") as buttons."""
    out = []
    for row in rows:
        buttons = []
        for label, data in row:
            action = Action.decode(data)
            if action is None:
                raise ValueError(f"not an action: {data!r}")
            buttons.append(Button(label, action))
        out.append(buttons)
    return out
