"""Writing parsed rows in the caller's transaction: each row checked (name, phone,
duplicates, the database's column widths), sectors, committees and liaison points created
by name when new, members upserted by phone in bulk statements, one audit row."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import Actor
from storage.control_chars import has_words
from storage.models.base import utcnow
from storage.models.members import (
    AuditLog,
    Committee,
    LiaisonPoint,
    Member,
    Sector,
    member_committee,
)
from storage.phones import normalize_phone
from storage.roster.rows import ImportReport, RejectedRow, RejectReason, RosterRow

_MAX_DETAIL = 100  # characters of a bad value kept in a RejectedRow
_IN_CHUNK = 5000  # bind parameters per IN (...) query; SQLite and asyncpg both cap them


# Column widths of the database, so an over-long cell is a rejected row, not a failed import.
def _length(column: Any) -> int | None:
    return getattr(column.type, "length", None)


_MAX_LENGTH = {
    "name": _length(Member.__table__.c.name),
    "sector": _length(Sector.__table__.c.name),
    "committees": _length(Committee.__table__.c.name),
    "liaison_point": _length(LiaisonPoint.__table__.c.name),
    "organisation": _length(Member.__table__.c.organisation),
}


@dataclass(slots=True)
class _Valid:
    row: RosterRow
    phone: str


def _validate(rows: Sequence[RosterRow], report: ImportReport) -> list[_Valid]:
    valid: list[_Valid] = []
    first_row_by_phone: dict[str, int] = {}
    for r in rows:
        reason, detail = _check(r, first_row_by_phone)
        if reason is not None:
            report.rejected.append(RejectedRow(r.row, reason, detail))
            continue
        phone = normalize_phone(r.phone or "")
        assert phone is not None
        first_row_by_phone[phone] = r.row
        valid.append(_Valid(r, phone))
    return valid


def _check(r: RosterRow, first_row_by_phone: dict[str, int]) -> tuple[RejectReason | None, str]:
    if not (r.name or "").strip():
        return RejectReason.missing_name, ""
    if not has_words(r.name or ""):
        return RejectReason.bad_name, (r.name or "")[:_MAX_DETAIL]
    if not r.phone:
        return RejectReason.missing_phone, ""
    phone = normalize_phone(r.phone)
    if phone is None:
        return RejectReason.bad_phone, r.phone[:_MAX_DETAIL]
    if phone in first_row_by_phone:
        return RejectReason.duplicate_phone, str(first_row_by_phone[phone])
    lengths: dict[str, Sequence[str | None]] = {
        "name": [r.name],
        "sector": [r.sector],
        "committees": list(r.committees or ()),
        "liaison_point": [r.liaison_point],
        "organisation": [r.organisation],
    }
    for name, values in lengths.items():
        limit = _MAX_LENGTH[name]
        if limit is not None and any(v is not None and len(v) > limit for v in values):
            return RejectReason.too_long, name
    return None, ""


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def _ids_by_name(
    session: AsyncSession,
    model: type[Sector] | type[Committee] | type[LiaisonPoint],
    wanted: set[str],
    created: list[str],
) -> dict[str, int]:
    """Ids of the named sectors / committees / liaison points, creating the missing ones."""
    ids: dict[str, int] = {}
    names = sorted(wanted)
    for chunk in _chunks(names):
        found = await session.execute(select(model.name, model.id).where(model.name.in_(chunk)))
        ids.update({name: id_ for name, id_ in found})
    missing = [n for n in names if n not in ids]
    if missing:
        inserted = await session.execute(
            insert(model).returning(model.name, model.id), [{"name": n} for n in missing]
        )
        ids.update({name: id_ for name, id_ in inserted})
        created.extend(missing)
    return ids


async def import_roster(
    session: AsyncSession,
    rows: Sequence[RosterRow],
    *,
    actor: Actor | None = None,
    source: str,
) -> ImportReport:
    """Upsert members by normalised phone in the caller's transaction; idempotent.

    New phones become new members; for known phones the name, sector, committees, liaison point
    and organisation are brought in line with the file (fields whose column the file lacks are
    left alone), and members whose data already match are not written at all. Bindings,
    roles, active flags and members absent from the file are never touched. One AuditLog row
    records the import. Writes go through bulk statements, so Member objects already loaded in
    `session` are not refreshed.
    """
    report = ImportReport(total_rows=len(rows))
    valid = _validate(rows, report)

    sector_ids = await _ids_by_name(
        session, Sector, {v.row.sector for v in valid if v.row.sector}, report.new_sectors
    )
    committee_ids = await _ids_by_name(
        session,
        Committee,
        {c for v in valid for c in v.row.committees or ()},
        report.new_committees,
    )
    point_ids = await _ids_by_name(
        session,
        LiaisonPoint,
        {v.row.liaison_point for v in valid if v.row.liaison_point},
        report.new_liaison_points,
    )

    # Existing members with these phones, and their committees: a few queries, not one per row.
    existing: dict[str, dict[str, Any]] = {}
    for chunk in _chunks([v.phone for v in valid]):
        result = await session.execute(
            select(
                Member.id,
                Member.phone,
                Member.name,
                Member.sector_id,
                Member.liaison_point_id,
                Member.organisation,
            ).where(Member.phone.in_(chunk))
        )
        for m in result.mappings():
            existing[m["phone"]] = dict(m)
    committees_of: dict[int, set[int]] = {m["id"]: set() for m in existing.values()}
    for chunk in _chunks(list(committees_of)):
        result = await session.execute(
            select(member_committee.c.member_id, member_committee.c.committee_id).where(
                member_committee.c.member_id.in_(chunk)
            )
        )
        for member_id, committee_id in result:
            committees_of[member_id].add(committee_id)

    now = utcnow()
    to_create: list[dict[str, Any]] = []
    committees_of_new: dict[str, set[int]] = {}
    to_update: list[dict[str, Any]] = []
    links_add: list[dict[str, int]] = []
    links_remove: list[dict[str, int]] = []

    for v in valid:
        r = v.row
        wanted: dict[str, Any] = {"name": (r.name or "").strip()}
        if r.sector is not None:
            wanted["sector_id"] = sector_ids[r.sector] if r.sector else None
        if r.liaison_point is not None:
            wanted["liaison_point_id"] = point_ids[r.liaison_point] if r.liaison_point else None
        if r.organisation is not None:
            wanted["organisation"] = r.organisation or None
        wanted_committees = (
            {committee_ids[c] for c in r.committees} if r.committees is not None else None
        )

        current = existing.get(v.phone)
        if current is None:
            to_create.append({**wanted, "phone": v.phone, "created_at": now, "updated_at": now})
            committees_of_new[v.phone] = wanted_committees or set()
            continue

        member_id = current["id"]
        changed = any(current[k] != value for k, value in wanted.items())
        if wanted_committees is not None:
            have = committees_of[member_id]
            if have != wanted_committees:
                changed = True
                links_add += [{"m": member_id, "c": c} for c in sorted(wanted_committees - have)]
                links_remove += [{"m": member_id, "c": c} for c in sorted(have - wanted_committees)]
        if changed:
            # Every update carries the same keys so they go out as one executemany.
            to_update.append(
                {
                    "id": member_id,
                    "name": wanted["name"],
                    "sector_id": wanted.get("sector_id", current["sector_id"]),
                    "liaison_point_id": wanted.get("liaison_point_id", current["liaison_point_id"]),
                    "organisation": wanted.get("organisation", current["organisation"]),
                    "updated_at": now,
                }
            )
            report.updated += 1
        else:
            report.unchanged += 1

    if to_create:
        # The same keys on every row (a file may lack the sector column, say) so they batch.
        for values in to_create:
            values.setdefault("sector_id", None)
            values.setdefault("liaison_point_id", None)
            values.setdefault("organisation", None)
        inserted = await session.execute(
            insert(Member).returning(Member.phone, Member.id), to_create
        )
        for phone, member_id in inserted:
            assert phone is not None
            links_add += [{"m": member_id, "c": c} for c in sorted(committees_of_new[phone])]
        report.created = len(to_create)
    if to_update:
        await session.execute(update(Member), to_update)  # ORM bulk UPDATE by primary key
    if links_remove:
        await session.execute(
            delete(member_committee).where(
                and_(
                    member_committee.c.member_id == bindparam("m"),
                    member_committee.c.committee_id == bindparam("c"),
                )
            ),
            links_remove,
        )
    if links_add:
        await session.execute(
            insert(member_committee).values(member_id=bindparam("m"), committee_id=bindparam("c")),
            links_add,
        )

    session.add(
        AuditLog(
            actor_member_id=actor.member_id if actor else None,
            actor_channel=actor.channel if actor else None,
            actor_external_id=actor.external_id if actor else None,
            action="roster.import",
            object_type="roster",
            details={
                "source": source,
                "total_rows": report.total_rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": len(report.rejected),
                "new_sectors": len(report.new_sectors),
                "new_committees": len(report.new_committees),
                "new_liaison_points": len(report.new_liaison_points),
            },
        )
    )
    await session.flush()
    return report
