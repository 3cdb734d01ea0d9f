"""Who may see what: a member their own record, staff anyone's, the statistics, the
award lists and the exports; exports of records are audited."""

from __future__ import annotations

import enum

from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.audit import Actor
from storage.models import Member


class Access(enum.StrEnum):
    ok = "ok"
    not_found = "not_found"
    forbidden = "forbidden"  # a member asking for someone else's record


class NotStaff(Exception):
    """Someone who is not (or no longer) staff asked for everyone's records."""


async def is_staff(session: AsyncSession, member_id: int) -> bool:
    """Whether this member may see statistics, exports and anyone's record."""
    member = await session.get(Member, member_id)
    return member is not None and member.active and member.role.is_staff


async def record_export(
    session: AsyncSession, actor: Actor, action: str, year: int, rows: int
) -> None:
    """Exports of members' records are staff actions on personal data: audited."""
    await audit.record(session, actor, action, object_type="duty_year", object_id=year, rows=rows)
