"""Check-in at the venue: by the code staff show (and making that code) or by a shared
location near the venue, inside the window around the start."""

from __future__ import annotations

import math
import secrets
from dataclasses import replace
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.activities.shared import actable, find_signup, lock_activity, places_taken
from storage.activities.types import HOLDS_PLACE, OPEN_STATUSES, CheckinRules, Outcome, Result
from storage.audit import Actor
from storage.invitations import (
    Profile,
    invites,
    profile_of,
)
from storage.models import (
    Activity,
    ActivitySignup,
    SignupStatus,
)
from storage.models.activities import CheckinMethod

CODE_DIGITS = 6


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    radius = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


async def _check_in(
    session: AsyncSession,
    activity: Activity,
    member_id: int,
    *,
    now: datetime,
    rules: CheckinRules,
    method: CheckinMethod,
) -> Result:
    """Check in once the code or the location has been verified (activity row locked)."""
    assert activity.starts_at is not None
    opens, closes = rules.window(activity.starts_at)
    if now < opens:
        return Result(Outcome.checkin_not_open, activity.id, opens_at=opens)
    if now > closes:
        return Result(Outcome.checkin_closed, activity.id)
    signup = await find_signup(session, activity.id, member_id)
    if signup is not None and signup.status is SignupStatus.checked_in:
        return Result(Outcome.already_checked_in, activity.id)
    if signup is None or signup.status is not SignupStatus.signed_up:
        # Not holding a place: a walk-in may take a free one, never someone else's.
        has_place = (
            activity.capacity is None
            or await places_taken(session, activity.id) < activity.capacity
        )
        if not has_place:
            return Result(Outcome.full, activity.id)
        if signup is None:
            signup = ActivitySignup(activity_id=activity.id, member_id=member_id)
            session.add(signup)
        activity.last_position += 1
        signup.position = activity.last_position
        signup.signed_up_at = now
    signup.status = SignupStatus.checked_in
    signup.checked_in_at = now
    signup.checkin_method = method
    await session.flush()
    return Result(Outcome.checked_in, activity.id)


async def check_in_by_code(
    session: AsyncSession,
    member_id: int,
    code: str,
    *,
    now: datetime,
    rules: CheckinRules,
    activity_id: int | None = None,
) -> Result:
    """Check in with the code staff show at the venue.

    With activity_id (a card's button or a deep link) the code must be that activity's; without
    it (the member just typed the digits) the code picks the activity among those open for
    check-in right now.
    """
    code = code.strip()
    if activity_id is None:
        profile = await profile_of(session, member_id)
        if profile is None:
            return Result(Outcome.not_invited)
        candidates = await _checkin_candidates(session, profile, now=now, rules=rules)
        matching = [a for a in candidates if a.checkin_code and a.checkin_code == code]
        if not matching:
            return Result(Outcome.wrong_code)
        activity_id = matching[0].id
    activity, refusal = await actable(session, activity_id, member_id)
    if refusal is Outcome.not_invited:
        signup = await find_signup(session, activity_id, member_id)
        if signup is not None and signup.status in HOLDS_PLACE:
            refusal = None
    if refusal is not None or activity is None:
        return Result(refusal or Outcome.not_found, activity_id)
    if not activity.checkin_code or not secrets.compare_digest(activity.checkin_code, code):
        return Result(Outcome.wrong_code, activity_id)
    return await _check_in(
        session, activity, member_id, now=now, rules=rules, method=CheckinMethod.code
    )


async def _checkin_candidates(
    session: AsyncSession, profile: Profile, *, now: datetime, rules: CheckinRules
) -> list[Activity]:
    """Open activities whose check-in window contains now and that this member may attend."""
    held = exists().where(
        ActivitySignup.activity_id == Activity.id,
        ActivitySignup.member_id == profile.member_id,
        ActivitySignup.status.in_(HOLDS_PLACE),
    )
    rows = await session.scalars(
        select(Activity)
        .where(
            Activity.status.in_(OPEN_STATUSES),
            Activity.starts_at <= now + rules.before,
            Activity.starts_at >= now - rules.after,
            or_(held, invites(profile)),
        )
        .order_by(Activity.starts_at)
    )
    return list(rows)


async def check_in_by_location(
    session: AsyncSession,
    member_id: int,
    latitude: float,
    longitude: float,
    *,
    now: datetime,
    rules: CheckinRules,
    activity_id: int | None = None,
) -> Result | None:
    """Check in by a shared location within rules.radius_m of the venue.

    Without activity_id: the nearest venue among the member's activities open for check-in now;
    None when there is no such activity at all (the location was meant for something else).
    """
    if activity_id is None:
        profile = await profile_of(session, member_id)
        if profile is None:
            return None
        candidates = await _checkin_candidates(session, profile, now=now, rules=rules)
        mine = []
        for candidate in candidates:
            signup = await find_signup(session, candidate.id, member_id)
            if signup is not None and signup.status in (*HOLDS_PLACE, SignupStatus.leave):
                mine.append(candidate)
        if not mine:
            return None
        located = [a for a in mine if a.latitude is not None and a.longitude is not None]
        if not located:
            return Result(Outcome.no_venue_location, mine[0].id)
        activity_id = min(
            located,
            key=lambda a: distance_m(latitude, longitude, a.latitude or 0.0, a.longitude or 0.0),
        ).id
    activity, refusal = await actable(session, activity_id, member_id)
    if refusal is Outcome.not_invited:
        signup = await find_signup(session, activity_id, member_id)
        if signup is not None and signup.status in HOLDS_PLACE:
            refusal = None
    if refusal is not None or activity is None:
        return Result(refusal or Outcome.not_found, activity_id)
    if activity.latitude is None or activity.longitude is None:
        return Result(Outcome.no_venue_location, activity_id)
    distance = distance_m(latitude, longitude, activity.latitude, activity.longitude)
    if distance > rules.radius_m:
        assert activity.starts_at is not None
        opens, closes = rules.window(activity.starts_at)
        if opens <= now <= closes:
            return Result(Outcome.too_far, activity_id, distance_m=distance)
    result = await _check_in(
        session, activity, member_id, now=now, rules=rules, method=CheckinMethod.location
    )
    return replace(result, distance_m=distance)


async def checkin_code(
    session: AsyncSession, activity_id: int, *, actor: Actor, renew: bool = False
) -> str | None:
    """The activity's check-in code, made on first use; renew makes the old one stop working."""
    activity = await lock_activity(session, activity_id)
    if activity is None or activity.status not in OPEN_STATUSES:
        return None
    if activity.checkin_code is None or renew:
        activity.checkin_code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        await audit.record(
            session, actor, "activity.checkin_code", object_type="activity", object_id=activity_id
        )
        await session.flush()
    return activity.checkin_code
