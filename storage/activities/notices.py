"""What activity changes cause members to be told, as typed events (`ActivityNews`), and the
local time text the audit log and the cards share.

Storage decides who is told and why; the caller composes the message (handlers/activities/
messages.py) and posts it in the same transaction. Storage knows no texts, no HTML and no
channel."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import identities, outbox
from storage.identities import Address
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityType,
    Identity,
    Member,
    Priority,
    SignupStatus,
)

NOTICE_KIND = "activity"
SOURCE = "activity"


class NoticeKind(enum.StrEnum):
    published = "published"
    promoted = "promoted"
    changed = "changed"
    postponed = "postponed"
    cancelled = "cancelled"


@dataclass(frozen=True)
class FieldChange:
    """One edited field of an activity, as the audit log words it (local time text)."""

    field: str
    old: str
    new: str


@dataclass(frozen=True, kw_only=True)
class ActivityNews(outbox.Envelope):
    """One member to be told something happened to an activity, with what they need to read."""

    news: NoticeKind
    activity_id: int
    title: str
    type: ActivityType
    starts_at: datetime | None
    ends_at: datetime | None
    place: str | None
    # published: when sign-up closes (the deadline, else the start)
    deadline: datetime | None = None
    # postponed: the start and end before the move
    old_starts_at: datetime | None = None
    old_ends_at: datetime | None = None
    # cancelled: the reason staff gave ("" when none)
    reason: str = ""
    # changed: the field and its old and new text
    change: FieldChange | None = None


def news(
    activity: Activity,
    member_id: int,
    to: Address,
    kind: NoticeKind,
    *,
    priority: int = Priority.personal,
    dedupe_key: str | None = None,
    deadline: datetime | None = None,
    old_starts_at: datetime | None = None,
    old_ends_at: datetime | None = None,
    reason: str = "",
    change: FieldChange | None = None,
) -> ActivityNews:
    return ActivityNews(
        to=to,
        member_id=member_id,
        kind=NOTICE_KIND,
        priority=priority,
        source_type=SOURCE,
        source_id=activity.id,
        dedupe_key=dedupe_key,
        news=kind,
        activity_id=activity.id,
        title=activity.title,
        type=activity.type,
        starts_at=activity.starts_at,
        ends_at=activity.ends_at,
        place=activity.place,
        deadline=deadline,
        old_starts_at=old_starts_at,
        old_ends_at=old_ends_at,
        reason=reason,
        change=change,
    )


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


async def signed_up_news(
    session: AsyncSession,
    activity: Activity,
    kind: NoticeKind,
    *,
    old_starts_at: datetime | None = None,
    old_ends_at: datetime | None = None,
    reason: str = "",
    change: FieldChange | None = None,
) -> tuple[ActivityNews, ...]:
    """News for everyone signed up, waiting or checked in who can be reached."""
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
    return tuple(
        news(
            activity,
            member_id,
            Address(channel, address),
            kind,
            old_starts_at=old_starts_at,
            old_ends_at=old_ends_at,
            reason=reason,
            change=change,
        )
        for member_id, channel, address in rows
    )
