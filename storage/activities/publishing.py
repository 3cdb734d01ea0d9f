"""Staff decisions that change an activity's status: publish a draft (optionally telling every
invited member), postpone it, or call it off; everyone concerned is told."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, identities, reminders
from storage.activities.editing import check_times, missing_field
from storage.activities.notices import (
    ActivityNews,
    NoticeKind,
    format_local,
    format_span,
    news,
    signed_up_news,
)
from storage.activities.shared import lock_activity
from storage.activities.types import OPEN_STATUSES, REASON_MAX, EditResult, Problem
from storage.audit import Actor
from storage.identities import Address
from storage.invitations import (
    member_invited,
)
from storage.models import (
    ActivityStatus,
    ActivityTarget,
    Identity,
    Member,
    Priority,
)


async def publish(
    session: AsyncSession,
    activity_id: int,
    *,
    actor: Actor,
    now: datetime,
    notify_members: bool,
) -> EditResult:
    """Make a complete draft visible; optionally tell every invited member, with buttons."""
    activity = await lock_activity(session, activity_id)
    if activity is None:
        return EditResult(Problem.not_found)
    if activity.status is not ActivityStatus.draft:
        return EditResult(Problem.already_published)
    has_targets = bool(
        await session.scalar(select(exists().where(ActivityTarget.activity_id == activity_id)))
    )
    missing = missing_field(activity, has_targets)
    if missing is not None:
        return EditResult(Problem.incomplete, missing)
    problem = check_times(
        activity.starts_at,
        activity.ends_at,
        activity.signup_deadline,
        now=now,
        start_changed=True,
        deadline_changed=True,
    )
    if problem is not None:
        return EditResult(problem)
    activity.status = ActivityStatus.published
    activity.published_at = now
    await audit.record(
        session,
        actor,
        "activity.publish",
        object_type="activity",
        object_id=activity_id,
        notify=notify_members,
    )
    told: list[ActivityNews] = []
    if notify_members:
        rows = await session.execute(
            select(Member.id, Identity.channel, Identity.address)
            .join(Identity, identities.preferred(Member.id))
            .where(Member.active, member_invited(activity_id))
            .order_by(Member.id)
        )
        deadline = activity.signup_deadline or activity.starts_at
        told = [
            news(
                activity,
                member_id,
                Address(channel, address),
                NoticeKind.published,
                priority=Priority.normal,
                dedupe_key=f"act:{activity_id}:published:{member_id}",
                deadline=deadline,
            )
            for member_id, channel, address in rows
        ]
    return EditResult(None, news=tuple(told))


async def postpone(
    session: AsyncSession,
    activity_id: int,
    new_start: datetime,
    *,
    actor: Actor,
    now: datetime,
    tz: tzinfo,
) -> EditResult:
    """Move the activity to a new start; end and deadline move by the same amount."""
    activity = await lock_activity(session, activity_id)
    if activity is None:
        return EditResult(Problem.not_found)
    if activity.status not in OPEN_STATUSES or activity.starts_at is None:
        return EditResult(Problem.not_editable)
    if activity.ends_at is not None and activity.ends_at <= now:
        return EditResult(Problem.not_editable)
    shift = new_start - activity.starts_at
    new_end = activity.ends_at + shift if activity.ends_at else None
    new_deadline = activity.signup_deadline + shift if activity.signup_deadline else None
    if new_deadline is not None and new_deadline <= now:
        new_deadline = None  # the old deadline moved into the past: open until the new start
    problem = check_times(new_start, new_end, new_deadline, now=now, start_changed=True)
    if problem is not None:
        return EditResult(problem)
    if new_start <= activity.starts_at:
        # Postponing moves an activity later; bringing it forward is an edit of the start, which
        # tells members what changed rather than that it was postponed.
        return EditResult(Problem.postpone_not_later, format_local(activity.starts_at, tz))
    old_starts_at, old_ends_at = activity.starts_at, activity.ends_at
    activity.starts_at, activity.ends_at = new_start, new_end
    activity.signup_deadline = new_deadline
    activity.status = ActivityStatus.postponed
    activity.postponed_at = now
    await session.flush()
    await reminders.cancel_stale(session, activity_id)
    await audit.record(
        session,
        actor,
        "activity.postpone",
        object_type="activity",
        object_id=activity_id,
        old=format_span(old_starts_at, old_ends_at, tz),
        new=format_span(new_start, new_end, tz),
    )
    told = await signed_up_news(
        session,
        activity,
        NoticeKind.postponed,
        old_starts_at=old_starts_at,
        old_ends_at=old_ends_at,
    )
    return EditResult(None, news=told)


async def cancel_activity(
    session: AsyncSession,
    activity_id: int,
    *,
    reason: str,
    actor: Actor,
    now: datetime,
) -> EditResult:
    """Call the activity off; everyone signed up or waiting is told, with the reason."""
    activity = await lock_activity(session, activity_id)
    if activity is None:
        return EditResult(Problem.not_found)
    if activity.status is ActivityStatus.cancelled:
        return EditResult(Problem.not_editable)
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        return EditResult(Problem.description_too_long, str(REASON_MAX))
    was_draft = activity.status is ActivityStatus.draft
    activity.status = ActivityStatus.cancelled
    activity.cancelled_at = now
    activity.cancel_reason = reason or None
    await session.flush()
    await reminders.cancel_stale(session, activity_id)
    await audit.record(
        session,
        actor,
        "activity.cancel",
        object_type="activity",
        object_id=activity_id,
        reason=reason or None,
    )
    if was_draft:
        return EditResult(None)
    told = await signed_up_news(session, activity, NoticeKind.cancelled, reason=reason)
    return EditResult(None, news=told)
