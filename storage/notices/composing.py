"""Composing a notice: the author's draft, its text and attachment, the kind of receipt
asked for (with its limits); starting over and discarding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.members import MemberRef
from storage.models.notices import AckMode, Notice, NoticeStatus
from storage.notices.loading import draft_row, is_staff
from storage.notices.views import NoticeView, Problem

MAX_BODY_CHARS = 3800  # visible characters; the header keeps the message under Telegram's 4096
MAX_OPTIONS = 4
MAX_OPTION_CHARS = 20
MIN_OPTIONS = 2


async def open_draft(session: AsyncSession, actor: MemberRef) -> NoticeView | Problem:
    """The author's unsent draft, or a new one."""
    if not is_staff(actor):
        return Problem.forbidden
    notice = await session.scalar(
        select(Notice)
        .where(Notice.author_id == actor.id, Notice.status == NoticeStatus.draft)
        .order_by(Notice.id.desc())
        .limit(1)
    )
    if notice is None:
        notice = Notice(author_id=actor.id, status=NoticeStatus.draft, audience_ids=[])
        session.add(notice)
        await session.flush()
    return NoticeView.of(notice)


async def discard_draft(session: AsyncSession, actor: MemberRef, notice_id: int) -> Problem | None:
    notice = await draft_row(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    await session.delete(notice)
    return None


async def start_over(session: AsyncSession, actor: MemberRef) -> NoticeView | Problem:
    """Throw away the author's draft (if any) and begin an empty one."""
    if not is_staff(actor):
        return Problem.forbidden
    await session.execute(
        delete(Notice).where(Notice.author_id == actor.id, Notice.status == NoticeStatus.draft)
    )
    return await open_draft(session, actor)


async def set_body(
    session: AsyncSession,
    actor: MemberRef,
    notice_id: int,
    *,
    html: str,
    visible_length: int,
    attachment: dict[str, Any] | None = None,
) -> NoticeView | Problem:
    """The notice text (HTML from Telegram's formatting) and optional photo or file."""
    if visible_length > MAX_BODY_CHARS:
        return Problem.too_long
    if not html.strip() and attachment is None:
        return Problem.empty
    notice = await draft_row(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    notice.body = html.strip()
    notice.attachment = attachment
    await session.flush()
    return NoticeView.of(notice)


async def set_ack(
    session: AsyncSession,
    actor: MemberRef,
    notice_id: int,
    mode: AckMode,
    options: Sequence[str] = (),
) -> NoticeView | Problem:
    """No receipt, a "received" button, or 2-4 reply options written by staff."""
    notice = await draft_row(session, actor, notice_id)
    if isinstance(notice, Problem):
        return notice
    cleaned = [o.strip() for o in options if o.strip()]
    if mode is AckMode.options:
        if len(cleaned) < MIN_OPTIONS:
            return Problem.too_few_options
        if len(cleaned) > MAX_OPTIONS:
            return Problem.too_many_options
        if any(len(o) > MAX_OPTION_CHARS for o in cleaned):
            return Problem.option_too_long
    notice.ack_mode = mode
    notice.ack_options = cleaned if mode is AckMode.options else []
    await session.flush()
    return NoticeView.of(notice)
