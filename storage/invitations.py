"""Who is invited to an activity: its target rules (everyone, sectors, committees, liaison
points, named members) as SQL conditions, shared by activities and reminders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Activity, ActivityTarget, Member, TargetKind, member_committee


@dataclass(frozen=True)
class Profile:
    """What decides a member's invitations: their sector, liaison point and committees."""

    member_id: int
    sector_id: int | None
    liaison_point_id: int | None
    committee_ids: tuple[int, ...]


def _profile_statement() -> Select[Any]:
    return (
        select(
            Member.sector_id,
            Member.liaison_point_id,
            member_committee.c.committee_id,
        )
        .outerjoin(member_committee, member_committee.c.member_id == Member.id)
        .where(Member.id == bindparam("member_id"), Member.active)
        .order_by(member_committee.c.committee_id)
    )


# Built once: asked on most taps, and building a statement costs about as much as running it.
_PROFILE = _profile_statement()


async def profile_of(session: AsyncSession, member_id: int) -> Profile | None:
    """The member's profile, or None for an unknown or inactive member.

    One query (a row per committee): every activity list and card asks for it."""
    rows = (await session.execute(_PROFILE, {"member_id": member_id})).all()
    if not rows:
        return None
    sector_id, liaison_point_id, _ = rows[0]
    committees = tuple(row[2] for row in rows if row[2] is not None)
    return Profile(member_id, sector_id, liaison_point_id, committees)


def _invites_by_parameters() -> ColumnElement[bool]:
    rules = or_(
        ActivityTarget.kind == TargetKind.everyone,
        and_(
            ActivityTarget.kind == TargetKind.member,
            ActivityTarget.ref_id == bindparam("invited_member_id"),
        ),
        and_(
            ActivityTarget.kind == TargetKind.sector,
            ActivityTarget.ref_id == bindparam("invited_sector_id"),
        ),
        and_(
            ActivityTarget.kind == TargetKind.liaison_point,
            ActivityTarget.ref_id == bindparam("invited_liaison_point_id"),
        ),
        and_(
            ActivityTarget.kind == TargetKind.committee,
            ActivityTarget.ref_id.in_(bindparam("invited_committee_ids", expanding=True)),
        ),
    )
    return exists().where(ActivityTarget.activity_id == Activity.id, rules)


# The same condition as invites(profile), with the profile as parameters, for statements built
# once (invitation_parameters gives their values; a missing sector or point never matches).
INVITES = _invites_by_parameters()


def invitation_parameters(profile: Profile) -> dict[str, Any]:
    return {
        "invited_member_id": profile.member_id,
        "invited_sector_id": profile.sector_id,
        "invited_liaison_point_id": profile.liaison_point_id,
        "invited_committee_ids": list(profile.committee_ids),
    }


def invites(profile: Profile) -> ColumnElement[bool]:
    """The activity has a target rule that includes this member."""
    rules: list[ColumnElement[bool]] = [
        ActivityTarget.kind == TargetKind.everyone,
        and_(ActivityTarget.kind == TargetKind.member, ActivityTarget.ref_id == profile.member_id),
    ]
    if profile.sector_id is not None:
        rules.append(
            and_(
                ActivityTarget.kind == TargetKind.sector, ActivityTarget.ref_id == profile.sector_id
            )
        )
    if profile.liaison_point_id is not None:
        rules.append(
            and_(
                ActivityTarget.kind == TargetKind.liaison_point,
                ActivityTarget.ref_id == profile.liaison_point_id,
            )
        )
    if profile.committee_ids:
        rules.append(
            and_(
                ActivityTarget.kind == TargetKind.committee,
                ActivityTarget.ref_id.in_(profile.committee_ids),
            )
        )
    return exists().where(ActivityTarget.activity_id == Activity.id, or_(*rules))


def member_invited(activity_id: int) -> ColumnElement[bool]:
    """This member row is invited to the activity (for listing whom to notify or chase)."""
    rule = or_(
        ActivityTarget.kind == TargetKind.everyone,
        and_(ActivityTarget.kind == TargetKind.member, ActivityTarget.ref_id == Member.id),
        and_(ActivityTarget.kind == TargetKind.sector, ActivityTarget.ref_id == Member.sector_id),
        and_(
            ActivityTarget.kind == TargetKind.liaison_point,
            ActivityTarget.ref_id == Member.liaison_point_id,
        ),
        and_(
            ActivityTarget.kind == TargetKind.committee,
            ActivityTarget.ref_id.in_(
                select(member_committee.c.committee_id).where(
                    member_committee.c.member_id == Member.id
                )
            ),
        ),
    )
    return exists().where(ActivityTarget.activity_id == activity_id, rule)
