"""Award candidates (五优评选): top members by points, the reports marked excellent,
the liaison points with the most micro-consultations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.duty_record.access import is_staff
from storage.duty_record.counting import COMMITTEE_SEPARATOR, COUNTED_ACTIVITY
from storage.duty_record.facts import MemberYear
from storage.duty_record.groups import stream_year
from storage.duty_record.years import instant, year_bounds
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityType,
    LiaisonPoint,
    Member,
    Report,
    ReportCoauthor,
    ReportEvent,
    ReportStatus,
    Sector,
    SignupStatus,
)
from storage.scoring import ScoringRules


@dataclass(frozen=True)
class ExcellentReport:
    report_id: int
    receipt_no: str
    title: str
    category: str | None
    status: ReportStatus
    author: str
    sector: str | None
    coauthors: tuple[str, ...]
    submitted_at: datetime | None
    adopted: bool
    forwarded: bool
    instructed: bool


@dataclass(frozen=True)
class PointCandidate:
    """A liaison point and its micro-consultations held in the year."""

    liaison_point_id: int
    name: str
    activities: int
    participants: int  # check-ins at those activities


@dataclass(frozen=True)
class Awards:
    year: int
    members: tuple[MemberYear, ...]
    reports: tuple[ExcellentReport, ...]
    liaison_points: tuple[PointCandidate, ...]


def top_with_ties(entries: Iterable[MemberYear], count: int) -> list[MemberYear]:
    """The count members with the most points (more than zero), and any tied with the last."""
    ranked = sorted(
        (e for e in entries if e.score.total > 0),
        key=lambda e: (-e.score.total, -e.facts.reports_used, e.name, e.member_id),
    )
    if len(ranked) <= count:
        return ranked
    floor = ranked[count - 1].score.total
    return [e for e in ranked if e.score.total >= floor]


async def _top_members(
    session: AsyncSession,
    viewer_id: int,
    year: int,
    *,
    now: datetime,
    tz: tzinfo,
    rules: ScoringRules,
) -> list[MemberYear]:
    kept: list[MemberYear] = []
    async for entry in stream_year(session, viewer_id, year, now=now, tz=tz, rules=rules):
        if entry.active and entry.score.total > 0:
            kept.append(entry)
            if len(kept) >= 4 * rules.award_members + 1000:
                # Memory stays bounded: only the leaders so far (and their ties) can still win.
                kept = top_with_ties(kept, rules.award_members)
    return top_with_ties(kept, rules.award_members)


async def _excellent_reports(session: AsyncSession, year: int) -> list[ExcellentReport]:
    def reached(*actions: str) -> ColumnElement[bool]:
        return exists().where(ReportEvent.report_id == Report.id, ReportEvent.action.in_(actions))

    coauthors = (
        select(func.aggregate_strings(Member.name, COMMITTEE_SEPARATOR))
        .select_from(ReportCoauthor)
        .join(Member, Member.id == ReportCoauthor.member_id)
        .where(ReportCoauthor.report_id == Report.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Report.id,
            Report.receipt_no,
            Report.title,
            Report.category,
            Report.status,
            Member.name,
            Sector.name,
            coauthors,
            Report.submitted_at,
            reached("adopt"),
            reached("forward"),
            reached("instruct"),
        )
        .join(Member, Member.id == Report.member_id)
        .outerjoin(Sector, Sector.id == Member.sector_id)
        .where(Report.excellent.is_(True), Report.receipt_year == year)
        .order_by(Report.receipt_seq)
    )
    found = [
        ExcellentReport(
            report_id=r[0],
            receipt_no=r[1] or "",
            title=r[2] or "",
            category=r[3],
            status=r[4],
            author=r[5],
            sector=r[6],
            coauthors=tuple(sorted(filter(None, (r[7] or "").split(COMMITTEE_SEPARATOR)))),
            submitted_at=r[8],
            adopted=bool(r[9]),
            forwarded=bool(r[10]),
            instructed=bool(r[11]),
        )
        for r in rows
    ]
    # Instructed first, then adopted or forwarded: the strongest candidates lead the list.
    return sorted(found, key=lambda r: (not r.instructed, not (r.adopted or r.forwarded)))


async def _liaison_points(
    session: AsyncSession, year: int, *, now: datetime, tz: tzinfo, count: int
) -> list[PointCandidate]:
    start, end = year_bounds(year, tz)
    checked_in = (
        select(func.count())
        .select_from(ActivitySignup)
        .where(
            ActivitySignup.activity_id == Activity.id,
            ActivitySignup.status == SignupStatus.checked_in,
        )
        .scalar_subquery()
    )
    held = (
        select(Activity.liaison_point_id.label("point_id"), checked_in.label("participants"))
        .where(
            Activity.type == ActivityType.micro_consultation,
            Activity.status.in_(COUNTED_ACTIVITY),
            Activity.liaison_point_id.is_not(None),
            Activity.starts_at >= start,
            Activity.starts_at < end,
            Activity.starts_at <= instant(now),
        )
        .subquery("held")
    )
    rows = await session.execute(
        select(
            LiaisonPoint.id,
            LiaisonPoint.name,
            func.count().label("activities"),
            func.sum(held.c.participants).label("participants"),
        )
        .join(held, held.c.point_id == LiaisonPoint.id)
        .group_by(LiaisonPoint.id, LiaisonPoint.name)
    )
    ranked = sorted(
        (PointCandidate(r[0], r[1], int(r[2]), int(r[3] or 0)) for r in rows),
        key=lambda p: (-p.activities, -p.participants, p.name),
    )
    if len(ranked) <= count:
        return ranked
    last = ranked[count - 1]
    return [
        p for p in ranked if (p.activities, p.participants) >= (last.activities, last.participants)
    ]


async def award_candidates(
    session: AsyncSession,
    viewer_id: int,
    year: int,
    *,
    now: datetime,
    tz: tzinfo,
    rules: ScoringRules,
) -> Awards | None:
    """The lists staff start the annual awards from: top members by points, the reports marked
    excellent, the liaison points with the most micro-consultations (ties at the cut kept).
    None for non-staff."""
    if not await is_staff(session, viewer_id):
        return None
    members = await _top_members(session, viewer_id, year, now=now, tz=tz, rules=rules)
    reports = await _excellent_reports(session, year)
    points = await _liaison_points(session, year, now=now, tz=tz, count=rules.award_liaison_points)
    return Awards(year, tuple(members), tuple(reports), tuple(points))
