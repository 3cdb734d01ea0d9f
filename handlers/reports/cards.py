"""A report as the member and staff see it: its card (title, facts, the three sections, files),
its history, labels of categories and statuses, and sending a long card as several messages.

Shared by the member side and the staff side; the action prefixes of both live here. Written
against the channel seam (handlers/channel): it runs unchanged on every channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.i18n import Markup, escape
from bot.telegram_text import MAX_TEXT_LENGTH, split_html, truncate_html, visible_len
from handlers.callbacks import Callback
from handlers.channel.turn import Turn
from handlers.channel.views import Action, Button, Text, View
from handlers.reports.files import limits_of
from storage.models import ReportStatus
from storage.reports import SECTIONS, Limits, ReportView

FEATURE = "rep"  # the member's buttons: rep:<action>[:<report id>...]
REVIEW_FEATURE = "rrv"  # staff buttons (short: a search filter rides in the data)
OPEN = "open"  # a member's "open this report", also on the review decisions sent to them
# Telegram's limit: visible text (tags take no room) in UTF-16 units (an emoji counts 2).
MESSAGE_LIMIT = MAX_TEXT_LENGTH


def limits(turn: Turn) -> Limits:
    return limits_of(turn.settings)


def pressed(turn: Turn) -> Callback:
    """The pressed button's arguments, read with the same checks as always (int_arg, arg)."""
    action = turn.action
    if action is None:
        return Callback("", "")
    return Callback(action.feature, action.name, action.args)


def category_text(turn: Turn, key: str | None) -> Text | str:
    """A configured category for a view: translated when the locale knows it, else shown as
    configured (typed by the office, so never markup)."""
    if not key:
        return Text("reports.empty_value")
    locale_key = f"reports.category.{key}"
    return Text(locale_key) if turn.texts.has(locale_key) else key


def category_label(turn: Turn, key: str | None) -> str:
    """The same in the locale format (for cards composed as HTML)."""
    if not key:
        return turn.t("reports.empty_value")
    locale_key = f"reports.category.{key}"
    return turn.t(locale_key) if turn.texts.has(locale_key) else key


def status_label(turn: Turn, status: ReportStatus) -> str:
    return turn.t(f"reports.status.{status.value}")


def local_time(turn: Turn, moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(turn.settings.tz).strftime("%Y-%m-%d %H:%M")


def title(view: ReportView) -> Text | str:
    """A report's title as a view's parameter: as typed, or "(untitled)"."""
    return view.title if view.title else Text("reports.untitled")


def report_blocks(turn: Turn, view: ReportView, *, staff: bool = False) -> list[str]:
    """The whole report as HTML blocks: title, facts, the three sections, files."""
    none = turn.t("reports.empty_value")
    sep = turn.t("reports.list_sep")
    facts = []
    if view.receipt_no:
        facts.append(turn.t("reports.meta.receipt", receipt=view.receipt_no))
    status = status_label(turn, view.status) + (" ⭐" if view.excellent else "")
    facts.append(turn.t("reports.meta.status", status=status))
    facts.append(turn.t("reports.meta.category", category=category_label(turn, view.category)))
    if staff:
        facts.append(
            turn.t(
                "reports.meta.author",
                name=view.author_name,
                sector=view.author_sector or "-",
            )
        )
    if view.submitted_at is not None:
        facts.append(turn.t("reports.meta.submitted", time=local_time(turn, view.submitted_at)))
    if view.coauthors:
        names = sep.join(p.name for p in view.coauthors)
        facts.append(turn.t("reports.meta.coauthors", names=names))
    blocks = [f"📝 <b>{escape(view.title) if view.title else none}</b>", "\n".join(facts)]
    for name in SECTIONS:
        value = view.value(name)
        label = turn.t(f"reports.label.{name}")
        blocks.append(f"<b>{label}</b>\n{escape(value) if value else none}")
    if view.attachments:
        names = sep.join(a.file_name for a in view.attachments)
        blocks.append(turn.t("reports.meta.attachments", count=len(view.attachments), names=names))
    return blocks


def history_blocks(turn: Turn, view: ReportView, *, staff: bool = False) -> list[str]:
    """Each status change with its time and what staff wrote; the latest feedback first."""
    blocks = []
    feedback = view.latest_feedback
    if feedback is not None and feedback.note:
        blocks.append(turn.t("reports.feedback", note=feedback.note))
    lines = [turn.t("reports.history_title")]
    for event in view.events:
        line = turn.t(
            "reports.history_line",
            time=local_time(turn, event.at),
            action=turn.t(f"reports.history.{event.action}"),
        )
        if staff and event.actor_name:
            line += turn.t("reports.history_by_staff", name=event.actor_name)
        if event.instructed_by:
            line += "\n" + turn.t("reports.history_instructed_by", name=event.instructed_by)
        if event.note:
            line += "\n" + turn.t("reports.history_note", note=event.note)
        lines.append(line)
    if view.events:
        blocks.append("\n".join(lines))
    return blocks


def pack(blocks: list[str], *, shorten: bool = False) -> list[str]:
    """Blocks joined into as few messages as fit under Telegram's length limit (visible text,
    UTF-16 units). A block longer than a message is cut into several, or with ``shorten``
    shortened with an ellipsis (a preview stays short and its buttons always arrive)."""
    messages: list[str] = []
    current, used = "", 0
    for block in blocks:
        if shorten:
            pieces = [truncate_html(block, MESSAGE_LIMIT)]
        else:
            pieces = split_html(block, MESSAGE_LIMIT)
        for piece in pieces:
            width = visible_len(piece)
            if current and used + 2 + width > MESSAGE_LIMIT:  # 2: the blank line between
                messages.append(current)
                current, used = "", 0
            current, used = (
                (f"{current}\n\n{piece}", used + 2 + width) if current else (piece, width)
            )
    if current:
        messages.append(current)
    return messages


async def send_blocks(
    turn: Turn,
    blocks: list[str],
    *,
    buttons: Sequence[Sequence[Button]] = (),
    shorten: bool = False,
) -> None:
    """Send blocks (HTML composed by report_blocks and friends from escaped pieces) as one or
    more messages; the buttons go on the last one."""
    messages = pack(blocks, shorten=shorten)
    for index, text in enumerate(messages):
        is_last = index == len(messages) - 1
        await turn.reply(View([Markup(text)], buttons if is_last else ()))


def button(key: str, action: str, *args: object, **params: Any) -> Button:
    """A member's button (rep:...); a label's parameters (names) are shown as typed."""
    return Button(Text(key, params), Action.of(FEATURE, action, *args))


def open_data(report_id: int) -> str:
    """The data of a member's "open this report" button."""
    return Action.of(FEATURE, OPEN, report_id).encode()


def staff_button(key: str, action: str, *args: object) -> Button:
    """A staff button (rrv:...)."""
    return Button(Text(key), Action.of(REVIEW_FEATURE, action, *args))


async def refuse(turn: Turn, key: str = "common.stale_button", **params: Any) -> None:
    """The pop-up for a button that did nothing: stale, forged, or not allowed now (parameters
    shown as they are: pop-ups are plain text)."""
    await turn.notify(key, alert=True, **params)
