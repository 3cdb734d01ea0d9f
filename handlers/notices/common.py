"""What every part of the notices feature shares: its actions, refusals, time and text helpers,
and the notice as a member sees it (body, photo or file, acknowledgement buttons).

Written against the channel seam (handlers/channel), like the rest of the feature except the
Telegram progress service (progress.py)."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Markup, escape
from bot.telegram_text import truncate_utf16
from handlers import callbacks
from handlers.callbacks import Callback
from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Line, OutFile, Text, View, buttons_of
from handlers.notices.messages import FEATURE, AckData, ack_buttons, ack_data
from storage import notices
from storage.models import AckMode
from storage.models.notices import NoticeStatus
from storage.notices import NoticeView, Problem

FLOW = "notice"

E = TypeVar("E", bound=enum.Enum)


def cb(action: str, *args: object) -> str:
    """Callback data of a notices button: "ntc:<action>:<args>"."""
    return callbacks.make(FEATURE, action, *args)


def button(label: Text | str, action: str, *args: object) -> Button:
    """A notices button: a label (a locale text, or a str shown as typed) and its action."""
    return Button(label, Action.of(FEATURE, action, *args))


def pressed(turn: Turn) -> Callback:
    """The pressed button's action with its arguments, read with the same checks as before the
    seam (`int_arg`: a positive int or None, so a forged button gets the stale answer)."""
    action = turn.action
    assert action is not None  # buttons are routed only with their action
    return Callback(action.feature, action.name, action.args)


def enum_arg(data: Callback, index: int, kind: type[E]) -> E | None:
    """The index-th argument as a member of kind, or None (a forged button)."""
    try:
        return kind(data.arg(index) or "")
    except ValueError:
        return None


def typed(turn: Turn) -> str | None:
    """What the member typed as a message of its own; a file's caption is not an answer."""
    return turn.text if turn.media is None else None


def formatted(turn: Turn) -> str:
    """The message's text (or caption) in the locale format with the member's formatting, as
    staff compose a notice; escaped as typed where the channel has no formatting."""
    if turn.formatted_text is not None:
        return turn.formatted_text
    return escape(turn.text or "")


async def explain(turn: Turn, problem: Problem, **params: Any) -> None:
    """Explain why nothing changed: an alert on a button, a message otherwise."""
    params.setdefault("max", notices.MAX_OPTION_CHARS)
    params.setdefault("limit", notices.MAX_BODY_CHARS)
    params.setdefault("length", "")
    await turn.notify(f"notices.error_{problem.value}", alert=True, **params)


async def stale(turn: Turn) -> None:
    await turn.notify("common.stale_button", alert=True)


async def pressed_notice(turn: Turn, session: AsyncSession) -> NoticeView | None:
    """The notice the pressed button names, when this staff member may see it; otherwise the
    member is told why (a stale or forged button, not allowed) and None comes back."""
    notice_id = pressed(turn).int_arg(0)
    if notice_id is None:
        await stale(turn)
        return None
    view = await notices.get(session, turn.member, notice_id)
    if isinstance(view, Problem):
        await explain(turn, view)
        return None
    return view


async def pressed_draft(turn: Turn) -> NoticeView | None:
    """The draft the pressed button names, while it still is one; None (the member told)
    otherwise."""
    notice_id = pressed(turn).int_arg(0)
    if notice_id is None:
        await stale(turn)
        return None
    async with turn.db.transaction() as session:
        draft = await notices.get(session, turn.member, notice_id)
    if isinstance(draft, Problem) or draft.status is not NoticeStatus.draft:
        await explain(turn, Problem.not_draft)
        return None
    return draft


def local(turn: Turn, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(turn.settings.tz).strftime("%Y-%m-%d %H:%M")


def first_line(body: str, limit: int = 24) -> str:
    plain = re.sub(r"<[^>]+>", "", body).replace("&lt;", "<").replace("&gt;", ">")
    plain = plain.replace("&quot;", '"').replace("&amp;", "&")
    line = next((part.strip() for part in plain.splitlines() if part.strip()), "")
    return truncate_utf16(line, limit)


def answer_label(turn: Turn, view: NoticeView, option: int) -> str:
    """What a member answered: the option's label, or "received"."""
    if view.ack_mode is AckMode.options and 0 <= option < len(view.ack_options):
        return view.ack_options[option]
    return turn.t("notices.received_answer")


def member_buttons(view: NoticeView, data: AckData = ack_data) -> list[list[Button]]:
    """The acknowledgement buttons as members see them (labels in the viewer's language)."""
    rows = ack_buttons(view, data)
    return buttons_of(
        [
            [(Text(spec["key"]) if "key" in spec else spec["label"], spec["data"]) for spec in row]
            for row in rows
        ]
    )


def notice_copy(
    view: NoticeView, lines: Sequence[Line], buttons: Sequence[Sequence[Button]]
) -> View:
    """The notice as a member gets it, with its photo or file (the text its caption when it
    fits, else sent after it)."""
    attachment = view.attachment
    file = None
    if attachment:
        kind = "photo" if attachment.get("type") == "photo" else "document"
        name = attachment.get("filename") or ""
        file = OutFile(name, ref=attachment["file_id"], kind=kind)
    return View(lines, buttons, file=file)


def body_of(view: NoticeView) -> Markup:
    """The notice's body: the author's own formatting, shown as it is."""
    return Markup(view.body)
