"""Channel-neutral answers: texts by locale key, buttons by named action.

A `View` says what to show, never how: no HTML, no keyboard types. Parameters are shown as
typed (each channel's renderer escapes them for its own markup); a parameter may itself be a
`Text` (a status name, a label) or a `Join` of texts, rendered in the same language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Button:
    label: Text
    action: Action


@dataclass(frozen=True)
class View:
    """One message: paragraphs (each a Text) and rows of buttons."""

    lines: Sequence[Text]
    buttons: Sequence[Sequence[Button]] = ()
    # Show the channel's main menu with this message (where the channel has one and the
    # message has no buttons of its own), e.g. after a dialog ends.
    menu: bool = False

    @classmethod
    def of(cls, key: str, /, **params: Any) -> View:
        return cls([Text(key, params)])
