"""Reading reports: a member's own (written or co-written), staff lookup by id or receipt
number, search by filter, pages of summaries, the whole reports for exports, and sector and
person lookups for the search criteria."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, Report, ReportCoauthor, ReportStatus, Sector
from storage.reports.loading import names_of, people_of, report_row, view_of
from storage.reports.views import Person, ReportView


@dataclass(frozen=True)
class Summary:
    """One line of a list of reports."""

    id: int
    receipt_no: str | None
    title: str | None
    category: str | None
    status: ReportStatus
    excellent: bool
    submitted_at: datetime | None
    author_name: str
    coauthored: bool = False  # listed for a co-author, not the author


@dataclass(frozen=True)
class Page:
    items: tuple[Summary, ...]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


@dataclass(frozen=True)
class ReportFilter:
    """Staff search; every given criterion must match. Times are UTC."""

    status: ReportStatus | None = None
    category: str | None = None
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None
    member_id: int | None = None  # author or co-author
    sector_id: int | None = None  # the author's sector


def _visible_to(member_id: int) -> ColumnElement[bool]:
    coauthored = select(ReportCoauthor.report_id).where(ReportCoauthor.member_id == member_id)
    return or_(Report.member_id == member_id, Report.id.in_(coauthored))


async def list_mine(session: AsyncSession, member_id: int, page: int, size: int) -> Page:
    """Submitted reports the member wrote or co-wrote, newest first."""
    where = and_(Report.status != ReportStatus.draft, _visible_to(member_id))
    return await _page(session, where, page, size, viewer=member_id)


async def get_visible(session: AsyncSession, member_id: int, report_id: int) -> ReportView | None:
    """A report as its author (or a co-author, once submitted) may see it; else None."""
    report = await report_row(session, report_id)
    if report is None:
        return None
    if report.member_id == member_id:
        return await view_of(session, report)
    if report.status is ReportStatus.draft:
        return None
    if any(c.member_id == member_id for c in report.coauthors):
        return await view_of(session, report)
    return None


async def _page(
    session: AsyncSession,
    where: ColumnElement[bool],
    page: int,
    size: int,
    *,
    viewer: int | None = None,
) -> Page:
    total = int(await session.scalar(select(func.count(Report.id)).where(where)) or 0)
    pages = max(1, -(-total // size))
    page = min(max(page, 0), pages - 1)
    rows = await session.execute(
        select(Report, Member.name)
        .join(Member, Member.id == Report.member_id)
        .where(where)
        .order_by(Report.submitted_at.desc(), Report.id.desc())
        .offset(page * size)
        .limit(size)
    )
    items = tuple(
        Summary(
            id=r.id,
            receipt_no=r.receipt_no,
            title=r.title,
            category=r.category,
            status=r.status,
            excellent=r.excellent,
            submitted_at=r.submitted_at,
            author_name=name,
            coauthored=viewer is not None and r.member_id != viewer,
        )
        for r, name in rows
    )
    return Page(items, total, page, size)


async def get(session: AsyncSession, report_id: int) -> ReportView | None:
    """A submitted report for staff; drafts are private to their author."""
    report = await report_row(session, report_id)
    if report is None or report.status is ReportStatus.draft:
        return None
    return await view_of(session, report)


async def by_receipt(session: AsyncSession, receipt_no: str) -> ReportView | None:
    report = await session.scalar(
        select(Report).where(Report.receipt_no == receipt_no.strip().upper())
    )
    if report is None or report.status is ReportStatus.draft:
        return None
    return await view_of(session, report)


def _filtered(flt: ReportFilter) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [Report.status != ReportStatus.draft]
    if flt.status is not None:
        conditions.append(Report.status == flt.status)
    if flt.category is not None:
        conditions.append(Report.category == flt.category)
    if flt.submitted_from is not None:
        conditions.append(Report.submitted_at >= flt.submitted_from)
    if flt.submitted_before is not None:
        conditions.append(Report.submitted_at < flt.submitted_before)
    if flt.member_id is not None:
        conditions.append(_visible_to(flt.member_id))
    if flt.sector_id is not None:
        authors = select(Member.id).where(Member.sector_id == flt.sector_id)
        conditions.append(Report.member_id.in_(authors))
    return and_(*conditions)


async def search(session: AsyncSession, flt: ReportFilter, page: int, size: int) -> Page:
    return await _page(session, _filtered(flt), page, size)


async def export(
    session: AsyncSession, flt: ReportFilter, *, limit: int = 10_000
) -> list[ReportView]:
    """Every report matching the filter, whole, oldest first (for the xlsx and documents)."""
    stmt = (
        select(Report).where(_filtered(flt)).order_by(Report.submitted_at, Report.id).limit(limit)
    )
    rows = list(await session.scalars(stmt))
    # One name lookup for the whole export instead of one per report.
    names = await names_of(session, [i for report in rows for i in people_of(report)])
    return [await view_of(session, report, names) for report in rows]


async def find_sector(session: AsyncSession, name: str) -> Person | None:
    """A sector by exact name, or the only one whose name contains the text."""
    text = name.strip()
    if not text:
        return None
    exact = await session.execute(select(Sector.id, Sector.name).where(Sector.name == text))
    row = exact.first()
    if row is None:
        rows = (
            await session.execute(
                select(Sector.id, Sector.name)
                .where(Sector.name.contains(text, autoescape=True))
                .limit(2)
            )
        ).all()
        row = rows[0] if len(rows) == 1 else None
    return Person(row[0], row[1]) if row else None


async def sector(session: AsyncSession, sector_id: int) -> Person | None:
    row = (
        await session.execute(select(Sector.id, Sector.name).where(Sector.id == sector_id))
    ).first()
    return Person(row[0], row[1]) if row else None


async def person(session: AsyncSession, member_id: int) -> Person | None:
    row = (
        await session.execute(
            select(Member.id, Member.name, Sector.name)
            .outerjoin(Sector, Member.sector_id == Sector.id)
            .where(Member.id == member_id)
        )
    ).first()
    return Person(row[0], row[1], row[2]) if row else None
