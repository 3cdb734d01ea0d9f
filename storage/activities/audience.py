"""Who is invited: target rules (everyone, sectors, committees, liaison points, named members)
resolved from what staff type, stored, read back with names, and counted."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.activities.editing import find_liaison_point
from storage.activities.shared import lock_activity
from storage.activities.types import Problem, TargetSpec, TargetsResult
from storage.audit import Actor
from storage.invitations import (
    member_invited,
)
from storage.models import (
    ActivityStatus,
    ActivityTarget,
    Committee,
    LiaisonPoint,
    Member,
    Sector,
    TargetKind,
)
from storage.phones import normalize_phone


async def resolve_targets(session: AsyncSession, kind: TargetKind, text: str) -> TargetsResult:
    """Names (or, for members, #ids / phones / names) typed by staff, turned into target rules."""
    if kind is TargetKind.everyone:
        return TargetsResult([TargetSpec(TargetKind.everyone)], [])
    names = [n.strip() for n in _SEPARATORS.split(text or "") if n.strip()]
    targets: list[TargetSpec] = []
    unknown: list[str] = []
    for name in dict.fromkeys(names):
        found = await _target(session, kind, name)
        if found is None:
            unknown.append(name)
        elif found not in targets:
            targets.append(found)
    return TargetsResult(targets, unknown)


_SEPARATORS = re.compile(r"[,，、;；\n]+")


async def _target(session: AsyncSession, kind: TargetKind, name: str) -> TargetSpec | None:
    row: Any
    if kind is TargetKind.sector:
        row = (
            await session.execute(select(Sector.id, Sector.name).where(Sector.name == name))
        ).first()
    elif kind is TargetKind.committee:
        row = (
            await session.execute(
                select(Committee.id, Committee.name).where(Committee.name == name)
            )
        ).first()
    elif kind is TargetKind.liaison_point:
        point = await find_liaison_point(session, name)
        row = (point.id, point.name) if point is not None else None
    else:
        row = await _member_target(session, name)
    return TargetSpec(kind, int(row[0]), str(row[1])) if row is not None else None


async def _member_target(session: AsyncSession, text: str) -> tuple[int, str] | None:
    """A named member by #id, phone, or a name that only one active member has."""
    bare = text.lstrip("#")
    if text.startswith("#") and bare.isdigit():
        member = await session.get(Member, int(bare))
        return (member.id, member.name) if member is not None and member.active else None
    phone = normalize_phone(text)
    if phone is not None:
        row = (
            await session.execute(
                select(Member.id, Member.name).where(Member.phone == phone, Member.active)
            )
        ).first()
        if row is not None:
            return int(row[0]), str(row[1])
    rows = (
        await session.execute(
            select(Member.id, Member.name).where(Member.name == text, Member.active).limit(2)
        )
    ).all()
    return (int(rows[0][0]), str(rows[0][1])) if len(rows) == 1 else None


async def set_targets(
    session: AsyncSession, activity_id: int, targets: Iterable[TargetSpec], *, actor: Actor
) -> None:
    """Replace who is invited."""
    existing = await session.scalars(
        select(ActivityTarget).where(ActivityTarget.activity_id == activity_id)
    )
    for row in existing:
        await session.delete(row)
    specs = list(targets)
    for spec in specs:
        session.add(ActivityTarget(activity_id=activity_id, kind=spec.kind, ref_id=spec.ref_id))
    await session.flush()
    await _audit_audience(session, actor, activity_id, [(s.kind, s.ref_id) for s in specs])


async def _audit_audience(
    session: AsyncSession,
    actor: Actor,
    activity_id: int,
    targets: Iterable[tuple[TargetKind, int | None]],
) -> None:
    await audit.record(
        session,
        actor,
        "activity.audience",
        object_type="activity",
        object_id=activity_id,
        targets=[f"{kind.value}:{ref or ''}" for kind, ref in targets],
    )


# The kinds staff pick from a list, with the table holding their names.
PICKABLE: dict[TargetKind, Any] = {
    TargetKind.sector: Sector,
    TargetKind.committee: Committee,
    TargetKind.liaison_point: LiaisonPoint,
}
CHOICES_MAX = 60  # buttons offered; beyond that staff type the names


async def target_choices(session: AsyncSession, kind: TargetKind) -> list[TargetSpec]:
    """The sectors, committees or liaison points staff can pick, by name (the caller puts
    sectors in the office's order)."""
    model = PICKABLE.get(kind)
    if model is None:
        return []
    rows = await session.execute(
        select(model.id, model.name).order_by(model.name, model.id).limit(CHOICES_MAX)
    )
    return [TargetSpec(kind, int(ref), str(name)) for ref, name in rows]


async def toggle_target(
    session: AsyncSession, activity_id: int, kind: TargetKind, ref_id: int, *, actor: Actor
) -> list[int] | Problem:
    """A sector, committee or liaison point tapped on or off a draft's audience; returns the
    ids now chosen of that kind. Choosing another kind (or after everyone) starts afresh: an
    audience is one kind at a time, as when the names are typed."""
    activity = await lock_activity(session, activity_id)
    if activity is None:
        return Problem.not_found
    if activity.status is not ActivityStatus.draft:
        # Who was invited is fixed once published: the invitations have gone out.
        return Problem.not_editable
    model = PICKABLE.get(kind)
    if model is None or await session.get(model, ref_id) is None:
        return Problem.not_found
    rows = list(
        await session.scalars(
            select(ActivityTarget)
            .where(ActivityTarget.activity_id == activity_id)
            .order_by(ActivityTarget.id)
        )
    )
    chosen: list[int] = []
    for row in rows:
        if row.kind is kind and row.ref_id is not None and row.ref_id != ref_id:
            chosen.append(row.ref_id)
        else:
            await session.delete(row)  # another kind, or the one tapped off
    if not any(row.kind is kind and row.ref_id == ref_id for row in rows):
        session.add(ActivityTarget(activity_id=activity_id, kind=kind, ref_id=ref_id))
        chosen.append(ref_id)
    await session.flush()
    await _audit_audience(session, actor, activity_id, [(kind, ref) for ref in chosen])
    return chosen


async def targets(session: AsyncSession, activity_id: int) -> list[TargetSpec]:
    """Who is invited, with names, for showing staff and members."""
    rows = list(
        await session.scalars(
            select(ActivityTarget)
            .where(ActivityTarget.activity_id == activity_id)
            .order_by(ActivityTarget.id)
        )
    )
    out = []
    for row in rows:
        name = ""
        if row.ref_id is not None:
            model: Any = {
                TargetKind.sector: Sector,
                TargetKind.committee: Committee,
                TargetKind.liaison_point: LiaisonPoint,
                TargetKind.member: Member,
            }[row.kind]
            found = await session.get(model, row.ref_id)
            name = found.name if found is not None else f"#{row.ref_id}"
        out.append(TargetSpec(row.kind, row.ref_id, name))
    return out


async def invited_count(session: AsyncSession, activity_id: int) -> int:
    n = await session.scalar(
        select(func.count()).select_from(Member).where(Member.active, member_invited(activity_id))
    )
    return int(n or 0)
