"""The messages activity changes send: how a channel wants them (Notify), the local time text
they carry, and the outbox rows for one member or for everyone signed up.

Messages are outbox rows with locale keys; storage knows no Telegram and no HTML."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import identities, outbox
from storage.identities import Address
from storage.models import (
    Activity,
    ActivitySignup,
    Identity,
    Member,
    Priority,
    SignupStatus,
)
from storage.outbox import Button

NOTICE_KIND = "activity"
SOURCE = "activity"


class NoticeKind(enum.StrEnum):
    published = "published"
    promoted = "promoted"
    changed = "changed"
    postponed = "postponed"
    cancelled = "cancelled"


ButtonsFor = Callable[[int, NoticeKind], Sequence[Sequence[Button]]]


def _no_buttons(_activity_id: int, _kind: NoticeKind) -> Sequence[Sequence[Button]]:
    return ()


@dataclass(frozen=True)
class Notify:
    """How this channel wants notices about activities: its time zone and its buttons.

    Values go into the outbox as typed; the delivery worker escapes them when it renders the
    message (bot/i18n.py), so storage knows nothing of HTML."""

    tz: tzinfo
    buttons: ButtonsFor = _no_buttons


def format_local(moment: datetime | None, tz: tzinfo) -> str:
    """A moment as local wall-clock text, the same in every language: 2026-12-05 14:30."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def format_span(start: datetime | None, end: datetime | None, tz: tzinfo) -> str:
    """2026-12-05 14:30–16:30, or both full moments when the end is on another day."""
    if start is None:
        return ""
    if end is None:
        return format_local(start, tz)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_start.date() == local_end.date():
        return f"{format_local(start, tz)}–{local_end.strftime('%H:%M')}"
    return f"{format_local(start, tz)} – {format_local(end, tz)}"


async def notice(
    session: AsyncSession,
    activity: Activity,
    member_id: int,
    to: Address | None,
    kind: NoticeKind,
    notify: Notify,
    *,
    priority: int = Priority.personal,
    dedupe_key: str | None = None,
    **extra: Any,
) -> bool:
    """Put one message about the activity in the outbox for one member; False if unreachable."""
    if to is None:
        return False
    params: dict[str, Any] = {
        "title": activity.title,
        "when": format_span(activity.starts_at, activity.ends_at, notify.tz),
        "place": activity.place or "—",
        "type": {"key": f"activities.type_{activity.type.value}"},
    }
    params.update(extra)
    message = await outbox.enqueue(
        session,
        to=to,
        kind=NOTICE_KIND,
        member_id=member_id,
        template=f"activities.notice_{kind.value}",
        params=params,
        buttons=notify.buttons(activity.id, kind) or None,
        priority=priority,
        source_type=SOURCE,
        source_id=activity.id,
        dedupe_key=dedupe_key,
    )
    return message is not None


async def tell_signed_up(
    session: AsyncSession, activity: Activity, kind: NoticeKind, notify: Notify, **extra: Any
) -> int:
    """A notice to everyone signed up, waiting or checked in; returns how many were queued."""
    rows = await session.execute(
        select(Member.id, Identity.channel, Identity.address)
        .join(ActivitySignup, ActivitySignup.member_id == Member.id)
        .join(Identity, identities.preferred(Member.id))
        .where(
            ActivitySignup.activity_id == activity.id,
            ActivitySignup.status.in_(
                (SignupStatus.signed_up, SignupStatus.waiting, SignupStatus.checked_in)
            ),
            Member.active,
        )
        .order_by(ActivitySignup.position)
    )
    sent = 0
    for member_id, channel, address in rows:
        to = Address(channel, address)
        if await notice(session, activity, member_id, to, kind, notify, **extra):
            sent += 1
    return sent
