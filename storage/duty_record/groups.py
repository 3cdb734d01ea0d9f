"""Every member's record for a year, streamed (the export), and the year's totals by
sector and by committee (the statistics)."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from storage.duty_record.access import NotStaff, is_staff
from storage.duty_record.counting import dialect_of, member_year, query_params, records_query
from storage.duty_record.facts import MemberYear
from storage.scoring import ScoringRules


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
    stmt = records_query(dialect_of(session), rules.on_time_hours, False)
    result = await session.stream(
        stmt.execution_options(yield_per=batch), query_params(year, now, tz)
    )
    async for row in result:
        yield member_year(row, year, rules)


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
    # Names of the active members the bot does not reach (no channel yet), in roster order:
    # statistics name them so staff reach them another way.
    not_on_bot: list[str] = field(default_factory=list)

    def add(self, entry: MemberYear) -> None:
        self.overall.add(entry)
        if entry.active and not entry.on_bot:
            self.not_on_bot.append(entry.name)
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
