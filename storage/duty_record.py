"""The duty record (履职档案): each member's year, counted from the events, weighed by the rules.

Nothing here is stored: a record is counted when it is read, from the reports (author and
co-authors, with their review history), the activity sign-ups and the notice
acknowledgements. Points are the counts weighed by the scoring rules in force, so a changed
rule changes every record and no history is rewritten.

What counts, and in which year (local time, settings.tz):
- a report counts in the year of its receipt number (its first submission), once, however
  often it was returned and resubmitted; it counts as adopted / forwarded / instructed when
  its history holds that decision (a returned-then-adopted report is adopted), as excellent
  while it is marked so. Co-authors get the report on their record too.
- an activity counts in the year it starts; cancelled (and draft) activities do not count.
  Checked in = attended; leave = on leave; still "signed up" once the activity is over =
  absent without leave; waiting-list and cancelled sign-ups count for nothing.
- a notice that asked for an acknowledgement counts in the year it was sent, for members it
  reached (or who answered it): on time within on_time_hours of delivery, late after that,
  missed when that time passed without an answer.

One query serves both the card (one member) and the export (every member, streamed from a
server-side cursor, in sector and name order), so the two can never disagree.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, fields
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

from storage import audit
from storage.audit import Actor
from storage.models import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityType,
    Committee,
    LiaisonPoint,
    Member,
    Report,
    ReportCoauthor,
    ReportEvent,
    ReportStatus,
    Role,
    Sector,
    SignupStatus,
    member_committee,
)
from storage.models.base import UTCDateTime
from storage.models.notices import AckMode, Notice, NoticeRecipient, NoticeStatus
from storage.models.outbox import DeliveryStatus, OutboxMessage
from storage.scoring import REPORT_METRICS, Metric, ScoringRules

COUNTED_ACTIVITY = (ActivityStatus.published, ActivityStatus.postponed)
COMMITTEE_SEPARATOR = "\n"
MAX_EARLIER_YEARS = 5
# The review decisions that count as "used" (采用率): adopted, forwarded or instructed.
USED_ACTIONS = ("adopt", "forward", "instruct")


# -- what a record holds -----------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """One member's counts for one year. co_* say how many of a report count were co-authored."""

    reports_submitted: int = 0
    reports_adopted: int = 0
    reports_forwarded: int = 0
    reports_instructed: int = 0
    reports_excellent: int = 0
    reports_used: int = 0  # adopted, forwarded or instructed: the adoption rate's numerator
    co_submitted: int = 0
    co_adopted: int = 0
    co_forwarded: int = 0
    co_instructed: int = 0
    co_excellent: int = 0
    co_used: int = 0
    activities_signed_up: int = 0  # held a place (or asked for leave after signing up)
    activities_attended: int = 0
    activities_leave: int = 0
    activities_absent: int = 0
    activities_upcoming: int = 0  # holds a place for an activity not over yet
    notices_asked: int = 0  # notices asking for an acknowledgement that reached the member
    notices_on_time: int = 0
    notices_late: int = 0
    notices_missed: int = 0
    notices_open: int = 0  # not answered, still within the on-time window

    def count(self, metric: Metric) -> int:
        return int(getattr(self, _FACT_OF[metric]))

    def coauthored(self, metric: Metric) -> int:
        if metric not in REPORT_METRICS:
            return 0
        return int(getattr(self, "co_" + _FACT_OF[metric].removeprefix("reports_")))

    @property
    def notices_acknowledged(self) -> int:
        return self.notices_on_time + self.notices_late


FACT_NAMES = tuple(f.name for f in fields(Facts))
_FACT_OF: dict[Metric, str] = {
    Metric.report_submitted: "reports_submitted",
    Metric.report_adopted: "reports_adopted",
    Metric.report_forwarded: "reports_forwarded",
    Metric.report_instructed: "reports_instructed",
    Metric.report_excellent: "reports_excellent",
    Metric.activity_attended: "activities_attended",
    Metric.activity_leave: "activities_leave",
    Metric.activity_absent: "activities_absent",
    Metric.notice_on_time: "notices_on_time",
    Metric.notice_late: "notices_late",
    Metric.notice_missed: "notices_missed",
}


@dataclass(frozen=True)
class Line:
    """One explained line of the record: count x points each (co-authored ones by the factor)."""

    metric: Metric
    count: int
    coauthored: int
    each: float
    points: float


@dataclass(frozen=True)
class Score:
    lines: tuple[Line, ...]
    total: float


def score(facts: Facts, rules: ScoringRules) -> Score:
    """Weigh the counts by the rules; co-authored reports earn coauthor_factor of the points."""
    lines = []
    for metric in Metric:
        count = facts.count(metric)
        co = facts.coauthored(metric)
        each = rules.each(metric)
        points = each * (count - co) + each * rules.coauthor_factor * co
        lines.append(Line(metric, count, co, each, round(points, 2)))
    return Score(tuple(lines), round(sum(line.points for line in lines), 2))


@dataclass(frozen=True)
class MemberYear:
    """One member's record for one year: who, the counts, the points."""

    member_id: int
    name: str
    sector: str | None
    committees: tuple[str, ...]
    liaison_point: str | None
    active: bool
    year: int
    facts: Facts
    score: Score


class Access(enum.StrEnum):
    ok = "ok"
    not_found = "not_found"
    forbidden = "forbidden"  # a member asking for someone else's record


@dataclass(frozen=True)
class RecordResult:
    access: Access
    record: MemberYear | None = None
    # The other years the card offers buttons for: this year and earlier years with data.
    other_years: tuple[int, ...] = ()


# -- years ------------------------------------------------------------------------------------


def local_year(moment: datetime, tz: tzinfo) -> int:
    return moment.astimezone(tz).year


def year_bounds(year: int, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants where the local year begins and the next one begins."""
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def _moment(value: datetime) -> ColumnElement[Any]:
    return literal(value, UTCDateTime())


def _within_hours(
    later: SQLColumnExpression[Any], earlier: SQLColumnExpression[Any], hours: int, dialect: str
) -> ColumnElement[bool]:
    """later <= earlier + hours, written for each database (no portable interval arithmetic)."""
    if dialect == "sqlite":
        return func.julianday(later) <= func.julianday(earlier) + hours / 24.0
    # hours is a validated whole number from the rules file, never user text.
    return later <= earlier + literal_column(f"interval '{int(hours)} hours'")


# -- the counting query -----------------------------------------------------------------------


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
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
            _count_if(
                or_(
                    status.in_((SignupStatus.signed_up, SignupStatus.checked_in)),
                    and_(status == SignupStatus.leave, ActivitySignup.signed_up_at.is_not(None)),
                )
            ).label("activities_signed_up"),
            _count_if(status == SignupStatus.checked_in).label("activities_attended"),
            _count_if(status == SignupStatus.leave).label("activities_leave"),
            _count_if(and_(status == SignupStatus.signed_up, over)).label("activities_absent"),
            _count_if(and_(status == SignupStatus.signed_up, not_(over))).label(
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


def _notice_sent_at() -> ColumnElement[Any]:
    return func.coalesce(Notice.scheduled_at, Notice.queued_at)


def _notice_facts(one_member: bool, hours: int, dialect: str) -> Subquery:
    received = func.coalesce(OutboxMessage.sent_at, _notice_sent_at())
    answered = NoticeRecipient.acked_at.is_not(None)
    in_time = _within_hours(NoticeRecipient.acked_at, received, hours, dialect)
    window_open = _within_hours(NOW, received, hours, dialect)
    stmt = (
        select(
            NoticeRecipient.member_id.label("member_id"),
            func.count().label("notices_asked"),
            _count_if(and_(answered, in_time)).label("notices_on_time"),
            _count_if(and_(answered, not_(in_time))).label("notices_late"),
            _count_if(and_(not_(answered), not_(window_open))).label("notices_missed"),
            _count_if(and_(not_(answered), window_open)).label("notices_open"),
        )
        .join(Notice, Notice.id == NoticeRecipient.notice_id)
        .outerjoin(OutboxMessage, OutboxMessage.id == NoticeRecipient.outbox_id)
        .where(
            Notice.ack_mode != AckMode.none,
            Notice.status != NoticeStatus.draft,
            _notice_sent_at() >= START,
            _notice_sent_at() < END,
            # Only members it reached (or who answered anyway) were asked.
            or_(answered, OutboxMessage.status == DeliveryStatus.sent),
        )
        .group_by(NoticeRecipient.member_id)
    )
    if one_member:
        stmt = stmt.where(NoticeRecipient.member_id == MEMBER)
    return stmt.subquery("notice_facts")


@lru_cache(maxsize=16)
def _records_query(dialect: str, hours: int, one_member: bool) -> Select[Any]:
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


def _params(year: int, now: datetime, tz: tzinfo, member_id: int | None = None) -> dict[str, Any]:
    start, end = year_bounds(year, tz)
    params: dict[str, Any] = {"year": year, "start": start, "end": end, "now": now}
    if member_id is not None:
        params["member_id"] = member_id
    return params


def _member_year(row: Any, year: int, rules: ScoringRules) -> MemberYear:
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
        facts=facts,
        score=score(facts, rules),
    )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# -- one member's card ------------------------------------------------------------------------


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
        select(func.min(_notice_sent_at()))
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
    stmt = _records_query(_dialect(session), rules.on_time_hours, True)
    row = (await session.execute(stmt, _params(year, now, tz, target))).first()
    if row is None:
        return RecordResult(Access.not_found)
    this_year = local_year(now, tz)
    first = await _first_year(session, target, tz)
    oldest = (
        this_year if first is None else max(min(first, this_year), this_year - MAX_EARLIER_YEARS)
    )
    years = tuple(y for y in range(this_year, oldest - 1, -1) if y != year)
    return RecordResult(Access.ok, _member_year(row, year, rules), years)


# -- every member: the export and the statistics ----------------------------------------------


class NotStaff(Exception):
    """Someone who is not (or no longer) staff asked for everyone's records."""


async def stream_year(
    session: AsyncSession,
    viewer_id: int,
    year: int,
    *,
    now: datetime,
    tz: tzinfo,
    rules: ScoringRules,
    batch: int = 1000,
) -> AsyncIterator[MemberYear]:
    """Every roster member's record for a year, by sector and name, read from a server-side
    cursor a batch at a time (memory stays flat however many members there are). Staff only:
    raises NotStaff for anyone else."""
    if not await is_staff(session, viewer_id):
        raise NotStaff(viewer_id)
    stmt = _records_query(_dialect(session), rules.on_time_hours, False)
    result = await session.stream(stmt.execution_options(yield_per=batch), _params(year, now, tz))
    async for row in result:
        yield _member_year(row, year, rules)


class GroupBy(enum.StrEnum):
    sector = "sector"
    committee = "committee"


@dataclass
class GroupStats:
    """Totals of one sector or committee (name None: members without one)."""

    name: str | None
    members: int = 0
    reports: int = 0  # reports its members wrote (co-authored ones count for their author)
    used: int = 0
    attended: int = 0
    leave: int = 0
    absent: int = 0
    notices_asked: int = 0
    notices_acknowledged: int = 0
    points: float = 0.0

    def add(self, entry: MemberYear) -> None:
        facts = entry.facts
        self.members += 1
        self.reports += facts.reports_submitted - facts.co_submitted
        self.used += facts.reports_used - facts.co_used
        self.attended += facts.activities_attended
        self.leave += facts.activities_leave
        self.absent += facts.activities_absent
        self.notices_asked += facts.notices_asked
        self.notices_acknowledged += facts.notices_acknowledged
        self.points += entry.score.total

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def adoption_rate(self) -> float | None:
        return self._rate(self.used, self.reports)

    @property
    def attendance_rate(self) -> float | None:
        """Attended out of every activity the members were expected at (leave counts against)."""
        return self._rate(self.attended, self.attended + self.leave + self.absent)

    @property
    def acknowledgement_rate(self) -> float | None:
        return self._rate(self.notices_acknowledged, self.notices_asked)

    @property
    def average_points(self) -> float | None:
        return round(self.points / self.members, 2) if self.members else None


@dataclass
class Totals:
    """Running totals while the year streams by: by sector, by committee, and overall."""

    sectors: dict[str | None, GroupStats] = field(default_factory=dict)
    committees: dict[str | None, GroupStats] = field(default_factory=dict)
    overall: GroupStats = field(default_factory=lambda: GroupStats(None))

    def add(self, entry: MemberYear) -> None:
        self.overall.add(entry)
        self.sectors.setdefault(entry.sector, GroupStats(entry.sector)).add(entry)
        for name in entry.committees or (None,):
            self.committees.setdefault(name, GroupStats(name)).add(entry)

    def groups(self, by: GroupBy) -> list[GroupStats]:
        chosen = self.sectors if by is GroupBy.sector else self.committees
        return sorted(chosen.values(), key=lambda g: (g.name is None, g.name or ""))


async def statistics(
    session: AsyncSession,
    viewer_id: int,
    year: int,
    *,
    now: datetime,
    tz: tzinfo,
    rules: ScoringRules,
) -> Totals | None:
    """The year's totals by sector and by committee (this year: so far); None for non-staff."""
    if not await is_staff(session, viewer_id):
        return None
    totals = Totals()
    async for entry in stream_year(session, viewer_id, year, now=now, tz=tz, rules=rules):
        totals.add(entry)
    return totals


# -- award candidates (五优评选) -----------------------------------------------------------------


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
            Activity.starts_at <= _moment(now),
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


async def is_staff(session: AsyncSession, member_id: int) -> bool:
    """Whether this member may see statistics, exports and anyone's record."""
    member = await session.get(Member, member_id)
    return member is not None and member.active and member.role.is_staff


async def record_export(
    session: AsyncSession, actor: Actor, action: str, year: int, rows: int
) -> None:
    """Exports of members' records are staff actions on personal data: audited."""
    await audit.record(session, actor, action, object_type="duty_year", object_id=year, rows=rows)
