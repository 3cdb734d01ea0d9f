"""Putting messages in the delivery outbox, in the caller's transaction.

Whatever causes a message (a review decision, a notice, a reminder) and the message itself commit
together: a crash can lose neither alone. The delivery worker (bot/delivery.py) sends them.

Storage decides who is told, when and how urgently (an `Envelope`, usually a feature's typed
event); it never decides what they read. The caller composes the `Message` (a locale key, its
parameters, buttons as named actions) and posts both in the same transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import members
from storage.identities import Address
from storage.models import Member, utcnow
from storage.models.base import UTCDateTime
from storage.models.outbox import DeliveryStatus, OutboxMessage, Priority

Button = dict[str, Any]


def button(key: str, data: str, **params: Any) -> Button:
    """A callback button whose label is a locale key, rendered in the recipient's language."""
    return {"key": key, "params": params, "data": data} if params else {"key": key, "data": data}


def formatted(text: str) -> dict[str, str]:
    """A parameter that is already formatted message text (a notice body as staff wrote it, in
    Telegram's HTML): the delivery worker inserts it as it is, and escapes every other value."""
    return {"formatted": text}


@dataclass(frozen=True, kw_only=True)
class Envelope:
    """Where, when and how urgently one message goes. Features subclass it as typed events that
    also say what happened (an activity postponed, a reminder due); the caller turns the event
    into a `Message` and posts both."""

    to: Address
    member_id: int | None
    kind: str
    priority: int = Priority.normal
    source_type: str | None = None
    source_id: int | None = None
    # An event that must go out once (a reminder, a promotion): posting it again adds nothing.
    dedupe_key: str | None = None
    not_before: datetime | None = None


@dataclass(frozen=True)
class Message:
    """What the recipient reads, channel-neutral: a locale key with its parameters (or literal
    text), buttons as labelled actions, an attachment by stored file. Rendered per channel and
    language when it is sent (bot/outbox_render.py)."""

    template: str
    params: Mapping[str, Any] = field(default_factory=dict)
    buttons: Sequence[Sequence[Button]] = ()
    attachment: dict[str, Any] | None = None


async def post(session: AsyncSession, envelope: Envelope, message: Message) -> bool:
    """Put one composed message in the outbox; False when its dedupe key was already used."""
    row = await enqueue(
        session,
        to=envelope.to,
        kind=envelope.kind,
        member_id=envelope.member_id,
        template=message.template,
        params=dict(message.params),
        buttons=message.buttons or None,
        attachment=message.attachment,
        priority=envelope.priority,
        source_type=envelope.source_type,
        source_id=envelope.source_id,
        dedupe_key=envelope.dedupe_key,
        not_before=envelope.not_before,
    )
    return row is not None


async def fan_out(
    session: AsyncSession,
    message: Message,
    recipients: Sequence[tuple[int, Address]],
    *,
    kind: str,
    priority: int,
    source_type: str,
    source_id: int,
    now: datetime,
    not_before: datetime | None = None,
) -> dict[int, int]:
    """The same message to many members (a notice to thousands), inserted in batches; returns
    member id → outbox row id. `now` is the caller's clock: the outage horizon counts from it
    (or from not_before)."""
    rows = [
        {
            "kind": kind,
            "priority": int(priority),
            "member_id": member_id,
            "channel": to.channel,
            "address": to.address,
            "template": message.template,
            "params": dict(message.params),
            "buttons": [list(row) for row in message.buttons] or None,
            "attachment": message.attachment,
            "source_type": source_type,
            "source_id": source_id,
            "not_before": not_before,
            "status": DeliveryStatus.pending,
            "attempts": 0,
            "created_at": now,
        }
        for member_id, to in recipients
    ]
    ids: dict[int, int] = {}
    for start in range(0, len(rows), FAN_OUT_BATCH):
        result = await session.execute(
            insert(OutboxMessage).returning(OutboxMessage.id, OutboxMessage.member_id),
            rows[start : start + FAN_OUT_BATCH],
        )
        ids.update({int(member_id or 0): row_id for row_id, member_id in result})
    return ids


FAN_OUT_BATCH = 2000  # rows per INSERT: well under SQLite's and asyncpg's parameter limits


async def enqueue(
    session: AsyncSession,
    *,
    to: Address,
    kind: str,
    member_id: int | None = None,
    template: str | None = None,
    params: dict[str, Any] | None = None,
    text: str | None = None,
    buttons: Sequence[Sequence[Button]] | None = None,
    attachment: dict[str, Any] | None = None,
    priority: int = Priority.normal,
    source_type: str | None = None,
    source_id: int | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Add one message for `to`; with a dedupe_key already used, add nothing and return None."""
    if (template is None) == (text is None):
        raise ValueError("give exactly one of template or text")
    if dedupe_key is not None:
        existing = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return None
    message = OutboxMessage(
        channel=to.channel,
        address=to.address,
        kind=kind,
        member_id=member_id,
        template=template,
        params=dict(params or {}),
        text=text,
        buttons=[list(row) for row in buttons] if buttons else None,
        attachment=attachment,
        priority=int(priority),
        source_type=source_type,
        source_id=source_id,
        dedupe_key=dedupe_key,
        not_before=not_before,
    )
    session.add(message)
    await session.flush()
    return message


# -- the delivery worker's side ------------------------------------------------------------
# Claiming, lease refresh and results are plain UPDATEs guarded by (status, claimed_by): a row
# whose lease another worker took over, or that staff cancelled, is never overwritten.


@dataclass(frozen=True)
class Claimed:
    """A snapshot of one claimed row: everything the worker needs to send it."""

    id: int
    channel: str
    address: str
    member_id: int | None
    kind: str
    priority: int
    template: str | None
    params: dict[str, Any]
    text: str | None
    buttons: list[list[Button]] | None
    attachment: dict[str, Any] | None
    attempts: int
    source_type: str | None
    source_id: int | None
    # When the row became due: its scheduled (or held, or resent) time, else its creation. The
    # outage horizon counts from here, so retries never move it (see record()).
    due_at: datetime

    @property
    def to(self) -> Address:
        return Address(self.channel, self.address)


class Result(enum.StrEnum):
    sent = "sent"
    unreachable = "unreachable"
    failed = "failed"
    retry = "retry"  # back to pending, due again at retry_at (unchanged when retry_at is None)


@dataclass(frozen=True)
class Outcome:
    id: int
    result: Result
    member_id: int | None = None
    sent_message_id: str | None = None
    error: str | None = None
    # Result.retry: when it may go again. None leaves not_before as it was (its due time): the
    # worker itself waits out an outage, and the horizon keeps counting from the due time.
    retry_at: datetime | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Recipient:
    locale: str | None
    reachable: bool


# When a row became due. Typed, so both databases hand back an aware UTC datetime.
_due_at = func.coalesce(OutboxMessage.not_before, OutboxMessage.created_at, type_=UTCDateTime())

_CLAIM_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.channel,
    OutboxMessage.address,
    OutboxMessage.member_id,
    OutboxMessage.kind,
    OutboxMessage.priority,
    OutboxMessage.template,
    OutboxMessage.params,
    OutboxMessage.text,
    OutboxMessage.buttons,
    OutboxMessage.attachment,
    OutboxMessage.attempts,
    OutboxMessage.source_type,
    OutboxMessage.source_id,
    _due_at,
)


async def claim(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    limit: int,
    channel: str | None = None,
    skip: Collection[str] = (),
) -> list[Claimed]:
    """Take up to limit due rows for worker, most urgent first; each attempt is counted here.

    PostgreSQL: the inner SELECT locks its rows with SKIP LOCKED, so two workers claiming at the
    same moment get disjoint rows. SQLite: the transaction began with BEGIN IMMEDIATE, so
    claims are serialised by the write lock. `channel`: only rows for that channel (each
    channel's worker claims its own); `skip`: addresses on it not to claim now.
    """
    if limit <= 0:
        return []
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == DeliveryStatus.pending,
            or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now),
        )
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if channel is not None:
        due = due.where(OutboxMessage.channel == channel)
    if skip:
        due = due.where(OutboxMessage.address.not_in(list(skip)))
    # MATERIALIZED: the locking SELECT runs exactly once. As a plain IN (subquery), PostgreSQL
    # may run it again per row, and SKIP LOCKED then hands out more rows than the limit.
    chosen = due.cte("due").prefix_with("MATERIALIZED")
    rows = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(select(chosen.c.id)),
            OutboxMessage.status == DeliveryStatus.pending,
        )
        .values(
            status=DeliveryStatus.sending,
            claimed_at=now,
            claimed_by=worker,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(*_CLAIM_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    claimed = [Claimed(*row) for row in rows]
    claimed.sort(key=lambda c: (c.priority, c.id))
    return claimed


async def refresh(
    session: AsyncSession, ids: Collection[int], *, worker: str, now: datetime
) -> set[int]:
    """Extend worker's lease on ids; returns those still its own (not cancelled, not taken over)."""
    if not ids:
        return set()
    rows = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(ids)),
            OutboxMessage.status == DeliveryStatus.sending,
            OutboxMessage.claimed_by == worker,
        )
        .values(claimed_at=now)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set(rows.scalars())


async def release(session: AsyncSession, ids: Collection[int], *, worker: str) -> int:
    """Give rows the worker claimed but never tried back to the queue, attempt not counted."""
    if not ids:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(ids)),
            OutboxMessage.status == DeliveryStatus.sending,
            OutboxMessage.claimed_by == worker,
        )
        .values(
            status=DeliveryStatus.pending,
            claimed_at=None,
            claimed_by=None,
            attempts=OutboxMessage.attempts - 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def reclaim_expired(session: AsyncSession, *, cutoff: datetime) -> int:
    """Rows left in `sending` by a worker that stopped refreshing its lease (crashed) go back."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == DeliveryStatus.sending, OutboxMessage.claimed_at < cutoff)
        .values(status=DeliveryStatus.pending, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def record(session: AsyncSession, outcomes: Sequence[Outcome], *, worker: str) -> int:
    """Write send results; a member who blocked the bot is marked unreachable. Returns rows hit."""
    written = 0
    for outcome in outcomes:
        values: dict[str, Any] = {"claimed_by": None}
        if outcome.result is Result.sent:
            values.update(
                status=DeliveryStatus.sent,
                sent_at=outcome.at or utcnow(),
                sent_message_id=outcome.sent_message_id,
                last_error=None,
            )
        elif outcome.result is Result.retry:
            values.update(
                status=DeliveryStatus.pending,
                claimed_at=None,
                last_error=(outcome.error or "")[:500],
            )
            if outcome.retry_at is not None:
                values.update(not_before=outcome.retry_at)
        else:
            values.update(
                status=DeliveryStatus(outcome.result.value), last_error=(outcome.error or "")[:500]
            )
        # A row cancelled while its send was already on the wire still records that it went.
        allowed = [DeliveryStatus.sending]
        if outcome.result is Result.sent:
            allowed.append(DeliveryStatus.cancelled)
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == outcome.id,
                OutboxMessage.status.in_(allowed),
                OutboxMessage.claimed_by == worker,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        written += int(result.rowcount)  # type: ignore[attr-defined]
        if outcome.member_id is not None:
            if outcome.result is Result.unreachable:
                await members.mark_unreachable(session, outcome.member_id, outcome.error or "")
            elif outcome.result is Result.sent:
                await members.mark_reachable(session, outcome.member_id)
    return written


async def expire_overdue(
    session: AsyncSession,
    *,
    due_before: datetime,
    reason: str,
    channel: str | None = None,
    limit: int = 2000,
) -> int:
    """Fail pending rows (of one channel) due before due_before: its service unreachable past
    the horizon.

    Only while the worker sees an outage: rows it never tried are failed too, or after a long
    outage they would all go out days late. Batched so one transaction stays short."""
    due = select(OutboxMessage.id).where(
        OutboxMessage.status == DeliveryStatus.pending, _due_at < due_before
    )
    if channel is not None:
        due = due.where(OutboxMessage.channel == channel)
    ids = list(await session.scalars(due.order_by(OutboxMessage.id).limit(limit)))
    if not ids:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == DeliveryStatus.pending)
        .values(status=DeliveryStatus.failed, last_error=reason[:500])
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def recipients(session: AsyncSession, member_ids: Collection[int]) -> dict[int, Recipient]:
    """Each member's language and reachability, for rendering templates at send time."""
    if not member_ids:
        return {}
    rows = await session.execute(
        select(Member.id, Member.locale, Member.reachable).where(Member.id.in_(list(member_ids)))
    )
    return {member_id: Recipient(locale, reachable) for member_id, locale, reachable in rows}


async def counts(session: AsyncSession) -> dict[DeliveryStatus, int]:
    """How many rows are in each state (health, benchmarks)."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: int(n) for status, n in rows}
