"""What the due-scan's reminders say (storage/reminders.py finds what is due, bot/scheduler.py
posts it): the day-before and shortly-before activity reminders, the sign-up deadline
reminder, the weekly schedule (周安排) and the staff's daily digest. Texts in reminders.toml;
the buttons are the activities feature's."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from handlers.activities.messages import open_button, reply_buttons
from storage.activities import format_local
from storage.outbox import Message
from storage.reminders import (
    ActivityReminder,
    DeadlineReminder,
    DigestActivity,
    LowAck,
    Reminder,
    ScheduleItem,
    StaffDigest,
    WeeklySchedule,
)

PREVIEW_LENGTH = 30  # characters of a notice's body in the digest


def _local(moment: datetime, tz: tzinfo, pattern: str) -> str:
    """A short local form (month-day) for schedule lines; full moments are format_local's."""
    return moment.astimezone(tz).strftime(pattern)


def _line(
    kind: str, item: ScheduleItem | DigestActivity, tz: tzinfo, **more: Any
) -> dict[str, Any]:
    """One activity in a schedule, a line rendered in the recipient's language."""
    place = {"key": "reminders.at_place", "params": {"place": item.place}} if item.place else ""
    params = {
        "when": _local(item.starts_at, tz, "%m-%d %H:%M"),
        "title": item.title,
        "place": place,
    }
    return {"key": f"reminders.line_{kind}", "params": {**params, **more}}


def _low_ack_line(notice: LowAck) -> dict[str, Any]:
    return {
        "key": "reminders.line_low_ack",
        "params": {
            "id": notice.notice_id,
            # The start of the body as the recipient reads it, on one line.
            "preview": {"preview": notice.body, "length": PREVIEW_LENGTH},
            "acked": notice.acked,
            "total": notice.total,
        },
    }


def compose(reminder: Reminder, tz: tzinfo) -> Message:
    if isinstance(reminder, ActivityReminder | DeadlineReminder):
        params: dict[str, Any] = {
            "title": reminder.title,
            "start": format_local(reminder.starts_at, tz),
            "place": reminder.place,
        }
        opening = [open_button(reminder.activity_id, "reminders.open_activity")]
        if isinstance(reminder, ActivityReminder):
            return Message(f"reminders.activity_{reminder.lead.value}", params, [opening])
        params["deadline"] = format_local(reminder.deadline, tz)
        replies = reply_buttons(reminder.activity_id, "reminders.sign_up", "reminders.ask_leave")
        return Message("reminders.deadline", params, [replies, opening])
    if isinstance(reminder, WeeklySchedule):
        lines = [
            _line("staff" if reminder.for_staff else "signed" if i.signed else "invited", i, tz)
            for i in reminder.items
        ]
        return Message(
            "reminders.weekly_staff" if reminder.for_staff else "reminders.weekly_member",
            {
                "week": _local(reminder.week_start, tz, "%m-%d"),
                "lines": {"lines": lines},
                "count": len(lines),
            },
        )
    return _digest(reminder, tz)


def _digest(digest: StaffDigest, tz: tzinfo) -> Message:
    activities = [
        _line(
            "digest",
            a,
            tz,
            taken=a.taken,
            capacity="∞" if a.capacity is None else str(a.capacity),
            waiting=a.waiting,
            leave=a.leave,
        )
        for a in digest.activities
    ]
    return Message(
        "reminders.staff_digest",
        {
            "date": digest.day,
            "reports_waiting": digest.reports_waiting,
            "activities": {"lines": activities},
            "notices": {"lines": [_low_ack_line(n) for n in digest.low_ack]},
        },
    )
