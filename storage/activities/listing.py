"""What members and staff read: one activity, the member's browse list and card, My
activities, the staff list, an import batch, and the roster."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.activities.shared import views_of
from storage.activities.types import (
    OPEN_STATUSES,
    REPLIED,
    ActivityView,
    Card,
    Page,
    Roster,
    RosterEntry,
    Standing,
)
from storage.invitations import (
    INVITES,
    Profile,
    invitation_parameters,
    member_invited,
    profile_of,
)
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityType,
    Member,
    Sector,
    SignupStatus,
)


async def view(session: AsyncSession, activity_id: int) -> ActivityView | None:
    activity = await session.get(Activity, activity_id, populate_existing=True)
    if activity is None:
        return None
    return (await views_of(session, [activity]))[0]


async def _queue_position(session: AsyncSession, signup: ActivitySignup) -> int | None:
    if signup.status is not SignupStatus.waiting or signup.position is None:
        return None
    ahead = await session.scalar(
        select(func.count())
        .select_from(ActivitySignup)
        .where(
            ActivitySignup.activity_id == signup.activity_id,
            ActivitySignup.status == SignupStatus.waiting,
            ActivitySignup.position <= signup.position,
        )
    )
    return int(ahead or 0)


def _paged(total: int, page: int, size: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / size))
    page = min(max(page, 1), pages)
    return page, pages


# Statements built once, for the reads behind every card and list (building one costs about as
# much as running it).
NOBODY = Profile(0, None, None, ())  # parameters for a member without a profile
_CARD = (
    select(Activity, ActivitySignup, INVITES)
    .outerjoin(
        ActivitySignup,
        and_(
            ActivitySignup.activity_id == Activity.id,
            ActivitySignup.member_id == bindparam("member_id"),
        ),
    )
    .where(Activity.id == bindparam("activity_id"))
    .execution_options(populate_existing=True)
)


# --------------------------------------------------------------------------------------------
# Member side: reading


def _browse_statements(*, of_type: bool) -> tuple[Select[Any], Select[Any]]:
    """The count and the page of browse(), built once per shape (see _CARD)."""
    where = [Activity.status.in_(OPEN_STATUSES), Activity.ends_at > bindparam("now"), INVITES]
    if of_type:
        where.append(Activity.type == bindparam("type"))
    count = select(func.count()).select_from(Activity).where(*where)
    page = (
        select(Activity)
        .where(*where)
        .order_by(Activity.published_at.desc(), Activity.id.desc())
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )
    return count, page


_BROWSE = {of_type: _browse_statements(of_type=of_type) for of_type in (False, True)}


async def browse(
    session: AsyncSession,
    member_id: int,
    *,
    now: datetime,
    type: ActivityType | None = None,
    page: int = 1,
    size: int = 5,
) -> Page[ActivityView]:
    """Published activities this member is invited to that have not ended, newest first."""
    profile = await profile_of(session, member_id)
    if profile is None:
        return Page([], 1, 1, 0)
    count, listing = _BROWSE[type is not None]
    parameters: dict[str, Any] = {"now": now, "type": type} | invitation_parameters(profile)
    total = int(await session.scalar(count, parameters) or 0)
    page, pages = _paged(total, page, size)
    parameters |= {"offset": (page - 1) * size, "limit": size}
    rows = await session.scalars(listing, parameters)
    return Page(await views_of(session, list(rows)), page, pages, total)


async def card(session: AsyncSession, activity_id: int, member_id: int) -> Card | None:
    """The activity as this member sees it; None for an unknown id or a draft.

    The activity, the member's reply and whether they are invited come in one query: a card
    is drawn on most taps."""
    profile = await profile_of(session, member_id)
    parameters = {"activity_id": activity_id, "member_id": member_id}
    parameters |= invitation_parameters(profile or NOBODY)
    row = (await session.execute(_CARD, parameters)).first()
    if row is None or row[0].status is ActivityStatus.draft:
        return None
    activity, signup, invited = row
    return await card_of(session, activity, signup, profile is not None and bool(invited))


async def card_of(
    session: AsyncSession, activity: Activity, signup: ActivitySignup | None, invited: bool
) -> Card:
    """The card from rows already at hand: only the counts (and a queue place) are read."""
    standing = Standing()
    if signup is not None:
        standing = Standing(
            signup.status,
            await _queue_position(session, signup),
            signup.leave_reason,
            signup.checked_in_at,
        )
    return Card((await views_of(session, [activity]))[0], standing, invited)


async def my_activities(
    session: AsyncSession, member_id: int, *, now: datetime, limit: int = 10
) -> tuple[list[Card], list[Card]]:
    """The member's activities (any reply but a plain cancel): upcoming soonest first, past
    most recent first."""
    base = (
        select(Activity, ActivitySignup)
        .join(ActivitySignup, ActivitySignup.activity_id == Activity.id)
        .where(
            ActivitySignup.member_id == member_id,
            ActivitySignup.status != SignupStatus.cancelled,
            Activity.status != ActivityStatus.draft,
        )
    )
    upcoming_rows = (
        await session.execute(
            base.where(Activity.ends_at > now).order_by(Activity.starts_at).limit(limit)
        )
    ).all()
    past_rows = (
        await session.execute(
            base.where(Activity.ends_at <= now).order_by(Activity.starts_at.desc()).limit(limit)
        )
    ).all()

    async def cards(rows: Sequence[Any]) -> list[Card]:
        views = await views_of(session, [a for a, _ in rows])
        out = []
        for v, (_, s) in zip(views, rows, strict=True):
            standing = Standing(
                s.status, await _queue_position(session, s), s.leave_reason, s.checked_in_at
            )
            out.append(Card(v, standing, True))
        return out

    return await cards(upcoming_rows), await cards(past_rows)


# --------------------------------------------------------------------------------------------
# Staff side: lists and roster


async def staff_list(session: AsyncSession, *, page: int = 1, size: int = 8) -> Page[ActivityView]:
    """Every activity, newest created first (drafts included)."""
    total = int(await session.scalar(select(func.count()).select_from(Activity)) or 0)
    page, pages = _paged(total, page, size)
    rows = await session.scalars(
        select(Activity).order_by(Activity.id.desc()).offset((page - 1) * size).limit(size)
    )
    return Page(await views_of(session, list(rows)), page, pages, total)


async def batch_ids(session: AsyncSession, batch: str) -> list[int]:
    rows = await session.scalars(
        select(Activity.id)
        .where(Activity.import_batch == batch, Activity.status == ActivityStatus.draft)
        .order_by(Activity.id)
    )
    return list(rows)


async def roster(session: AsyncSession, activity_id: int) -> Roster | None:
    """Everyone's standing: signed up, waiting (in order), leave with reasons, checked in,
    and invited members who have not replied."""
    activity = await session.get(Activity, activity_id, populate_existing=True)
    if activity is None:
        return None
    activity_view = (await views_of(session, [activity]))[0]
    rows = await session.execute(
        select(ActivitySignup, Member.name, Member.phone, Sector.name)
        .join(Member, Member.id == ActivitySignup.member_id)
        .outerjoin(Sector, Sector.id == Member.sector_id)
        .where(ActivitySignup.activity_id == activity_id)
        .order_by(ActivitySignup.position, ActivitySignup.id)
    )
    result = Roster(activity_view)
    queue = 0
    replied: set[int] = set()
    for signup, name, phone, sector in rows:
        queue_position = None
        if signup.status is SignupStatus.waiting:
            queue += 1
            queue_position = queue
        entry = RosterEntry(
            member_id=signup.member_id,
            name=name,
            phone=phone,
            sector=sector,
            status=signup.status,
            position=signup.position,
            queue_position=queue_position,
            signed_up_at=signup.signed_up_at,
            leave_reason=signup.leave_reason,
            leave_at=signup.leave_at,
            checked_in_at=signup.checked_in_at,
            checkin_method=signup.checkin_method,
        )
        if signup.status in REPLIED:
            replied.add(signup.member_id)
        {
            SignupStatus.signed_up: result.signed_up,
            SignupStatus.checked_in: result.signed_up,
            SignupStatus.waiting: result.waiting,
            SignupStatus.leave: result.leave,
            SignupStatus.cancelled: result.cancelled,
        }[signup.status].append(entry)
        if signup.status is SignupStatus.checked_in:
            result.checked_in.append(entry)
    invited = await session.execute(
        select(Member.id, Member.name, Member.phone, Sector.name)
        .outerjoin(Sector, Sector.id == Member.sector_id)
        .where(Member.active, member_invited(activity_id))
        .order_by(Member.name, Member.id)
    )
    for member_id, name, phone, sector in invited:
        if member_id not in replied:
            result.not_replied.append(RosterEntry(member_id, name, phone, sector, None))
    return result
