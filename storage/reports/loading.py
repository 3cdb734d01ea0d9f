"""Loading report rows and turning them into snapshots (ReportView), with the names of the
people they mention looked up in one query."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import identities
from storage.identities import Address
from storage.models import Identity, Member, Report, Sector
from storage.reports.views import AttachmentView, EventView, Person, ReportView


@dataclass
class Names:
    by_id: dict[int, tuple[str, str | None, Address | None]] = field(default_factory=dict)

    def name(self, member_id: int | None) -> str | None:
        entry = self.by_id.get(member_id) if member_id is not None else None
        return entry[0] if entry else None


async def names_of(session: AsyncSession, ids: Iterable[int | None]) -> Names:
    wanted = {i for i in ids if i is not None}
    names = Names()
    if not wanted:
        return names
    rows = await session.execute(
        select(Member.id, Member.name, Sector.name, Identity.channel, Identity.address)
        .outerjoin(Sector, Member.sector_id == Sector.id)
        .outerjoin(Identity, identities.preferred(Member.id))
        .where(Member.id.in_(wanted))
    )
    for member_id, name, sector, channel, address in rows:
        names.by_id[member_id] = (name, sector, identities.maybe(channel, address))
    return names


def people_of(report: Report) -> list[int | None]:
    ids: list[int | None] = [report.member_id]
    ids += [c.member_id for c in report.coauthors]
    ids += [e.actor_member_id for e in report.events]
    return ids


async def view_of(session: AsyncSession, report: Report, names: Names | None = None) -> ReportView:
    if names is None:
        names = await names_of(session, people_of(report))
    author = names.by_id.get(report.member_id, ("?", None, None))
    return ReportView(
        id=report.id,
        member_id=report.member_id,
        author_name=author[0],
        author_sector=author[1],
        author_address=author[2],
        status=report.status,
        source=report.source,
        title=report.title,
        category=report.category,
        situation=report.situation,
        problem=report.problem,
        suggestions=report.suggestions,
        revision=report.revision,
        receipt_no=report.receipt_no,
        excellent=report.excellent,
        created_at=report.created_at,
        submitted_at=report.submitted_at,
        reviewed_at=report.reviewed_at,
        attachments=tuple(
            AttachmentView(a.id, a.kind, a.file_name, a.mime_type, a.size, a.path, a.file_ref)
            for a in report.attachments
        ),
        coauthors=tuple(
            Person(c.member_id, names.name(c.member_id) or "?", names.by_id[c.member_id][1])
            for c in report.coauthors
            if c.member_id in names.by_id
        ),
        events=tuple(
            EventView(
                e.at, e.action, e.status, e.note, e.instructed_by, names.name(e.actor_member_id)
            )
            for e in report.events
        ),
    )


async def report_row(session: AsyncSession, report_id: int, *, lock: bool = False) -> Report | None:
    stmt = select(Report).where(Report.id == report_id)
    if lock:
        stmt = stmt.with_for_update()
    report: Report | None = await session.scalar(stmt)
    return report


async def draft_row(session: AsyncSession, member_id: int) -> Report | None:
    report: Report | None = await session.scalar(
        select(Report).where(Report.draft_owner_id == member_id).with_for_update()
    )
    return report


async def refreshed(session: AsyncSession, report: Report) -> ReportView:
    """The view after a change: flush, then reload the collections the change touched."""
    await session.flush()
    await session.refresh(report, ["attachments", "coauthors", "events"])
    return await view_of(session, report)


async def saved(session: AsyncSession, report: Report) -> ReportView:
    """The view after a change to the report's own fields: its collections, loaded with it,
    are still current (a reload would cost four queries on every answer a member types)."""
    await session.flush()
    return await view_of(session, report)
