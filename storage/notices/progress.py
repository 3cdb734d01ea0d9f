"""For the bot's progress service: the notices being sent with their delivery counts,
the progress message's place, and finishing a notice (the summary for its author)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import identities, outbox
from storage.identities import Address
from storage.models import DeliveryStatus, Identity, Member, OutboxMessage, Priority
from storage.models.notices import Notice, NoticeStatus
from storage.notices.loading import notice_row
from storage.notices.reading import Stats, stats
from storage.notices.views import SOURCE, SUMMARY_SOURCE, UNSENT, NoticeView


@dataclass(frozen=True)
class Progress:
    notice: NoticeView
    author_locale: str | None
    author_address: Address | None
    counts: dict[DeliveryStatus, int]

    @property
    def done(self) -> int:
        return sum(
            self.counts.get(s, 0)
            for s in (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.unreachable)
        )

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s, 0) for s in UNSENT)


async def in_progress(session: AsyncSession, *, now: datetime) -> list[Progress]:
    """Notices being sent (a scheduled one becomes `sending` once its time has come)."""
    await session.execute(
        update(Notice)
        .where(Notice.status == NoticeStatus.scheduled, Notice.scheduled_at <= now)
        .values(status=NoticeStatus.sending)
        .execution_options(synchronize_session=False)
    )
    notices = list(
        await session.scalars(select(Notice).where(Notice.status == NoticeStatus.sending))
    )
    if not notices:
        return []
    ids = [n.id for n in notices]
    rows = await session.execute(
        select(OutboxMessage.source_id, OutboxMessage.status, func.count())
        .where(OutboxMessage.source_type == SOURCE, OutboxMessage.source_id.in_(ids))
        .group_by(OutboxMessage.source_id, OutboxMessage.status)
    )
    counts: dict[int, dict[DeliveryStatus, int]] = {i: {} for i in ids}
    for source_id, status, n in rows:
        counts[int(source_id or 0)][status] = int(n)
    authors = {
        member_id: (locale, identities.maybe(channel, address))
        for member_id, locale, channel, address in await session.execute(
            select(Member.id, Member.locale, Identity.channel, Identity.address)
            .outerjoin(Identity, identities.preferred(Member.id))
            .where(Member.id.in_([n.author_id for n in notices if n.author_id is not None]))
        )
    }
    out = []
    for notice in notices:
        locale, address = authors.get(notice.author_id or 0, (None, None))
        out.append(Progress(NoticeView.of(notice), locale, address, counts[notice.id]))
    return out


async def set_progress_message(
    session: AsyncSession, notice_id: int, at: Address, message_id: str
) -> None:
    await session.execute(
        update(Notice)
        .where(Notice.id == notice_id)
        .values(
            progress_channel=at.channel,
            progress_address=at.address,
            progress_message_id=message_id,
        )
    )


@dataclass(frozen=True, kw_only=True)
class NoticeSummary(outbox.Envelope):
    """The author is told how a finished notice went."""

    notice_id: int
    stats: Stats


@dataclass(frozen=True)
class Finished:
    stats: Stats
    summary: NoticeSummary | None  # None when the author cannot be reached


async def finish(session: AsyncSession, notice_id: int, *, now: datetime) -> Finished | None:
    """Mark a notice whose rows are all settled as done; the summary for its author is the
    caller's to post (in this transaction).

    Guarded on the status, so two bot processes cannot both finish it (and send the summary).
    """
    result = await session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.status == NoticeStatus.sending)
        .values(status=NoticeStatus.done, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    notice = await notice_row(session, notice_id)
    assert notice is not None
    summary = await stats(session, notice_id)
    author = await session.get(Member, notice.author_id) if notice.author_id else None
    to = await identities.address_of(session, author.id) if author is not None else None
    told = None
    if author is not None and to is not None:
        told = NoticeSummary(
            to=to,
            member_id=author.id,
            kind=SUMMARY_SOURCE,
            priority=Priority.personal,
            source_type=SUMMARY_SOURCE,
            source_id=notice.id,
            dedupe_key=f"notice-summary:{notice.id}",
            notice_id=notice.id,
            stats=summary,
        )
    return Finished(summary, told)
