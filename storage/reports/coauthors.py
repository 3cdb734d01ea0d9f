"""Co-authors of a draft: finding members by name, phone or #id, adding and removing them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, ReportCoauthor, Sector
from storage.reports.loading import draft_row, refreshed, view_of
from storage.reports.views import Outcome, Person, Result

MAX_COAUTHORS = 10


async def find_members(
    session: AsyncSession, query: str, *, exclude: int | None = None, limit: int = 8
) -> list[Person]:
    """Active members whose name contains the query (or with this phone / #id)."""
    text = query.strip()
    if not text:
        return []
    condition: ColumnElement[bool] = Member.name.contains(text, autoescape=True)
    digits = text.lstrip("#")
    if digits.isdigit() and len(digits) < 9:
        condition = or_(condition, Member.id == int(digits))
    stmt = (
        select(Member.id, Member.name, Sector.name)
        .outerjoin(Sector, Member.sector_id == Sector.id)
        .where(condition, Member.active)
        .order_by(Member.name, Member.id)
        .limit(limit)
    )
    if exclude is not None:
        stmt = stmt.where(Member.id != exclude)
    return [Person(i, name, sector) for i, name, sector in await session.execute(stmt)]


async def add_coauthor(
    session: AsyncSession, member_id: int, report_id: int, coauthor_id: int
) -> Result:
    report = await draft_row(session, member_id)
    if report is None or report.id != report_id:
        return Result(Outcome.not_found)
    if coauthor_id == member_id:
        return Result(Outcome.self_coauthor)
    other = await session.scalar(select(Member.id).where(Member.id == coauthor_id, Member.active))
    if other is None:
        return Result(Outcome.not_found)
    if any(c.member_id == coauthor_id for c in report.coauthors):
        return Result(Outcome.already_coauthor, await view_of(session, report))
    if len(report.coauthors) >= MAX_COAUTHORS:
        return Result(Outcome.too_many_coauthors, limit=MAX_COAUTHORS)
    report.coauthors.append(ReportCoauthor(member_id=coauthor_id))
    report.revision += 1
    return Result(Outcome.ok, await refreshed(session, report))


async def remove_coauthor(
    session: AsyncSession, member_id: int, report_id: int, coauthor_id: int
) -> Result:
    report = await draft_row(session, member_id)
    if report is None or report.id != report_id:
        return Result(Outcome.not_found)
    kept = [c for c in report.coauthors if c.member_id != coauthor_id]
    if len(kept) != len(report.coauthors):
        report.coauthors[:] = kept
        report.revision += 1
    return Result(Outcome.ok, await refreshed(session, report))
