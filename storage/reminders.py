"""What is due to be reminded, derived from the data at a given moment, enqueued exactly once.

Every reminder has a dedupe key in the outbox; the key is written in the same transaction as
the message, so a scan that runs twice, or on two instances at once, enqueues it once. Keys of
activity reminders carry the activity's start time: postponing an activity makes new reminders,
and `cancel_stale` withdraws the pending ones that no longer fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import DeliveryStatus, Member, OutboxMessage, Priority
from storage.models.activities import Activity, ActivitySignup, ActivityStatus, SignupStatus
from storage.timing import QuietHours, at_local

ACTIVITY_REMINDER = "activity_reminder"
LIVE_ACTIVITY = (ActivityStatus.published, ActivityStatus.postponed)


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out; built from the settings by the scheduler."""

    tz: ZoneInfo
    quiet: QuietHours
    day_before_at: time = time(17, 0)
    before_start: timedelta = timedelta(hours=2)
    weekly_weekday: int = 0
    weekly_at: time = time(8, 0)
    digest_at: time = time(8, 30)
    notice_remind_after: timedelta = timedelta(hours=24)
    notice_remind_max: int = 2


def local_text(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _activity_params(activity: Activity, tz: ZoneInfo) -> dict[str, Any]:
    assert activity.starts_at is not None
    return {
        "title": activity.title,
        "start": local_text(activity.starts_at, tz),
        "place": activity.place,
        "activity_id": activity.id,
        "starts_at_ts": int(activity.starts_at.timestamp()),
    }


async def activity_reminders(session: AsyncSession, now: datetime, policy: ReminderPolicy) -> int:
    """Day-before and shortly-before reminders for members signed up to upcoming activities.

    A reminder is still useful until the next one is due (or the start): after downtime it is
    caught up within that window and dropped after it, never sent late.
    """
    horizon = now + timedelta(days=2)
    rows = (
        await session.execute(
            select(Activity, Member.id, Member.chat_id)
            .join(ActivitySignup, ActivitySignup.activity_id == Activity.id)
            .join(Member, Member.id == ActivitySignup.member_id)
            .where(
                Activity.status.in_(LIVE_ACTIVITY),
                Activity.starts_at > now,
                Activity.starts_at <= horizon,
                ActivitySignup.status == SignupStatus.signed_up,
                Member.active,
                Member.chat_id.is_not(None),
            )
        )
    ).all()
    if not rows:
        return 0
    activity_ids = {activity.id for activity, _, _ in rows}
    existing = set(
        await session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.source_type == ACTIVITY_REMINDER,
                OutboxMessage.source_id.in_(activity_ids),
            )
        )
    )
    enqueued = 0
    for activity, member_id, chat_id in rows:
        starts_at = activity.starts_at
        if starts_at is None or chat_id is None:
            continue
        soon_due = starts_at - policy.before_start
        day_before_due = at_local(starts_at - timedelta(days=1), policy.day_before_at, policy.tz)
        windows = [("day_before", day_before_due, soon_due), ("soon", soon_due, starts_at)]
        for kind, due, useful_until in windows:
            if not due <= now < useful_until:
                continue
            key = f"rem:act:{activity.id}:{member_id}:{kind}:{int(starts_at.timestamp())}"
            if key in existing:
                continue
            send_at = policy.quiet.release(now)
            if send_at >= useful_until:
                continue  # held past its use by quiet hours: the next reminder covers it
            await outbox.enqueue(
                session,
                chat_id=chat_id,
                member_id=member_id,
                kind="reminder",
                template=f"reminders.activity_{kind}",
                params=_activity_params(activity, policy.tz),
                buttons=[[outbox.button("reminders.open_activity", f"act:open:{activity.id}")]],
                priority=Priority.personal,
                source_type=ACTIVITY_REMINDER,
                source_id=activity.id,
                dedupe_key=key,
                not_before=send_at,
            )
            existing.add(key)
            enqueued += 1
    return enqueued


async def cancel_stale(session: AsyncSession, activity_id: int | None = None) -> int:
    """Withdraw pending activity reminders that no longer fit: cancelled or moved activities,
    members no longer signed up. Called by the scan and right after an activity changes."""
    query = select(OutboxMessage).where(
        OutboxMessage.source_type == ACTIVITY_REMINDER,
        OutboxMessage.status == DeliveryStatus.pending,
    )
    if activity_id is not None:
        query = query.where(OutboxMessage.source_id == activity_id)
    pending = list(await session.scalars(query))
    if not pending:
        return 0
    ids = {row.source_id for row in pending if row.source_id is not None}
    activities = {
        a.id: a for a in await session.scalars(select(Activity).where(Activity.id.in_(ids)))
    }
    signed = {
        (activity_id, member_id)
        for activity_id, member_id in await session.execute(
            select(ActivitySignup.activity_id, ActivitySignup.member_id).where(
                ActivitySignup.activity_id.in_(ids),
                ActivitySignup.status == SignupStatus.signed_up,
            )
        )
    }
    stale = []
    for row in pending:
        activity = activities.get(row.source_id or 0)
        if (
            activity is None
            or activity.status not in LIVE_ACTIVITY
            or activity.starts_at is None
            or row.params.get("starts_at_ts") != int(activity.starts_at.timestamp())
            or (activity.id, row.member_id) not in signed
        ):
            stale.append(row.id)
    if stale:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(stale), OutboxMessage.status == DeliveryStatus.pending)
            .values(status=DeliveryStatus.cancelled, last_error="reminder no longer applies")
        )
    return len(stale)
