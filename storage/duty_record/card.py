"""One member's card: their record for a year (their own, or staff looking anyone up),
with the other years it offers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from storage.duty_record.access import Access
from storage.duty_record.counting import (
    COUNTED_ACTIVITY,
    MEMBER,
    dialect_of,
    member_year,
    notice_sent_at,
    query_params,
    records_query,
)
from storage.duty_record.facts import MemberYear
from storage.duty_record.years import local_year
from storage.models import Activity, ActivitySignup, Member, Report, ReportCoauthor
from storage.models.notices import AckMode, Notice, NoticeRecipient
from storage.scoring import ScoringRules

MAX_EARLIER_YEARS = 5


@dataclass(frozen=True)
class RecordResult:
    access: Access
    record: MemberYear | None = None
    # The other years the card offers buttons for: this year and earlier years with data.
    other_years: tuple[int, ...] = ()


@lru_cache(maxsize=1)
def _first_dates_query() -> Select[Any]:
    """The earliest report year, activity start and notice of one member, in one round trip."""
    # Two index lookups (own, co-authored) rather than one OR the planner cannot index.
    credited_years = union_all(
        select(Report.receipt_year.label("year")).where(Report.member_id == MEMBER),
        select(Report.receipt_year.label("year"))
        .join(ReportCoauthor, ReportCoauthor.report_id == Report.id)
        .where(ReportCoauthor.member_id == MEMBER),
    ).subquery("credited_years")
    report_year = select(func.min(credited_years.c.year)).scalar_subquery()
    first_activity = (
        select(func.min(Activity.starts_at))
        .join(ActivitySignup, ActivitySignup.activity_id == Activity.id)
        .where(ActivitySignup.member_id == MEMBER, Activity.status.in_(COUNTED_ACTIVITY))
        .scalar_subquery()
    )
    first_notice = (
        select(func.min(notice_sent_at()))
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .where(NoticeRecipient.member_id == MEMBER, Notice.ack_mode != AckMode.none)
        .scalar_subquery()
    )
    return select(
        report_year.label("report"), first_activity.label("activity"), first_notice.label("notice")
    )


async def _first_year(session: AsyncSession, member_id: int, tz: tzinfo) -> int | None:
    """The earliest local year anything on the record happened in."""
    row = (await session.execute(_first_dates_query(), {"member_id": member_id})).one()
    years = [int(row[0])] if row[0] is not None else []
    years += [local_year(m, tz) for m in row[1:] if m is not None]
    return min(years) if years else None


async def record(
    session: AsyncSession,
    viewer_id: int,
    year: int,
    *,
    now: datetime,
    tz: tzinfo,
    rules: ScoringRules,
    member_id: int | None = None,
) -> RecordResult:
    """A member's record for a year: their own, or (staff only) anyone's by member_id."""
    viewer = await session.get(Member, viewer_id)
    if viewer is None or not viewer.active:
        return RecordResult(Access.forbidden)
    target = viewer_id if member_id is None else member_id
    if target != viewer_id and not viewer.role.is_staff:
        return RecordResult(Access.forbidden)
    stmt = records_query(dialect_of(session), rules.on_time_hours, True)
    row = (await session.execute(stmt, query_params(year, now, tz, target))).first()
    if row is None:
        return RecordResult(Access.not_found)
    this_year = local_year(now, tz)
    first = await _first_year(session, target, tz)
    oldest = (
        this_year if first is None else max(min(first, this_year), this_year - MAX_EARLIER_YEARS)
    )
    years = tuple(y for y in range(this_year, oldest - 1, -1) if y != year)
    return RecordResult(Access.ok, member_year(row, year, rules), years)
