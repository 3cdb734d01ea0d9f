"""The messages notices send through the outbox: the notice as members get it (text, photo or
file, acknowledgement buttons), the reminder to the silent ones, and the summary its author gets
when it is done. Storage fans them out and says who is told; this module says what they read."""

from __future__ import annotations

from collections.abc import Callable

from handlers import callbacks
from storage.models import AckMode
from storage.notices import NoticeSummary, NoticeView
from storage.outbox import Button, Message, button, formatted

FEATURE = "ntc"
# (notice id, option index) -> the data of that acknowledgement button
AckData = Callable[[int, int], str]


def ack_data(notice_id: int, option: int) -> str:
    """The data of a member's acknowledgement button: in outbox rows, in the scheduler's
    reminders (bot/app.py hands the composer in) and on My notices; handled by
    acks.acknowledge."""
    return callbacks.make(FEATURE, "acknowledge", notice_id, option)


def ack_buttons(view: NoticeView, data: AckData = ack_data) -> list[list[Button]]:
    """The reply buttons members get: "received", or one per staff-written option."""
    if view.ack_mode is AckMode.received:
        return [[button("notices.ack_button", data(view.id, 0))]]
    if view.ack_mode is AckMode.options:
        return [
            [{"label": label, "data": data(view.id, index)}]
            for index, label in enumerate(view.ack_options)
        ]
    return []


def template(view: NoticeView, *, reminder: bool = False) -> str:
    if reminder:
        return "notices.reminder"
    return "notices.message_ack" if view.asks_ack else "notices.message"


def message(view: NoticeView) -> Message:
    """The notice as every recipient gets it (the body is staff's formatted text)."""
    return Message(
        template(view), {"body": formatted(view.body)}, ack_buttons(view), view.attachment
    )


def reminder(view: NoticeView) -> Message:
    """The reminder carries the whole text (for those it failed to reach it is the notice)."""
    return Message(template(view, reminder=True), {"body": formatted(view.body)}, ack_buttons(view))


def summary(told: NoticeSummary) -> Message:
    stats = told.stats
    return Message(
        "notices.summary",
        {
            "id": told.notice_id,
            "total": stats.total,
            "delivered": stats.delivered,
            "failed": stats.failed,
            "unreachable": stats.unreachable,
        },
        [[button("notices.stats_open_button", callbacks.make(FEATURE, "stats", told.notice_id))]],
    )
