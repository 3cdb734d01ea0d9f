"""Loading notice rows, with the staff check every staff operation starts with, and the
join from a recipient to its outbox row (delivery status)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.members import MemberRef
from storage.models import OutboxMessage
from storage.models.notices import Notice, NoticeRecipient, NoticeStatus
from storage.notices.views import Problem


def is_staff(actor: MemberRef | None) -> bool:
    return actor is not None and actor.is_staff


async def notice_row(session: AsyncSession, notice_id: int, *, lock: bool = False) -> Notice | None:
    stmt = select(Notice).where(Notice.id == notice_id)
    if lock:
        stmt = stmt.with_for_update()
    notice: Notice | None = await session.scalar(stmt)
    return notice


async def draft_row(session: AsyncSession, actor: MemberRef, notice_id: int) -> Notice | Problem:
    if not is_staff(actor):
        return Problem.forbidden
    notice = await notice_row(session, notice_id, lock=True)
    if notice is None:
        return Problem.not_found
    if notice.status is not NoticeStatus.draft or notice.author_id != actor.id:
        return Problem.not_draft
    return notice


def delivery_join() -> Any:
    return OutboxMessage.id == NoticeRecipient.outbox_id
