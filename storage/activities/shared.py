"""What every activity operation shares: the row lock, the live counts behind each snapshot,
a member's sign-up row and whether they may act on an activity.

Places: every operation that changes who holds a place first locks the activity row
(PostgreSQL: SELECT ... FOR UPDATE; SQLite: the transaction began with BEGIN IMMEDIATE). Counting
the places taken, handing out the next tap-order position and promoting the first waiting
member therefore happen one transaction at a time per activity: a burst of simultaneous taps
cannot overbook, and a freed place is given to exactly one waiting member.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.activities.types import HOLDS_PLACE, ActivityView, Outcome
from storage.invitations import (
    INVITES,
    invitation_parameters,
    profile_of,
)
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    LiaisonPoint,
    SignupStatus,
)


async def lock_activity(session: AsyncSession, activity_id: int) -> Activity | None:
    """The activity row, locked until the transaction ends (see the module docstring)."""
    return await session.scalar(
        select(Activity)
        .where(Activity.id == activity_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


# Statements built once, for the reads behind every card and list (building one costs about as
# much as running it).
_COUNTS = (
    select(ActivitySignup.activity_id, ActivitySignup.status, func.count())
    .where(ActivitySignup.activity_id.in_(bindparam("activity_ids", expanding=True)))
    .group_by(ActivitySignup.activity_id, ActivitySignup.status)
)
_SIGNUP = (
    select(ActivitySignup)
    .where(
        ActivitySignup.activity_id == bindparam("activity_id"),
        ActivitySignup.member_id == bindparam("member_id"),
    )
    .execution_options(populate_existing=True)
)
_INVITED = select(INVITES).where(Activity.id == bindparam("activity_id"))


async def _counts(session: AsyncSession, activity_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    if not activity_ids:
        return {}
    rows = await session.execute(_COUNTS, {"activity_ids": list(activity_ids)})
    out: dict[int, dict[str, int]] = {aid: {} for aid in activity_ids}
    for aid, status, n in rows:
        out[aid][SignupStatus(status).value] = int(n)
    return out


async def views_of(session: AsyncSession, activities: Sequence[Activity]) -> list[ActivityView]:
    ids = [a.id for a in activities]
    counts = await _counts(session, ids)
    point_ids = {a.liaison_point_id for a in activities if a.liaison_point_id is not None}
    points: dict[int, str] = {}
    if point_ids:
        rows = await session.execute(
            select(LiaisonPoint.id, LiaisonPoint.name).where(LiaisonPoint.id.in_(point_ids))
        )
        points = {pid: name for pid, name in rows}
    views = []
    for a in activities:
        c = counts.get(a.id, {})
        checked = c.get(SignupStatus.checked_in, 0)
        views.append(
            ActivityView(
                id=a.id,
                type=a.type,
                status=a.status,
                title=a.title,
                description=a.description,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                signup_deadline=a.signup_deadline,
                place=a.place,
                liaison_point_id=a.liaison_point_id,
                liaison_point=points.get(a.liaison_point_id) if a.liaison_point_id else None,
                latitude=a.latitude,
                longitude=a.longitude,
                capacity=a.capacity,
                reply_required=a.reply_required,
                checkin_code=a.checkin_code,
                cancel_reason=a.cancel_reason,
                import_batch=a.import_batch,
                published_at=a.published_at,
                signed_up=c.get(SignupStatus.signed_up, 0) + checked,
                waiting=c.get(SignupStatus.waiting, 0),
                leave=c.get(SignupStatus.leave, 0),
                checked_in=checked,
            )
        )
    return views


async def places_taken(session: AsyncSession, activity_id: int) -> int:
    n = await session.scalar(
        select(func.count())
        .select_from(ActivitySignup)
        .where(ActivitySignup.activity_id == activity_id, ActivitySignup.status.in_(HOLDS_PLACE))
    )
    return int(n or 0)


async def find_signup(
    session: AsyncSession, activity_id: int, member_id: int
) -> ActivitySignup | None:
    signup: ActivitySignup | None = await session.scalar(
        _SIGNUP, {"activity_id": activity_id, "member_id": member_id}
    )
    return signup


async def actable(
    session: AsyncSession, activity_id: int, member_id: int
) -> tuple[Activity | None, Outcome | None]:
    """Lock the activity and check it is open and the member invited.

    The invitation is read before the lock: every sign-up for the activity queues on that
    lock, so it is held for as few statements as possible."""
    invited = await is_invited(session, member_id, activity_id)
    activity = await lock_activity(session, activity_id)
    if activity is None or activity.status is ActivityStatus.draft:
        return None, Outcome.not_found
    if activity.status is ActivityStatus.cancelled:
        return activity, Outcome.activity_cancelled
    if not invited:
        return activity, Outcome.not_invited
    return activity, None


async def is_invited(session: AsyncSession, member_id: int, activity_id: int) -> bool:
    profile = await profile_of(session, member_id)
    if profile is None:
        return False
    parameters = {"activity_id": activity_id} | invitation_parameters(profile)
    return bool(await session.scalar(_INVITED, parameters))
