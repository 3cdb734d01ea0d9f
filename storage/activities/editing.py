"""Staff drafting and editing: new drafts, the rules for each field, one change at a time
(people signed up are told what changed), and what a draft still lacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, reminders
from storage.activities.notices import (
    ActivityNews,
    FieldChange,
    NoticeKind,
    format_local,
    signed_up_news,
)
from storage.activities.shared import lock_activity, places_taken
from storage.activities.signup import Promotion, fill_places
from storage.activities.types import (
    CAPACITY_MAX,
    DESCRIPTION_MAX,
    OPEN_STATUSES,
    PLACE_MAX,
    TITLE_MAX,
    ActivityView,
    EditResult,
    Field,
    Problem,
)
from storage.audit import Actor
from storage.control_chars import has_words
from storage.models import (
    Activity,
    ActivityStatus,
    ActivityType,
    LiaisonPoint,
)


async def create_draft(session: AsyncSession, type: ActivityType, actor: Actor) -> int:
    activity = Activity(type=type, status=ActivityStatus.draft, created_by=actor.member_id)
    session.add(activity)
    await session.flush()
    await audit.record(
        session, actor, "activity.draft", object_type="activity", object_id=activity.id
    )
    return activity.id


async def get(session: AsyncSession, activity_id: int) -> Activity | None:
    return await session.get(Activity, activity_id, populate_existing=True)


def check_title(text: str) -> Problem | None:
    text = text.strip()
    if not text:
        return Problem.title_empty
    if len(text) > TITLE_MAX:
        return Problem.title_too_long
    if not has_words(text):
        return Problem.title_no_words
    return None


def check_times(
    starts_at: datetime | None,
    ends_at: datetime | None,
    deadline: datetime | None,
    *,
    now: datetime,
    start_changed: bool = False,
    deadline_changed: bool = False,
) -> Problem | None:
    """The rules between start, end and deadline (a new start or deadline must be ahead)."""
    if starts_at is not None and start_changed and starts_at <= now:
        return Problem.start_in_past
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        return Problem.end_before_start
    if deadline is not None and deadline_changed and deadline <= now:
        return Problem.deadline_in_past
    if deadline is not None and starts_at is not None and deadline > starts_at:
        return Problem.deadline_after_start
    return None


async def find_liaison_point(session: AsyncSession, text: str) -> LiaisonPoint | None:
    """A liaison point by exact name, or the only one whose name contains the text."""
    text = text.strip()
    if not text:
        return None
    exact = await session.scalar(select(LiaisonPoint).where(LiaisonPoint.name == text))
    if exact is not None:
        return exact
    like = list(
        await session.scalars(
            select(LiaisonPoint).where(LiaisonPoint.name.contains(text, autoescape=True)).limit(2)
        )
    )
    return like[0] if len(like) == 1 else None


@dataclass(frozen=True)
class Change:
    """One field's new value; place carries the liaison point when one matched."""

    field: Field
    value: Any
    liaison_point: LiaisonPoint | None = None


async def update_field(
    session: AsyncSession,
    activity_id: int,
    change: Change,
    *,
    actor: Actor,
    now: datetime,
    tz: tzinfo,
) -> EditResult:
    """Set one field after checking every rule; people signed up are told what changed."""
    activity = await lock_activity(session, activity_id)
    if activity is None:
        return EditResult(Problem.not_found)
    if activity.status is ActivityStatus.cancelled or (
        activity.status is not ActivityStatus.draft
        and activity.ends_at is not None
        and activity.ends_at <= now
    ):
        return EditResult(Problem.not_editable)
    old_text = field_text(activity, change.field, tz)
    problem, detail = await _apply(session, activity, change, now=now)
    if problem is not None:
        return EditResult(problem, detail)
    await audit.record(
        session,
        actor,
        "activity.edit",
        object_type="activity",
        object_id=activity.id,
        field=change.field.value,
        old=old_text,
        new=field_text(activity, change.field, tz),
    )
    if change.field is Field.starts_at:
        await reminders.cancel_stale(session, activity.id)  # reminders name the old time
    promotion = Promotion()
    told: tuple[ActivityNews, ...] = ()
    if activity.status in OPEN_STATUSES:
        if change.field is Field.capacity:
            promotion = await fill_places(session, activity, now=now)
        if change.field in NOTIFY_FIELDS:
            told = await signed_up_news(
                session,
                activity,
                NoticeKind.changed,
                change=FieldChange(
                    change.field.value,
                    old_text or "—",
                    field_text(activity, change.field, tz) or "—",
                ),
            )
    return EditResult(None, promoted=promotion.members, news=promotion.news + told)


NOTIFY_FIELDS = (
    Field.title,
    Field.starts_at,
    Field.ends_at,
    Field.place,
    Field.signup_deadline,
)


def field_text(activity: Activity, which: Field, tz: tzinfo) -> str:
    if which is Field.title:
        return activity.title
    if which is Field.description:
        return activity.description
    if which is Field.starts_at:
        return format_local(activity.starts_at, tz)
    if which is Field.ends_at:
        return format_local(activity.ends_at, tz)
    if which is Field.place:
        return activity.place
    if which is Field.capacity:
        return "" if activity.capacity is None else str(activity.capacity)
    if which is Field.signup_deadline:
        return format_local(activity.signup_deadline, tz)
    return "1" if activity.reply_required else "0"


async def _apply(
    session: AsyncSession, activity: Activity, change: Change, *, now: datetime
) -> tuple[Problem | None, str]:
    value = change.value
    which = change.field
    if which is Field.title:
        text = str(value).strip()
        problem = check_title(text)
        if problem:
            return problem, ""
        activity.title = text
    elif which is Field.description:
        text = str(value).strip()
        if len(text) > DESCRIPTION_MAX:
            return Problem.description_too_long, str(DESCRIPTION_MAX)
        activity.description = text
    elif which is Field.place:
        text = str(value).strip()
        point = change.liaison_point
        if point is not None:
            text = point.name  # the typed text named this point (exactly or by a unique part)
        if len(text) > PLACE_MAX:
            return Problem.place_too_long, str(PLACE_MAX)
        activity.place = text
        activity.liaison_point_id = point.id if point is not None else None
        activity.latitude = point.latitude if point is not None else None
        activity.longitude = point.longitude if point is not None else None
    elif which is Field.capacity:
        if value is not None and (not isinstance(value, int) or not 1 <= value <= CAPACITY_MAX):
            return Problem.capacity_invalid, ""
        if value is not None:
            taken = await places_taken(session, activity.id)
            if value < taken:
                return Problem.capacity_below_signed, str(taken)
        activity.capacity = value
    elif which in (Field.starts_at, Field.ends_at, Field.signup_deadline):
        starts = value if which is Field.starts_at else activity.starts_at
        ends = value if which is Field.ends_at else activity.ends_at
        deadline = value if which is Field.signup_deadline else activity.signup_deadline
        problem = check_times(
            starts,
            ends,
            deadline,
            now=now,
            start_changed=which is Field.starts_at,
            deadline_changed=which is Field.signup_deadline,
        )
        if problem:
            return problem, ""
        setattr(activity, which.value, value)
    elif which is Field.reply_required:
        activity.reply_required = bool(value)
    activity.updated_at = now
    await session.flush()
    return None, ""


def missing_field(activity: Activity | ActivityView, has_targets: bool) -> str | None:
    """The first thing a draft still needs before it can be published."""
    if not activity.title:
        return "title"
    if activity.starts_at is None:
        return "starts_at"
    if activity.ends_at is None:
        return "ends_at"
    if not (activity.place or activity.liaison_point_id):
        return "place"
    if not has_targets:
        return "audience"
    return None
