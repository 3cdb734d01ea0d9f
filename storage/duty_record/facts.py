"""What a record holds: one member's counts for a year (Facts), weighed by the scoring
rules into explained lines and a total (Score), with who the member is (MemberYear)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from storage.scoring import REPORT_METRICS, Metric, ScoringRules


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
    phone: str | None = None
    on_bot: bool = True  # has an identity on some channel
