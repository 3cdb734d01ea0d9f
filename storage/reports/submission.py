"""Submitting a draft: gap-free receipt numbers per year, kept when a returned report comes
back."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import upsert_insert
from storage.models import ReportCounter, ReportEvent, ReportStatus
from storage.reports.loading import refreshed, report_row, view_of
from storage.reports.views import Outcome, Result

RECEIPT_PREFIX = "SQ"


def receipt_number(year: int, seq: int) -> str:
    return f"{RECEIPT_PREFIX}-{year}-{seq:06d}"


async def _next_seq(session: AsyncSession, year: int) -> int:
    """Take the next number of the year. The counter row is locked by the UPDATE until the
    submitting transaction ends, so concurrent submissions queue here and a rolled-back one
    gives its number back: no gaps, no duplicates (PostgreSQL and SQLite alike)."""
    await session.execute(
        upsert_insert(session)(ReportCounter)
        .values(year=year, last=0)
        .on_conflict_do_nothing(index_elements=["year"])
    )
    seq = await session.scalar(
        update(ReportCounter)
        .where(ReportCounter.year == year)
        .values(last=ReportCounter.last + 1)
        .returning(ReportCounter.last)
    )
    assert seq is not None
    return int(seq)


async def submit(
    session: AsyncSession,
    member_id: int,
    report_id: int,
    *,
    revision: int | None,
    now: datetime,
    tz: ZoneInfo,
) -> Result:
    """Submit the member's draft: a receipt number (kept when a returned report comes back).

    Confirming twice gives already_submitted with the same report; a confirm button from an
    older preview (another revision) gives stale and changes nothing.
    """
    report = await report_row(session, report_id, lock=True)
    if report is None or report.member_id != member_id:
        return Result(Outcome.not_found)
    if report.status is not ReportStatus.draft:
        if report.status is ReportStatus.returned:
            return Result(Outcome.not_editable, await view_of(session, report))
        return Result(Outcome.already_submitted, await view_of(session, report))
    if revision is not None and report.revision != revision:
        return Result(Outcome.stale, await view_of(session, report))
    view = await view_of(session, report)
    if view.missing:
        return Result(Outcome.incomplete, view)
    action = "resubmitted"
    if report.receipt_no is None:
        year = now.astimezone(tz).year
        seq = await _next_seq(session, year)
        report.receipt_year, report.receipt_seq = year, seq
        report.receipt_no = receipt_number(year, seq)
        action = "submitted"
    report.status = ReportStatus.submitted
    report.draft_owner_id = None
    report.submitted_at = now
    report.revision += 1
    report.events.append(
        ReportEvent(at=now, action=action, status=ReportStatus.submitted, actor_member_id=member_id)
    )
    return Result(Outcome.ok, await refreshed(session, report))
