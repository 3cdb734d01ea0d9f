"""The counting query: every member (or one) with their counts for a year, from the
reports they wrote or co-wrote, their activity sign-ups and their notice acknowledgements.
It is built once per shape and run with parameters; one query serves the card and the export,
so the two can never disagree."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    SQLColumnExpression,
    Subquery,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.duty_record.facts import FACT_NAMES, Facts, MemberYear, score
from storage.duty_record.years import year_bounds
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    Committee,
    Identity,
    LiaisonPoint,
    Member,
    Report,
    ReportCoauthor,
    ReportEvent,
    Role,
    Sector,
    SignupStatus,
    member_committee,
)
from storage.models.base import UTCDateTime
from storage.models.notices import AckMode, Notice, NoticeRecipient, NoticeStatus
from storage.models.outbox import DeliveryStatus, OutboxMessage
from storage.scoring import ScoringRules

COUNTED_ACTIVITY = (ActivityStatus.published, ActivityStatus.postponed)
COMMITTEE_SEPARATOR = "\n"
# The review decisions that count as "used" (采用率): adopted, forwarded or instructed.
USED_ACTIONS = ("adopt", "forward", "instruct")


def within_hours(
    later: SQLColumnExpression[Any], earlier: SQLColumnExpression[Any], hours: int, dialect: str
) -> ColumnElement[bool]:
    """later <= earlier + hours, written for each database (no portable interval arithmetic)."""
    if dialect == "sqlite":
        return func.julianday(later) <= func.julianday(earlier) + hours / 24.0
    # hours is a validated whole number from the rules file, never user text.
    return later <= earlier + literal_column(f"interval '{int(hours)} hours'")


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


# The query is built once per shape and run with these parameters (building it costs more
# than running it for one member).
YEAR = bindparam("year", type_=Integer())
START = bindparam("start", type_=UTCDateTime())  # the local year's first instant
END = bindparam("end", type_=UTCDateTime())
NOW = bindparam("now", type_=UTCDateTime())
MEMBER = bindparam("member_id", type_=Integer())


def _report_facts(one_member: bool) -> Subquery:
    """Per member: reports credited to them (as author or co-author) and their outcomes."""
    # receipt_year is set with the receipt number, at the first submission (drafts have none).
    counted = Report.receipt_year == YEAR
    own = select(
        Report.member_id.label("member_id"),
        Report.id.label("report_id"),
        literal(0).label("co"),
        Report.excellent.label("excellent"),
    ).where(counted)
    co = (
        select(
            ReportCoauthor.member_id.label("member_id"),
            Report.id.label("report_id"),
            literal(1).label("co"),
            Report.excellent.label("excellent"),
        )
        .join(Report, Report.id == ReportCoauthor.report_id)
        .where(counted)
    )
    if one_member:
        own = own.where(Report.member_id == MEMBER)
        co = co.where(ReportCoauthor.member_id == MEMBER)
    credited = union_all(own, co).subquery("credited")
    # One row per credited report with its outcomes: the decisions in its history, joined
    # (not looked up once per outcome), then grouped, so each event is read once.
    action = ReportEvent.action

    def reached(name: str) -> ColumnElement[int]:
        return func.max(case((action == name, 1), else_=0))

    per_report = (
        select(
            credited.c.member_id,
            credited.c.co,
            func.max(case((credited.c.excellent, 1), else_=0)).label("excellent"),
            reached("adopt").label("adopted"),
            reached("forward").label("forwarded"),
            reached("instruct").label("instructed"),
            func.max(case((action.is_not(None), 1), else_=0)).label("used"),
        )
        .select_from(credited)
        .outerjoin(
            ReportEvent,
            and_(ReportEvent.report_id == credited.c.report_id, action.in_(USED_ACTIONS)),
        )
        .group_by(credited.c.member_id, credited.c.report_id, credited.c.co)
        .subquery("per_report")
    )
    columns: list[ColumnElement[Any]] = [
        func.count().label("reports_submitted"),
        func.sum(per_report.c.co).label("co_submitted"),
    ]
    for name in ("adopted", "forwarded", "instructed", "excellent", "used"):
        flag = per_report.c[name]
        columns.append(func.sum(flag).label(f"reports_{name}"))
        columns.append(func.sum(flag * per_report.c.co).label(f"co_{name}"))
    return (
        select(per_report.c.member_id, *columns)
        .group_by(per_report.c.member_id)
        .subquery("report_facts")
    )


def _activity_facts(one_member: bool) -> Subquery:
    status = ActivitySignup.status
    over = func.coalesce(Activity.ends_at, Activity.starts_at) < NOW
    stmt = (
        select(
            ActivitySignup.member_id.label("member_id"),
            count_if(
                or_(
                    status.in_((SignupStatus.signed_up, SignupStatus.checked_in)),
                    and_(status == SignupStatus.leave, ActivitySignup.signed_up_at.is_not(None)),
                )
            ).label("activities_signed_up"),
            count_if(status == SignupStatus.checked_in).label("activities_attended"),
            count_if(status == SignupStatus.leave).label("activities_leave"),
            count_if(and_(status == SignupStatus.signed_up, over)).label("activities_absent"),
            count_if(and_(status == SignupStatus.signed_up, not_(over))).label(
                "activities_upcoming"
            ),
        )
        .join(Activity, Activity.id == ActivitySignup.activity_id)
        .where(
            Activity.starts_at >= START,
            Activity.starts_at < END,
            Activity.status.in_(COUNTED_ACTIVITY),
            status.in_((SignupStatus.signed_up, SignupStatus.checked_in, SignupStatus.leave)),
        )
        .group_by(ActivitySignup.member_id)
    )
    if one_member:
        stmt = stmt.where(ActivitySignup.member_id == MEMBER)
    return stmt.subquery("activity_facts")


def notice_sent_at() -> ColumnElement[Any]:
    return func.coalesce(Notice.scheduled_at, Notice.queued_at)


def _notice_facts(one_member: bool, hours: int, dialect: str) -> Subquery:
    received = func.coalesce(OutboxMessage.sent_at, notice_sent_at())
    answered = NoticeRecipient.acked_at.is_not(None)
    in_time = within_hours(NoticeRecipient.acked_at, received, hours, dialect)
    window_open = within_hours(NOW, received, hours, dialect)
    stmt = (
        select(
            NoticeRecipient.member_id.label("member_id"),
            func.count().label("notices_asked"),
            count_if(and_(answered, in_time)).label("notices_on_time"),
            count_if(and_(answered, not_(in_time))).label("notices_late"),
            count_if(and_(not_(answered), not_(window_open))).label("notices_missed"),
            count_if(and_(not_(answered), window_open)).label("notices_open"),
        )
        .join(Notice, Notice.id == NoticeRecipient.notice_id)
        .outerjoin(OutboxMessage, OutboxMessage.id == NoticeRecipient.outbox_id)
        .where(
            Notice.ack_mode != AckMode.none,
            Notice.status != NoticeStatus.draft,
            notice_sent_at() >= START,
            notice_sent_at() < END,
            # Only members it reached (or who answered anyway) were asked.
            or_(answered, OutboxMessage.status == DeliveryStatus.sent),
        )
        .group_by(NoticeRecipient.member_id)
    )
    if one_member:
        stmt = stmt.where(NoticeRecipient.member_id == MEMBER)
    return stmt.subquery("notice_facts")


@lru_cache(maxsize=16)
def records_query(dialect: str, hours: int, one_member: bool) -> Select[Any]:
    """Every member of the roster (or the one in :member_id) with their counts for :year."""
    reports = _report_facts(one_member)
    activities = _activity_facts(one_member)
    notices = _notice_facts(one_member, hours, dialect)
    committees = (
        select(func.aggregate_strings(Committee.name, COMMITTEE_SEPARATOR))
        .select_from(member_committee)
        .join(Committee, Committee.id == member_committee.c.committee_id)
        .where(member_committee.c.member_id == Member.id)
        .scalar_subquery()
    )
    counts = [
        sub.c[name]
        for sub in (reports, activities, notices)
        for name in FACT_NAMES
        if name in sub.c
    ]
    stmt = (
        select(
            Member.id,
            Member.name,
            Member.active,
            Member.phone,
            # Whether the bot reaches the member at all: staff phone those it does not.
            exists().where(Identity.member_id == Member.id).label("on_bot"),
            Sector.name.label("sector"),
            LiaisonPoint.name.label("liaison_point"),
            committees.label("committees"),
            *counts,
        )
        .outerjoin(Sector, Sector.id == Member.sector_id)
        .outerjoin(LiaisonPoint, LiaisonPoint.id == Member.liaison_point_id)
        .outerjoin(reports, reports.c.member_id == Member.id)
        .outerjoin(activities, activities.c.member_id == Member.id)
        .outerjoin(notices, notices.c.member_id == Member.id)
    )
    if one_member:
        return stmt.where(Member.id == MEMBER)
    return stmt.where(Member.role == Role.member).order_by(
        Sector.name.is_(None), Sector.name, Member.name, Member.id
    )


def query_params(
    year: int, now: datetime, tz: tzinfo, member_id: int | None = None
) -> dict[str, Any]:
    start, end = year_bounds(year, tz)
    params: dict[str, Any] = {"year": year, "start": start, "end": end, "now": now}
    if member_id is not None:
        params["member_id"] = member_id
    return params


def member_year(row: Any, year: int, rules: ScoringRules) -> MemberYear:
    data = row._mapping
    facts = Facts(**{name: int(data.get(name) or 0) for name in FACT_NAMES})
    committees = tuple(sorted(filter(None, (data["committees"] or "").split(COMMITTEE_SEPARATOR))))
    return MemberYear(
        member_id=data["id"],
        name=data["name"],
        sector=data["sector"],
        committees=committees,
        liaison_point=data["liaison_point"],
        active=bool(data["active"]),
        year=year,
        phone=data["phone"],
        on_bot=bool(data["on_bot"]),
        facts=facts,
        score=score(facts, rules),
    )


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
