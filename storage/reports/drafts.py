"""A member's draft: one open at a time, each answer saved as it arrives (guided, or merged
from a free message), thrown away, or a returned report reopened for revision."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Report, ReportSource, ReportStatus
from storage.reports.loading import draft_row, refreshed, report_row, saved, view_of
from storage.reports.quick_text import parse_quick_text
from storage.reports.texts import clean_text
from storage.reports.views import TEXT_FIELDS, Limits, Outcome, ReportView, Result


async def open_draft(session: AsyncSession, member_id: int) -> ReportView | None:
    """The member's open draft, if any."""
    report = await draft_row(session, member_id)
    return await view_of(session, report) if report else None


async def ensure_draft(
    session: AsyncSession, member_id: int, source: ReportSource = ReportSource.guided
) -> ReportView:
    """The member's open draft, created empty when there is none."""
    return await view_of(session, await _ensure_row(session, member_id, source))


async def _ensure_row(session: AsyncSession, member_id: int, source: ReportSource) -> Report:
    report = await draft_row(session, member_id)
    if report is None:
        report = Report(
            member_id=member_id,
            draft_owner_id=member_id,
            status=ReportStatus.draft,
            source=source,
            revision=0,
            excellent=False,
            # Empty collections, so they count as loaded and never lazy-load in async code.
            attachments=[],
            coauthors=[],
            events=[],
        )
        session.add(report)
        await session.flush()
    return report


async def save_text(
    session: AsyncSession,
    member_id: int,
    name: str,
    text: str | None,
    limits: Limits,
    *,
    allow_repeat: bool = True,
) -> Result:
    """Save one answer to the member's draft (created on the first answer).

    allow_repeat=False: an empty field is not filled with text another field already holds
    word for word; Outcome.repeated names that field instead. That is the trace of a resent
    answer: the bot moved to the next question and stopped before asking it (a crash), so
    the member, seeing no question, sent the last answer again."""
    if name not in TEXT_FIELDS:
        raise ValueError(f"not a text field: {name}")
    checked = clean_text(text, limits.for_field(name), single_line=name == "title")
    if not checked.ok:
        return Result(checked.outcome, field=name, length=checked.length, limit=checked.limit)
    report = await _ensure_row(session, member_id, ReportSource.guided)
    if not allow_repeat and not getattr(report, name):
        for other in TEXT_FIELDS:
            if other != name and getattr(report, other) == checked.field:
                return Result(Outcome.repeated, field=other)
    setattr(report, name, checked.field)
    report.revision += 1
    return Result(Outcome.ok, await saved(session, report), field=name)


async def save_category(
    session: AsyncSession, member_id: int, category: str, categories: Sequence[str]
) -> Result:
    if category not in categories:
        return Result(Outcome.bad_category)
    report = await _ensure_row(session, member_id, ReportSource.guided)
    report.category = category
    report.revision += 1
    return Result(Outcome.ok, await saved(session, report), field="category")


async def merge_quick(session: AsyncSession, member_id: int, text: str, limits: Limits) -> Result:
    """Put a free message into the member's draft (a new quick draft when none is open).

    Empty fields are filled; text for a field that already has some is added below it, so
    nothing the member wrote is overwritten. Too long: nothing changes.
    """
    report = await draft_row(session, member_id)
    guess_title = report is None or not report.title
    parts = parse_quick_text(text, title_max=limits.title, guess_title=guess_title)
    merged: dict[str, str] = {}
    for name, value in parts.items():
        current = getattr(report, name) if report is not None else None
        if name == "title" or not current:
            merged[name] = value
        else:
            merged[name] = f"{current}\n{value}"
    for name, value in merged.items():
        if len(value) > limits.for_field(name):
            return Result(
                Outcome.too_long, field=name, length=len(value), limit=limits.for_field(name)
            )
    if report is None:
        report = await _ensure_row(session, member_id, ReportSource.quick)
    for name, value in merged.items():
        setattr(report, name, value)
    report.revision += 1
    return Result(Outcome.ok, await saved(session, report))


async def discard(
    session: AsyncSession, member_id: int, report_id: int
) -> tuple[Result, list[str]]:
    """Throw the open draft away; returns the stored file paths to delete.

    A draft that is the revision of a returned report is not deleted: it goes back to
    "returned" with the member's edits kept, and can be revised again.
    """
    report = await draft_row(session, member_id)
    if report is None or report.id != report_id:
        return Result(Outcome.not_found), []
    if report.receipt_no is not None:
        report.status = ReportStatus.returned
        report.draft_owner_id = None
        report.revision += 1
        return Result(Outcome.ok, await refreshed(session, report)), []
    paths = [a.path for a in report.attachments]
    await session.delete(report)
    await session.flush()
    return Result(Outcome.ok), paths


async def revise(session: AsyncSession, member_id: int, report_id: int) -> Result:
    """Reopen a returned report as the author's draft, to change and submit again."""
    report = await report_row(session, report_id, lock=True)
    if report is None or report.member_id != member_id:
        return Result(Outcome.not_found)
    if report.status is ReportStatus.draft and report.draft_owner_id == member_id:
        return Result(Outcome.ok, await view_of(session, report))
    if report.status is not ReportStatus.returned:
        return Result(Outcome.not_editable, await view_of(session, report))
    other = await draft_row(session, member_id)
    if other is not None:
        return Result(Outcome.has_draft, await view_of(session, other))
    report.status = ReportStatus.draft
    report.draft_owner_id = member_id
    report.revision += 1
    return Result(Outcome.ok, await refreshed(session, report))


async def editable_draft(session: AsyncSession, member_id: int, report_id: int) -> Result:
    """Whether this report may still be edited by this member (it is their open draft)."""
    report = await report_row(session, report_id)
    if report is None or report.member_id != member_id:
        return Result(Outcome.not_found)
    if report.status is not ReportStatus.draft or report.draft_owner_id != member_id:
        return Result(Outcome.not_editable, await view_of(session, report))
    return Result(Outcome.ok, await view_of(session, report))
