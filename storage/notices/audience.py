"""Who a notice goes to: the sectors, committees, liaison points or activity staff
can pick, typed names and uploaded phone numbers to ids, the selection on the draft, and the
roster members it selects (counted before sending)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import identities
from storage.members import MemberRef
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    Committee,
    Identity,
    LiaisonPoint,
    Member,
    Sector,
    SignupStatus,
    member_committee,
)
from storage.models.notices import AudienceKind
from storage.notices.loading import draft_row, notice_row
from storage.notices.views import NoticeView, Problem
from storage.phones import normalize_phone


@dataclass(frozen=True)
class Choice:
    """A sector, committee, liaison point or activity staff can pick."""

    id: int
    name: str
    when: datetime | None = None


@dataclass(frozen=True)
class AudienceCount:
    recipients: int  # bound to Telegram: will get the message
    not_bound: int  # on the roster and in the audience, not using the bot yet


@dataclass(frozen=True)
class PhoneMatch:
    member_ids: tuple[int, ...]
    unknown: tuple[str, ...]  # numbers (as written) not on the roster
    unreadable: int  # cells that did not look like a phone number at all


_NAMED: dict[AudienceKind, type[Sector] | type[Committee] | type[LiaisonPoint]] = {
    AudienceKind.sectors: Sector,
    AudienceKind.committees: Committee,
    AudienceKind.points: LiaisonPoint,
}

_NAME_SPLIT = re.compile(r"[,，、;；\n]+")


async def choices(session: AsyncSession, kind: AudienceKind, *, limit: int = 60) -> list[Choice]:
    """What staff can pick for a kind of audience (activities: the most recent open ones)."""
    if kind is AudienceKind.activity:
        rows = await session.execute(
            select(Activity.id, Activity.title, Activity.starts_at)
            .where(Activity.status.in_((ActivityStatus.published, ActivityStatus.postponed)))
            .order_by(Activity.starts_at.desc(), Activity.id.desc())
            .limit(limit)
        )
        return [Choice(i, title, when) for i, title, when in rows]
    model = _NAMED.get(kind)
    if model is None:
        return []
    named = await session.execute(select(model.id, model.name).order_by(model.name).limit(limit))
    return [Choice(i, name) for i, name in named]


async def ids_for_names(
    session: AsyncSession, kind: AudienceKind, text: str
) -> tuple[list[int], list[str]]:
    """Typed names ("经济界, 农业界") to ids; the second list holds names that do not exist."""
    model = _NAMED.get(kind)
    names = [n.strip() for n in _NAME_SPLIT.split(text) if n.strip()]
    if model is None or not names:
        return [], names
    rows = await session.execute(select(model.id, model.name).where(model.name.in_(names)))
    found = {name: i for i, name in rows}
    return [found[n] for n in dict.fromkeys(names) if n in found], [
        n for n in names if n not in found
    ]


async def match_phones(session: AsyncSession, values: Iterable[str]) -> PhoneMatch:
    """Roster members for the phone numbers of an uploaded list, in the order given."""
    wanted: dict[str, str] = {}
    unreadable = 0
    for raw in values:
        phone = normalize_phone(raw)
        if phone is None:
            unreadable += 1
        else:
            wanted.setdefault(phone, raw.strip())
    found: dict[str, int] = {}
    phones = list(wanted)
    for start in range(0, len(phones), 5000):
        rows = await session.execute(
            select(Member.phone, Member.id).where(
                Member.phone.in_(phones[start : start + 5000]), Member.active
            )
        )
        found.update({phone: member_id for phone, member_id in rows if phone})
    return PhoneMatch(
        tuple(found[p] for p in phones if p in found),
        tuple(raw for p, raw in wanted.items() if p not in found),
        unreadable,
    )


async def set_audience(
    session: AsyncSession,
    actor: MemberRef,
    notice_id: int,
    kind: AudienceKind,
    ids: Sequence[int] = (),
) -> NoticeView | Problem:
    """Who the notice goes to; ids are checked to exist (a forged id changes nothing)."""
    notice = await draft_row(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    unique = list(dict.fromkeys(int(i) for i in ids))
    if kind is not AudienceKind.everyone and not unique:
        return Problem.no_audience
    if kind is AudienceKind.activity:
        if len(unique) != 1 or not await session.scalar(
            select(func.count()).select_from(Activity).where(Activity.id == unique[0])
        ):
            return Problem.bad_activity
    elif kind is AudienceKind.phones:
        known = await session.scalar(
            select(func.count()).select_from(Member).where(Member.id.in_(unique))
        )
        if known != len(unique):
            return Problem.unknown_names
    elif kind in _NAMED:
        model = _NAMED[kind]
        known = await session.scalar(
            select(func.count()).select_from(model).where(model.id.in_(unique))
        )
        if known != len(unique):
            return Problem.unknown_names
    notice.audience_kind = kind
    notice.audience_ids = unique if kind is not AudienceKind.everyone else []
    await session.flush()
    return NoticeView.of(notice)


async def toggle_audience(
    session: AsyncSession, actor: MemberRef, notice_id: int, kind: AudienceKind, ref_id: int
) -> NoticeView | Problem:
    """Add or remove one sector / committee / liaison point from the selection."""
    notice = await draft_row(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    model = _NAMED.get(kind)
    if model is None or await session.get(model, ref_id) is None:
        return Problem.unknown_names
    current = list(notice.audience_ids or []) if notice.audience_kind is kind else []
    if ref_id in current:
        current.remove(ref_id)
    else:
        current.append(ref_id)
    notice.audience_kind = kind
    notice.audience_ids = current
    await session.flush()
    return NoticeView.of(notice)


def audience_filter(kind: AudienceKind | None, ids: Sequence[int]) -> Any:
    """A WHERE clause on Member selecting the audience (active roster members only)."""
    base = Member.active.is_(True)
    if kind is AudienceKind.everyone:
        return base
    if kind is AudienceKind.sectors:
        return and_(base, Member.sector_id.in_(ids))
    if kind is AudienceKind.points:
        return and_(base, Member.liaison_point_id.in_(ids))
    if kind is AudienceKind.committees:
        return and_(
            base,
            Member.id.in_(
                select(member_committee.c.member_id).where(member_committee.c.committee_id.in_(ids))
            ),
        )
    if kind is AudienceKind.activity:
        return and_(
            base,
            Member.id.in_(
                select(ActivitySignup.member_id).where(
                    ActivitySignup.activity_id.in_(ids),
                    ActivitySignup.status.in_((SignupStatus.signed_up, SignupStatus.checked_in)),
                )
            ),
        )
    if kind is AudienceKind.phones:
        return and_(base, Member.id.in_(ids))
    return Member.id.is_(None)  # no audience chosen: nobody


async def count_audience(session: AsyncSession, notice_id: int) -> AudienceCount:
    notice = await notice_row(session, notice_id)
    if notice is None:
        return AudienceCount(0, 0)
    where = audience_filter(notice.audience_kind, list(notice.audience_ids or []))
    bound = Identity.id.is_not(None)  # reached on some channel
    rows = await session.execute(
        select(bound, func.count())
        .select_from(Member)
        .outerjoin(Identity, identities.preferred(Member.id))
        .where(where)
        .group_by(bound)
    )
    counts = {bool(bound): int(n) for bound, n in rows}
    return AudienceCount(counts.get(True, 0), counts.get(False, 0))
