"""A member's reply: sign up (a place, or the waiting list when full), cancel, ask for leave,
and moving waiting members up when a place frees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import identities, reminders
from storage.activities.listing import card_of
from storage.activities.notices import ActivityNews, NoticeKind, news
from storage.activities.shared import actable, find_signup, is_invited, lock_activity, places_taken
from storage.activities.types import (
    HOLDS_PLACE,
    OPEN_STATUSES,
    REASON_MAX,
    REPLIED,
    Outcome,
    Result,
)
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    Identity,
    Member,
    SignupStatus,
)


@dataclass(frozen=True)
class Promotion:
    """Who moved up from the waiting list, and the news for those who can be reached."""

    members: tuple[int, ...] = ()
    news: tuple[ActivityNews, ...] = ()


async def fill_places(session: AsyncSession, activity: Activity, *, now: datetime) -> Promotion:
    """Move the first waiting members up while there are free places; each is told once.

    Called with the activity row locked, so two transactions never promote the same member.
    """
    if activity.status not in OPEN_STATUSES or activity.starts_at is None:
        return Promotion()
    if now >= activity.starts_at:
        return Promotion()  # the activity has begun: a place freed now helps nobody
    free: int | None = None
    if activity.capacity is not None:
        free = activity.capacity - await places_taken(session, activity.id)
        if free <= 0:
            return Promotion()
    query = (
        select(ActivitySignup, Identity.channel, Identity.address)
        .join(Member, Member.id == ActivitySignup.member_id)
        .outerjoin(Identity, identities.preferred(Member.id))
        .where(
            ActivitySignup.activity_id == activity.id,
            ActivitySignup.status == SignupStatus.waiting,
        )
        .order_by(ActivitySignup.position)
        .execution_options(populate_existing=True)
    )
    if free is not None:
        query = query.limit(free)
    promoted: list[int] = []
    told: list[ActivityNews] = []
    for signup, channel, address in (await session.execute(query)).all():
        signup.status = SignupStatus.signed_up
        signup.promoted_at = now
        signup.signed_up_at = now
        promoted.append(signup.member_id)
        to = identities.maybe(channel, address)
        if to is not None:
            told.append(
                news(
                    activity,
                    signup.member_id,
                    to,
                    NoticeKind.promoted,
                    dedupe_key=f"act:{activity.id}:promoted:{signup.member_id}:{signup.position}",
                )
            )
    await session.flush()
    return Promotion(tuple(promoted), tuple(told))


async def sign_up(
    session: AsyncSession, activity_id: int, member_id: int, *, now: datetime
) -> Result:
    """Take a place, or join the waiting list when the activity is full."""
    activity, refusal = await actable(session, activity_id, member_id)
    if refusal is not None or activity is None:
        return Result(refusal or Outcome.not_found, activity_id)
    signup = await find_signup(session, activity_id, member_id)
    if signup is not None:
        # The card is drawn here, from the rows at hand, while the activity is locked anyway.
        if signup.status in HOLDS_PLACE:
            card = await card_of(session, activity, signup, True)
            return Result(Outcome.already_signed_up, activity_id, card=card)
        if signup.status is SignupStatus.waiting:
            card = await card_of(session, activity, signup, True)
            return Result(Outcome.already_waiting, activity_id, card.me.queue_position, card=card)
    assert activity.starts_at is not None
    deadline = activity.signup_deadline or activity.starts_at
    if now >= deadline:
        return Result(Outcome.deadline_passed, activity_id)
    has_place = (
        activity.capacity is None or await places_taken(session, activity_id) < activity.capacity
    )
    activity.last_position += 1
    if signup is None:
        signup = ActivitySignup(activity_id=activity_id, member_id=member_id)
        session.add(signup)
    signup.position = activity.last_position
    signup.leave_reason = None
    signup.leave_at = None
    signup.cancelled_at = None
    signup.promoted_at = None
    if has_place:
        signup.status = SignupStatus.signed_up
        signup.signed_up_at = now
        signup.waiting_since = None
    else:
        signup.status = SignupStatus.waiting
        signup.waiting_since = now
        signup.signed_up_at = None
    await session.flush()
    card = await card_of(session, activity, signup, True)
    if has_place:
        return Result(Outcome.signed_up, activity_id, card=card)
    return Result(Outcome.waiting, activity_id, card.me.queue_position, card=card)


async def cancel(
    session: AsyncSession, activity_id: int, member_id: int, *, now: datetime
) -> Result:
    """Give up a place (the first waiting member moves up) or leave the waiting list.

    After the sign-up deadline a place can no longer simply be given back: the answer is
    needs_leave, and the member asks for leave with a reason instead.
    """
    activity = await lock_activity(session, activity_id)
    if activity is None or activity.status is ActivityStatus.draft:
        return Result(Outcome.not_found, activity_id)
    signup = await find_signup(session, activity_id, member_id)
    if signup is None or signup.status not in (SignupStatus.signed_up, SignupStatus.waiting):
        if signup is not None and signup.status is SignupStatus.checked_in:
            return Result(Outcome.already_checked_in, activity_id)
        return Result(Outcome.not_signed_up, activity_id)
    if activity.status is ActivityStatus.cancelled:
        return Result(Outcome.activity_cancelled, activity_id)
    assert activity.starts_at is not None
    if now >= activity.starts_at:
        return Result(Outcome.started, activity_id)
    deadline = activity.signup_deadline or activity.starts_at
    if signup.status is SignupStatus.signed_up and now >= deadline:
        return Result(Outcome.needs_leave, activity_id)
    held_place = signup.status is SignupStatus.signed_up
    signup.status = SignupStatus.cancelled
    signup.cancelled_at = now
    await session.flush()
    await reminders.cancel_stale(session, activity_id)
    promoted = await fill_places(session, activity, now=now) if held_place else Promotion()
    invited = await is_invited(session, member_id, activity_id)
    card = await card_of(session, activity, signup, invited)
    return Result(
        Outcome.cancelled, activity_id, promoted=promoted.members, news=promoted.news, card=card
    )


async def leave(
    session: AsyncSession,
    activity_id: int,
    member_id: int,
    *,
    reason: str,
    now: datetime,
) -> Result:
    """Ask for leave; a reason is required when the activity asks invited members to reply."""
    activity, refusal = await actable(session, activity_id, member_id)
    signup = await find_signup(session, activity_id, member_id)
    if refusal is Outcome.not_invited and signup is not None and signup.status in REPLIED:
        refusal = None  # invited once and replied: the audience changed since; leave still works
    if refusal is not None or activity is None:
        return Result(refusal or Outcome.not_found, activity_id)
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        return Result(Outcome.reason_too_long, activity_id)
    if activity.reply_required and not reason:
        return Result(Outcome.reason_required, activity_id)
    assert activity.starts_at is not None
    if now >= activity.starts_at:
        return Result(Outcome.started, activity_id)
    if signup is not None:
        if signup.status is SignupStatus.checked_in:
            return Result(Outcome.already_checked_in, activity_id)
        if signup.status is SignupStatus.leave:
            return Result(Outcome.on_leave, activity_id)
    held_place = signup is not None and signup.status is SignupStatus.signed_up
    if signup is None:
        signup = ActivitySignup(activity_id=activity_id, member_id=member_id)
        session.add(signup)
    signup.status = SignupStatus.leave
    signup.leave_at = now
    signup.leave_reason = reason or None
    await session.flush()
    await reminders.cancel_stale(session, activity_id)
    promoted = await fill_places(session, activity, now=now) if held_place else Promotion()
    return Result(Outcome.left, activity_id, promoted=promoted.members, news=promoted.news)
