"""The messages activities send through the outbox: what a member reads when an activity they are
invited to or signed up for is published, changed, postponed or called off, or when they move
up from the waiting list. Storage says who is told and why (`ActivityNews`); this module says
what they read, with buttons to act on it, and posts it in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import callbacks
from handlers.activities.common import MEMBER
from storage import outbox
from storage.activities import ActivityNews, NoticeKind, format_local, format_span
from storage.outbox import Button, Message, button


def open_button(activity_id: int, key: str = "activities.btn_open") -> Button:
    return button(key, callbacks.make(MEMBER, "open", activity_id))


def reply_buttons(activity_id: int, signup_key: str, leave_key: str) -> list[Button]:
    """Sign up / ask for leave, on an invitation and on the deadline reminder."""
    return [
        button(signup_key, callbacks.make(MEMBER, "signup", activity_id)),
        button(leave_key, callbacks.make(MEMBER, "leave", activity_id)),
    ]


def compose(item: ActivityNews, tz: tzinfo) -> Message:
    params: dict[str, Any] = {
        "title": item.title,
        "when": format_span(item.starts_at, item.ends_at, tz),
        "place": item.place or "—",
        "type": {"key": f"activities.type_{item.type.value}"},
    }
    buttons = [[open_button(item.activity_id)]]
    if item.news is NoticeKind.published:
        params["deadline"] = format_local(item.deadline, tz)
        buttons.insert(
            0, reply_buttons(item.activity_id, "activities.btn_signup", "activities.btn_leave")
        )
    elif item.news is NoticeKind.postponed:
        params["old"] = format_span(item.old_starts_at, item.old_ends_at, tz)
    elif item.news is NoticeKind.cancelled:
        params["reason"] = item.reason or "—"
    elif item.news is NoticeKind.changed and item.change is not None:
        params["change"] = {
            "key": f"activities.change_{item.change.field}",
            "params": {"old": item.change.old, "new": item.change.new},
        }
    return Message(f"activities.notice_{item.news.value}", params, buttons)


async def tell(session: AsyncSession, news: Iterable[ActivityNews], tz: tzinfo) -> int:
    """Post each item's message; returns how many were queued (a repeated one is not)."""
    queued = 0
    for item in news:
        if await outbox.post(session, item, compose(item, tz)):
            queued += 1
    return queued
