"""Staff review: the queue of submitted reports, and the decisions (which step may follow
which status), recorded in the report's history and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.audit import Actor
from storage.models import Report, ReportEvent, ReportStatus
from storage.reports.loading import refreshed, report_row, view_of
from storage.reports.texts import clean_text
from storage.reports.views import Outcome, ReportView, Result

MAX_NOTE_CHARS = 2000
MAX_INSTRUCTED_BY_CHARS = 100


class ReviewAction(enum.StrEnum):
    adopt = "adopt"
    forward = "forward"
    instruct = "instruct"
    return_ = "return"
    excellent = "excellent"  # toggles the mark for the annual awards; the status stays


# Which review step may follow which status. Adopted reports are often forwarded up, and a
# forwarded one may get (several) leader instructions; only a fresh submission goes back.
ALLOWED: dict[ReviewAction, frozenset[ReportStatus]] = {
    ReviewAction.adopt: frozenset({ReportStatus.submitted}),
    ReviewAction.forward: frozenset({ReportStatus.submitted, ReportStatus.adopted}),
    ReviewAction.instruct: frozenset(
        {
            ReportStatus.submitted,
            ReportStatus.adopted,
            ReportStatus.forwarded,
            ReportStatus.instructed,
        }
    ),
    ReviewAction.return_: frozenset({ReportStatus.submitted}),
    ReviewAction.excellent: frozenset(
        {
            ReportStatus.submitted,
            ReportStatus.adopted,
            ReportStatus.forwarded,
            ReportStatus.instructed,
        }
    ),
}
NEW_STATUS = {
    ReviewAction.adopt: ReportStatus.adopted,
    ReviewAction.forward: ReportStatus.forwarded,
    ReviewAction.instruct: ReportStatus.instructed,
    ReviewAction.return_: ReportStatus.returned,
}


async def queue_count(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count(Report.id)).where(Report.status == ReportStatus.submitted)
        )
        or 0
    )


async def next_in_queue(session: AsyncSession, after: int | None = None) -> ReportView | None:
    """The oldest report waiting for review; with after, the one queued after that report."""
    stmt = select(Report).where(Report.status == ReportStatus.submitted)
    if after is not None:
        current = await session.get(Report, after)
        if current is not None and current.submitted_at is not None:
            stmt = stmt.where(
                or_(
                    Report.submitted_at > current.submitted_at,
                    and_(Report.submitted_at == current.submitted_at, Report.id > current.id),
                )
            )
    report = await session.scalar(stmt.order_by(Report.submitted_at, Report.id).limit(1))
    return await view_of(session, report) if report else None


async def review(
    session: AsyncSession,
    actor: Actor,
    report_id: int,
    action: ReviewAction,
    *,
    note: str | None,
    instructed_by: str | None = None,
    now: datetime,
) -> Result:
    """One review decision, recorded in the history and the audit log.

    Return needs a reason; an instruction needs its text and who gave it. A step that cannot
    follow the current status (e.g. adopting twice) changes nothing.
    """
    report = await report_row(session, report_id, lock=True)
    if report is None or report.status is ReportStatus.draft:
        return Result(Outcome.not_found)
    if report.status not in ALLOWED[action]:
        return Result(Outcome.not_allowed, await view_of(session, report))
    cleaned_note: str | None = None
    if note is not None and note.strip():
        checked = clean_text(note, MAX_NOTE_CHARS)
        if not checked.ok:
            return Result(checked.outcome, length=checked.length, limit=checked.limit)
        cleaned_note = checked.field
    who: str | None = None
    if action is ReviewAction.return_ and cleaned_note is None:
        return Result(Outcome.reason_required)
    if action is ReviewAction.instruct:
        if cleaned_note is None:
            return Result(Outcome.empty, field="note")
        by = clean_text(instructed_by, MAX_INSTRUCTED_BY_CHARS, single_line=True)
        if not by.ok:
            return Result(by.outcome, field="instructed_by", length=by.length, limit=by.limit)
        who = by.field
    old_status = report.status
    if action is ReviewAction.excellent:
        report.excellent = not report.excellent
        event_action = "excellent" if report.excellent else "unexcellent"
    else:
        report.status = NEW_STATUS[action]
        event_action = action.value
    report.reviewed_at = now
    report.revision += 1
    event = ReportEvent(
        at=now,
        action=event_action,
        status=report.status,
        actor_member_id=actor.member_id,
        note=cleaned_note,
        instructed_by=who,
    )
    report.events.append(event)
    await audit.record(
        session,
        actor,
        f"report.{event_action}",
        object_type="report",
        object_id=report.id,
        old=old_status.value,
        new=report.status.value,
        note=cleaned_note,
        instructed_by=who,
    )
    view = await refreshed(session, report)
    return Result(Outcome.ok, view, event=view.events[-1])
