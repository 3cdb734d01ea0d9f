"""What is due to be reminded, derived from the data at a given moment, as typed events.

Each scan returns the reminders due now (`ActivityReminder`, `DeadlineReminder`,
`WeeklySchedule`, `StaffDigest`); the caller (bot/scheduler.py) composes each message and posts
it in the same transaction. Every reminder has a dedupe key in the outbox, so a scan that runs
twice, or on two instances at once, enqueues it once. Keys of activity reminders carry the
activity's start time: postponing an activity makes new reminders, and `cancel_stale` withdraws
the pending ones that no longer fit.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import identities
from storage.identities import Address
from storage.invitations import member_invited
from storage.models import DeliveryStatus, Identity, Member, OutboxMessage, Priority, Role
from storage.models.activities import Activity, ActivitySignup, ActivityStatus, SignupStatus
from storage.outbox import Envelope, Message
from storage.timing import QuietHours, at_local, latest_daily_slot, latest_weekly_slot

if TYPE_CHECKING:
    from storage.notices import NoticeView

ACTIVITY_REMINDER = "activity_reminder"
LIVE_ACTIVITY = (ActivityStatus.published, ActivityStatus.postponed)


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out; built from the settings by the scheduler."""

    tz: ZoneInfo
    quiet: QuietHours
    day_before_at: time = time(17, 0)
    before_start: timedelta = timedelta(hours=2)
    deadline_before: timedelta = timedelta(hours=24)
    weekly_weekday: int = 0
    weekly_at: time = time(8, 0)
    digest_at: time = time(8, 30)
    notice_remind_after: timedelta = timedelta(hours=24)
    notice_remind_max: int = 2


class Lead(enum.StrEnum):
    """Which reminder before an activity: the evening before, or shortly before the start."""

    day_before = "day_before"
    soon = "soon"


@dataclass(frozen=True, kw_only=True)
class ActivityReminder(Envelope):
    lead: Lead
    activity_id: int
    title: str
    starts_at: datetime
    place: str | None


@dataclass(frozen=True, kw_only=True)
class DeadlineReminder(Envelope):
    """An invited member who has not replied, before the sign-up deadline."""

    activity_id: int
    title: str
    starts_at: datetime
    place: str | None
    deadline: datetime


@dataclass(frozen=True)
class ScheduleItem:
    """One activity in a schedule; `signed` when the member is signed up (else invited)."""

    starts_at: datetime
    title: str
    place: str | None
    signed: bool = False


@dataclass(frozen=True, kw_only=True)
class WeeklySchedule(Envelope):
    """周安排: the week's activities that concern the member (all of them for staff)."""

    week_start: datetime
    for_staff: bool
    items: tuple[ScheduleItem, ...]


@dataclass(frozen=True)
class DigestActivity:
    starts_at: datetime
    title: str
    place: str | None
    taken: int
    capacity: int | None  # None: unlimited
    waiting: int
    leave: int


@dataclass(frozen=True)
class LowAck:
    """A recent notice asking for acknowledgement, below the ratio."""

    notice_id: int
    body: str
    acked: int
    total: int


@dataclass(frozen=True, kw_only=True)
class StaffDigest(Envelope):
    day: str  # the local date, 2026-12-02
    reports_waiting: int
    activities: tuple[DigestActivity, ...]
    low_ack: tuple[LowAck, ...]


Reminder = ActivityReminder | DeadlineReminder | WeeklySchedule | StaffDigest


def _starts_at_stamp(dedupe_key: str | None) -> int | None:
    """The activity start a reminder was made for: the last part of its dedupe key."""
    try:
        return int((dedupe_key or "").rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


async def activity_reminders(
    session: AsyncSession, now: datetime, policy: ReminderPolicy
) -> list[Reminder]:
    """Day-before and shortly-before reminders for members signed up to upcoming activities.

    A reminder is still useful until the next one is due (or the start): after downtime it is
    caught up within that window and dropped after it, never sent late.
    """
    horizon = now + timedelta(days=2)
    rows = (
        await session.execute(
            select(Activity, Member.id, Identity.channel, Identity.address)
            .join(ActivitySignup, ActivitySignup.activity_id == Activity.id)
            .join(Member, Member.id == ActivitySignup.member_id)
            .join(Identity, identities.preferred(Member.id))
            .where(
                Activity.status.in_(LIVE_ACTIVITY),
                Activity.starts_at > now,
                Activity.starts_at <= horizon,
                ActivitySignup.status == SignupStatus.signed_up,
                Member.active,
            )
        )
    ).all()
    if not rows:
        return []
    activity_ids = {activity.id for activity, *_ in rows}
    existing = set(
        await session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.source_type == ACTIVITY_REMINDER,
                OutboxMessage.source_id.in_(activity_ids),
            )
        )
    )
    found: list[Reminder] = []
    for activity, member_id, channel, address in rows:
        starts_at = activity.starts_at
        if starts_at is None:
            continue
        soon_due = starts_at - policy.before_start
        day_before_due = at_local(starts_at - timedelta(days=1), policy.day_before_at, policy.tz)
        windows = [(Lead.day_before, day_before_due, soon_due), (Lead.soon, soon_due, starts_at)]
        for kind, due, useful_until in windows:
            if not due <= now < useful_until:
                continue
            key = f"rem:act:{activity.id}:{member_id}:{kind.value}:{int(starts_at.timestamp())}"
            if key in existing:
                continue
            send_at = policy.quiet.release(now)
            if send_at >= useful_until:
                continue  # held past its use by quiet hours: the next reminder covers it
            found.append(
                ActivityReminder(
                    to=Address(channel, address),
                    member_id=member_id,
                    kind="reminder",
                    priority=Priority.personal,
                    source_type=ACTIVITY_REMINDER,
                    source_id=activity.id,
                    dedupe_key=key,
                    not_before=send_at,
                    lead=kind,
                    activity_id=activity.id,
                    title=activity.title,
                    starts_at=starts_at,
                    place=activity.place,
                )
            )
            existing.add(key)
    return found


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
            or _starts_at_stamp(row.dedupe_key) != int(activity.starts_at.timestamp())
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


DEADLINE_REMINDER = "deadline_reminder"
REPLIED = (
    SignupStatus.signed_up,
    SignupStatus.waiting,
    SignupStatus.leave,
    SignupStatus.checked_in,
)


async def deadline_reminders(
    session: AsyncSession, now: datetime, policy: ReminderPolicy
) -> list[Reminder]:
    """Before a sign-up deadline: invited members who have not replied, when a reply is required."""
    activities_due = list(
        await session.scalars(
            select(Activity).where(
                Activity.status.in_(LIVE_ACTIVITY),
                Activity.reply_required,
                Activity.signup_deadline > now,
                Activity.signup_deadline <= now + policy.deadline_before,
            )
        )
    )
    due: list[Reminder] = []
    for activity in activities_due:
        deadline = activity.signup_deadline
        assert deadline is not None
        replied = select(ActivitySignup.member_id).where(
            ActivitySignup.activity_id == activity.id, ActivitySignup.status.in_(REPLIED)
        )
        silent = (
            await session.execute(
                select(Member.id, Identity.channel, Identity.address)
                .join(Identity, identities.preferred(Member.id))
                .where(Member.active, member_invited(activity.id), Member.id.not_in(replied))
            )
        ).all()
        stamp = int(deadline.timestamp())
        keys = {
            f"rem:deadline:{activity.id}:{member_id}:{stamp}": (member_id, Address(channel, to))
            for member_id, channel, to in silent
        }
        existing = set(
            await session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(list(keys)))
            )
        )
        send_at = policy.quiet.release(now)
        if send_at >= deadline:
            continue
        assert activity.starts_at is not None
        due.extend(
            DeadlineReminder(
                to=address,
                member_id=member_id,
                kind="reminder",
                priority=Priority.normal,
                source_type=DEADLINE_REMINDER,
                source_id=activity.id,
                dedupe_key=key,
                not_before=send_at,
                activity_id=activity.id,
                title=activity.title,
                starts_at=activity.starts_at,
                place=activity.place,
                deadline=deadline,
            )
            for key, (member_id, address) in keys.items()
            if key not in existing
        )
    return due


WEEKLY_SCHEDULE = "weekly_schedule"
STAFF_DIGEST = "staff_digest"
# A weekly schedule that could not go out on Monday morning is still worth sending until then;
# a daily digest only on its own day.
WEEKLY_USEFUL_FOR = timedelta(days=2)
DIGEST_USEFUL_FOR = timedelta(hours=10)


def _item(activity: Activity, *, signed: bool = False) -> ScheduleItem:
    assert activity.starts_at is not None
    return ScheduleItem(activity.starts_at, activity.title, activity.place, signed)


async def weekly_schedule(
    session: AsyncSession, now: datetime, policy: ReminderPolicy
) -> list[Reminder]:
    """周安排: each member gets the week's activities that concern them; staff get all of it."""
    slot = latest_weekly_slot(now, policy.weekly_weekday, policy.weekly_at, policy.tz)
    if now >= slot + WEEKLY_USEFUL_FOR:
        return []
    week = list(
        await session.scalars(
            select(Activity)
            .where(
                Activity.status.in_(LIVE_ACTIVITY),
                Activity.starts_at >= slot,
                Activity.starts_at < slot + timedelta(days=7),
            )
            .order_by(Activity.starts_at, Activity.id)
        )
    )
    stamp = slot.astimezone(policy.tz).strftime("%Y-%m-%d")
    done = set(
        await session.scalars(
            select(OutboxMessage.member_id).where(
                OutboxMessage.source_type == WEEKLY_SCHEDULE,
                OutboxMessage.dedupe_key.like(f"weekly:{stamp}:%"),
            )
        )
    )
    recipients = (
        await session.execute(
            select(Member.id, Identity.channel, Identity.address, Member.role)
            .join(Identity, identities.preferred(Member.id))
            .where(Member.active)
        )
    ).all()
    signed: dict[int, set[int]] = {}
    invited: dict[int, set[int]] = {}
    for activity in week:
        for (member_id,) in await session.execute(
            select(ActivitySignup.member_id).where(
                ActivitySignup.activity_id == activity.id,
                ActivitySignup.status.in_((SignupStatus.signed_up, SignupStatus.waiting)),
            )
        ):
            signed.setdefault(member_id, set()).add(activity.id)
        for (member_id,) in await session.execute(
            select(Member.id).where(Member.active, member_invited(activity.id))
        ):
            invited.setdefault(member_id, set()).add(activity.id)
    due: list[Reminder] = []
    for member_id, channel, address, role in recipients:
        if member_id in done:
            continue
        if role.is_staff:
            items = tuple(_item(a) for a in week)
        else:
            mine_signed = signed.get(member_id, set())
            mine = mine_signed | invited.get(member_id, set())
            items = tuple(_item(a, signed=a.id in mine_signed) for a in week if a.id in mine)
        if not items:
            continue  # nothing this week concerns them: no message
        due.append(
            WeeklySchedule(
                to=Address(channel, address),
                member_id=member_id,
                kind="schedule",
                priority=Priority.normal,
                source_type=WEEKLY_SCHEDULE,
                dedupe_key=f"weekly:{stamp}:{member_id}",
                not_before=policy.quiet.release(now),
                week_start=slot,
                for_staff=role.is_staff,
                items=items,
            )
        )
    return due


async def staff_digest(
    session: AsyncSession, now: datetime, policy: ReminderPolicy
) -> list[Reminder]:
    """The daily digest for staff: reports waiting for review, tomorrow's activities."""
    from storage.models.reports import Report, ReportStatus  # the reports feature's table

    slot = latest_daily_slot(now, policy.digest_at, policy.tz)
    if now >= slot + DIGEST_USEFUL_FOR:
        return []
    stamp = slot.astimezone(policy.tz).strftime("%Y-%m-%d")
    staff = (
        await session.execute(
            select(Member.id, Identity.channel, Identity.address)
            .join(Identity, identities.preferred(Member.id))
            .where(Member.active, Member.role != Role.member)
        )
    ).all()
    keys = {
        f"digest:{stamp}:{member_id}": (member_id, Address(channel, address))
        for member_id, channel, address in staff
    }
    existing = set(
        await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(list(keys)))
        )
    )
    if not keys.keys() - existing:
        return []
    waiting = await session.scalar(
        select(func.count()).select_from(Report).where(Report.status == ReportStatus.submitted)
    )
    tomorrow = at_local(now + timedelta(days=1), time(0, 0), policy.tz)
    upcoming = list(
        await session.scalars(
            select(Activity)
            .where(
                Activity.status.in_(LIVE_ACTIVITY),
                Activity.starts_at >= tomorrow,
                Activity.starts_at < tomorrow + timedelta(days=1),
            )
            .order_by(Activity.starts_at)
        )
    )
    activities: list[DigestActivity] = []
    for activity in upcoming:
        counts: dict[SignupStatus, int] = {
            status: n
            for status, n in await session.execute(
                select(ActivitySignup.status, func.count())
                .where(ActivitySignup.activity_id == activity.id)
                .group_by(ActivitySignup.status)
            )
        }
        taken = counts.get(SignupStatus.signed_up, 0) + counts.get(SignupStatus.checked_in, 0)
        assert activity.starts_at is not None
        activities.append(
            DigestActivity(
                activity.starts_at,
                activity.title,
                activity.place,
                taken=taken,
                capacity=activity.capacity,
                waiting=counts.get(SignupStatus.waiting, 0),
                leave=counts.get(SignupStatus.leave, 0),
            )
        )
    low_ack = await _low_ack(session, now)
    return [
        StaffDigest(
            to=to,
            member_id=member_id,
            kind="digest",
            priority=Priority.normal,
            source_type=STAFF_DIGEST,
            dedupe_key=key,
            not_before=policy.quiet.release(now),
            day=stamp,
            reports_waiting=waiting or 0,
            activities=tuple(activities),
            low_ack=low_ack,
        )
        for key, (member_id, to) in keys.items()
        if key not in existing
    ]


LOW_ACK_RATIO = 0.8


async def _low_ack(session: AsyncSession, now: datetime) -> tuple[LowAck, ...]:
    """Notices of the last week asking for acknowledgement, below 80% acknowledged."""
    from storage.models.notices import AckMode, Notice, NoticeRecipient  # the notices feature

    rows = (
        await session.execute(
            select(
                Notice.id,
                Notice.body,
                func.count(NoticeRecipient.id),
                func.count(NoticeRecipient.acked_at),
            )
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .where(Notice.ack_mode != AckMode.none, Notice.queued_at >= now - timedelta(days=7))
            .group_by(Notice.id, Notice.body)
            .order_by(Notice.id)
        )
    ).all()
    return tuple(
        LowAck(notice_id, body, acked, total)
        for notice_id, body, total, acked in rows
        if total and acked / total < LOW_ACK_RATIO
    )


async def notice_reminders(
    session: AsyncSession,
    now: datetime,
    policy: ReminderPolicy,
    message: Callable[[NoticeView], Message],
) -> int:
    """Re-remind the silent recipients of notices asking for acknowledgement, after a delay,
    at most notice_remind_max times (reminders staff sent by hand count too)."""
    from storage import notices  # the notices feature (it imports the outbox, as we do)
    from storage.models.notices import AckMode, Notice, NoticeRecipient, NoticeStatus

    if policy.notice_remind_max == 0:
        return 0
    last_reminded = (
        select(func.max(NoticeRecipient.reminded_at))
        .where(NoticeRecipient.notice_id == Notice.id)
        .scalar_subquery()
    )
    due = (
        Notice.ack_mode != AckMode.none,
        Notice.status.in_((NoticeStatus.sending, NoticeStatus.done)),
        Notice.reminders < policy.notice_remind_max,
        Notice.queued_at <= now - policy.notice_remind_after,
        func.coalesce(last_reminded, Notice.queued_at) <= now - policy.notice_remind_after,
    )
    candidates = list(await session.scalars(select(Notice.id).where(*due)))
    enqueued = 0
    for notice_id in candidates:
        # Lock, then look again: another instance may have just reminded this notice.
        still_due = await session.scalar(
            select(Notice.id).where(Notice.id == notice_id, *due).with_for_update(of=Notice)
        )
        if still_due is None:
            continue
        result = await notices.remind(
            session,
            None,
            notice_id,
            now=now,
            message=message,
            not_before=policy.quiet.release(now),
        )
        if isinstance(result, int):
            enqueued += result
        else:
            # Nobody silent (or closed): count it as a round so it is not re-examined forever.
            await session.execute(
                update(Notice).where(Notice.id == notice_id).values(reminders=Notice.reminders + 1)
            )
    return enqueued
